import { ZERO_WIREGUARD_KEY, isWireguardKey } from '../../api/wireguard-key.js';
import {
  API_VERSION,
  FLANNEL_NETWORK,
  SUBNET_LEASE,
  leaseLabels,
  leaseName,
  isDnsSubdomain,
  type FlannelNetwork,
  type SubnetLease,
} from '../../api/index.js';
import type { NodeLike } from '../status/types.js';
import {
  containsCidr,
  formatCidr,
  formatIp,
  invalidCidrMessage,
  tryParseCidr,
  tryParseIp,
  type Family,
} from '../../ipam/index.js';
import { parseNetConf, type MigrationIssue, type NetConf } from './netconf.js';

/**
 * The pure part of `kubectl flannel migrate`: from upstream flannel's ConfigMap and the Nodes
 * (podCIDRs + flannel.alpha.coreos.com annotations) to one FlannelNetwork and one SubnetLease per
 * node that keep every node's subnet, public IP and VTEP MAC. Nothing it cannot convert is
 * guessed: it becomes an error with a code and a hint.
 */

export const ANNOTATION_PREFIX = 'flannel.alpha.coreos.com/';
export const ANN = {
  backendType: `${ANNOTATION_PREFIX}backend-type`,
  backendData: `${ANNOTATION_PREFIX}backend-data`,
  backendV6Data: `${ANNOTATION_PREFIX}backend-v6-data`,
  publicIP: `${ANNOTATION_PREFIX}public-ip`,
  publicIPv6: `${ANNOTATION_PREFIX}public-ipv6`,
  publicIPOverwrite: `${ANNOTATION_PREFIX}public-ip-overwrite`,
  kubeSubnetManager: `${ANNOTATION_PREFIX}kube-subnet-manager`,
} as const;
export const MIGRATED_FROM_ANNOTATION = 'network.flannel-operator.io/migrated-from';
export const NETCONF_KEY = 'net-conf.json';

export interface ConfigMapLike {
  metadata: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

export interface MigrationOptions {
  /** FlannelNetwork name; default `default`. */
  name?: string;
  /** Masquerade traffic leaving the pod network (upstream: the --ip-masq flag). Default true. */
  ipMasq?: boolean;
}

export interface MigrationPlan {
  network?: FlannelNetwork;
  leases: SubnetLease[];
  warnings: MigrationIssue[];
  errors: MigrationIssue[];
}

/** Backends upstream flannel has that the operator does not run, with what to do instead. */
const UNSUPPORTED_BACKENDS: Record<string, string> = {
  udp: 'udp is a debugging backend; set Backend.Type to "vxlan" in net-conf.json and rerun (subnets and pod IPs stay, traffic moves to vxlan when the agents start)',
  ipip: 'set Backend.Type to "vxlan" (or "host-gw" when all nodes share one L2 segment) in net-conf.json and rerun; subnets and pod IPs stay',
  ipsec:
    'ipsec encrypts pod traffic and the operator does not: keep upstream flannel, or accept unencrypted vxlan by setting Backend.Type to "vxlan" and rerun',
  extension:
    'the extension backend runs user commands and cannot be converted; keep upstream flannel',
  alloc: 'the alloc backend only allocates subnets; use host-gw or vxlan',
  'aws-vpc': 'cloud route backends are not supported; use vxlan',
  gce: 'cloud route backends are not supported; use vxlan',
  'ali-vpc': 'cloud route backends are not supported; use vxlan',
  'tencent-vpc': 'cloud route backends are not supported; use vxlan',
};

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

interface Net {
  family: Family;
  /** Canonical text (host bits cleared). */
  cidr: string;
  /** Network address. */
  addr: bigint;
  prefix: number;
  /** Host bits were set in the text. */
  hostBits: boolean;
}

/** Parsed by the one strict CIDR parser (src/ipam): no leading zeros, no zones, no v4-mapped. */
function parseNet(text: string): Net | undefined {
  const c = tryParseCidr(text);
  if (!c) return undefined;
  return {
    family: c.family,
    cidr: formatCidr(c),
    addr: c.addr,
    prefix: c.prefix,
    hostBits: c.ip !== c.addr,
  };
}

const addrText = (n: Net): string => formatIp(n.family, n.addr);

const inside = (inner: Net, outer: Net): boolean => containsCidr(outer, inner);

/** Upstream's default subnet length: /24 for networks of /22 or larger, else prefix + 2; /64 for IPv6. */
export function defaultSubnetLen(n: Net): number {
  if (n.family === 6) return 64;
  return n.prefix <= 22 ? 24 : n.prefix + 2;
}

function nodePodCIDRs(node: NodeLike): string[] {
  if (node.spec?.podCIDRs?.length) return node.spec.podCIDRs;
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

interface BackendData {
  vni?: number;
  mac?: string;
  /** wireguard: the node's public key (upstream's backend-data {"PublicKey": ...}). */
  publicKey?: string;
}

/** Secret name the migrated network's pskSecretRef points at (the user creates it). */
export const MIGRATED_PSK_SECRET = 'flannel-wireguard-psk';

function parseBackendData(
  text: string | undefined,
  nodeName: string,
  key: string,
  warnings: MigrationIssue[],
): BackendData | undefined {
  if (text === undefined || text === '' || text === 'null') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    warnings.push({
      code: 'WMIGRATE_BACKEND_DATA',
      object: `node/${nodeName}`,
      message: `annotation ${key} on node ${nodeName} is not valid JSON (${(e as Error).message}); the agent will pick a new VTEP MAC for it`,
    });
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const get = (k: string): unknown =>
    Object.entries(o).find(([kk]) => kk.toLowerCase() === k.toLowerCase())?.[1];
  const vni = get('VNI');
  const mac = get('VtepMAC');
  const publicKey = get('PublicKey');
  const out: BackendData = {};
  if (typeof publicKey === 'string') {
    if (isWireguardKey(publicKey) && publicKey !== ZERO_WIREGUARD_KEY) out.publicKey = publicKey;
    else
      warnings.push({
        code: 'WMIGRATE_BACKEND_DATA',
        object: `node/${nodeName}`,
        message: `annotation ${key} on node ${nodeName} has an invalid PublicKey; the agent will publish its own`,
      });
  }
  if (typeof vni === 'number') out.vni = vni;
  if (typeof mac === 'string') {
    if (MAC_RE.test(mac)) out.mac = mac.toLowerCase();
    else
      warnings.push({
        code: 'WMIGRATE_BACKEND_DATA',
        object: `node/${nodeName}`,
        message: `annotation ${key} on node ${nodeName} has an invalid VtepMAC ${JSON.stringify(mac)}; the agent will pick a new one`,
      });
  }
  return out;
}

const WIREGUARD_MODES = ['separate', 'auto', 'ipv4', 'ipv6'];

/** The wireguard options of net-conf.json; the PSK itself never goes into the FlannelNetwork. */
function checkWireguardConf(
  conf: NetConf,
  err: (code: string, message: string, hint?: string) => void,
  warnings: MigrationIssue[],
  source: string,
): void {
  const b = conf.backend;
  for (const [k, v] of [
    ['ListenPort', b.listenPort],
    ['ListenPortV6', b.listenPortV6],
  ] as const)
    if (v !== undefined && (v < 1 || v > 65535))
      err('EMIGRATE_NETCONF_INVALID', `Backend.${k} ${v} is not a UDP port`);
  if (b.keepalive !== undefined && b.keepalive > 65535)
    err(
      'EMIGRATE_NETCONF_INVALID',
      `Backend.PersistentKeepaliveInterval ${b.keepalive} is above 65535 s`,
    );
  if (b.mode !== undefined && !WIREGUARD_MODES.includes(b.mode.toLowerCase()))
    err(
      'EMIGRATE_NETCONF_INVALID',
      `Backend.Mode "${b.mode}" is not one of ${WIREGUARD_MODES.join(', ')}`,
    );
  if (b.psk !== undefined && b.psk !== '') {
    if (!isWireguardKey(b.psk))
      err(
        'EMIGRATE_NETCONF_INVALID',
        'Backend.PSK is not a WireGuard key (32 bytes base64, as wg genpsk prints)',
      );
    else
      warnings.push({
        code: 'WMIGRATE_WIREGUARD_PSK',
        object: source,
        message: `Backend.PSK moves to a Secret: the network refers to Secret ${MIGRATED_PSK_SECRET} (key psk) in the operator's namespace`,
        hint: `create it before the agents start: kubectl -n <operator namespace> create secret generic ${MIGRATED_PSK_SECRET} --from-literal=psk=<Backend.PSK of ${source}>`,
      });
  }
}

function wireguardBackend(conf: NetConf): FlannelNetwork['spec']['backend'] {
  const b = conf.backend;
  return {
    type: 'wireguard',
    vni: 1,
    port: 8472,
    directRouting: false,
    gbp: false,
    ...(b.listenPort ? { listenPort: b.listenPort } : {}),
    ...(b.listenPortV6 ? { listenPortV6: b.listenPortV6 } : {}),
    ...(b.keepalive ? { persistentKeepaliveInterval: b.keepalive } : {}),
    ...(b.psk ? { pskSecretRef: { name: MIGRATED_PSK_SECRET, key: 'psk' } } : {}),
    ...(b.mode ? { mode: b.mode.toLowerCase() as 'separate' } : {}),
  };
}

function validIP(s: string | undefined, family: Family): string | undefined {
  const a = tryParseIp(s);
  return a?.family === family ? formatIp(a.family, a.addr) : undefined;
}

/** Network-level part of the plan: the FlannelNetwork spec from net-conf.json. */
function planMigratedNetwork(
  conf: NetConf,
  source: string,
  opts: MigrationOptions,
  errors: MigrationIssue[],
  warnings: MigrationIssue[],
): { network?: FlannelNetwork; v4?: Net; v6?: Net; v4Len?: number; v6Len?: number } {
  const name = opts.name ?? 'default';
  const err = (code: string, message: string, hint?: string): void => {
    errors.push({ code, message, object: source, ...(hint ? { hint } : {}) });
  };
  const type = conf.backend.type;
  if (type !== 'vxlan' && type !== 'host-gw' && type !== 'wireguard') {
    err(
      'EMIGRATE_UNSUPPORTED_BACKEND',
      `backend "${type}" cannot be migrated: the operator runs vxlan (with optional directRouting), host-gw and wireguard`,
      UNSUPPORTED_BACKENDS[type] ??
        'set Backend.Type to "vxlan", "host-gw" or "wireguard" in net-conf.json and rerun',
    );
  }
  if (type === 'wireguard') checkWireguardConf(conf, err, warnings, source);
  if (conf.backend.learning) {
    warnings.push({
      code: 'WMIGRATE_LEARNING',
      object: source,
      message:
        'Backend.Learning=true is dropped: the agent programs static FDB entries with learning off',
    });
  }
  if (conf.backend.other.length) {
    warnings.push({
      code: 'WMIGRATE_IGNORED_KEYS',
      object: source,
      message: `Backend keys ignored: ${conf.backend.other.join(', ')}`,
    });
  }
  for (const k of conf.ignored) {
    warnings.push({
      code: 'WMIGRATE_IGNORED_KEYS',
      object: source,
      message:
        k === 'EnableNFTables'
          ? 'EnableNFTables is ignored: the agent uses its own nftables table when nft works, else iptables'
          : `net-conf.json key ${k} is not known and ignored`,
    });
  }
  if (conf.backend.vni !== undefined && (conf.backend.vni < 1 || conf.backend.vni > 16777215))
    err('EMIGRATE_NETCONF_INVALID', `Backend.VNI ${conf.backend.vni} is outside 1..16777215`);
  if (conf.backend.port !== undefined && conf.backend.port > 65535)
    err('EMIGRATE_NETCONF_INVALID', `Backend.Port ${conf.backend.port} is not a UDP port`);
  if (conf.backend.mtu !== undefined && conf.backend.mtu !== 0 && conf.backend.mtu < 576)
    err('EMIGRATE_NETCONF_INVALID', `Backend.MTU ${conf.backend.mtu} is below 576`);
  if (type === 'host-gw' && conf.backend.directRouting)
    warnings.push({
      code: 'WMIGRATE_IGNORED_KEYS',
      object: source,
      message: 'DirectRouting has no meaning with host-gw and is dropped',
    });

  let v4: Net | undefined;
  let v6: Net | undefined;
  if (conf.enableIPv4) {
    if (!conf.network) {
      err(
        'EMIGRATE_NETCONF_INVALID',
        'net-conf.json has no Network (IPv4) while EnableIPv4 is true',
      );
    } else {
      v4 = parseNet(conf.network);
      if (!v4 || v4.family !== 4) {
        err('EIPAM_INVALID_CIDR', invalidCidrMessage('Network', 4, conf.network));
        v4 = undefined;
      } else if (v4.hostBits) {
        warnings.push({
          code: 'WMIGRATE_NORMALIZED',
          object: source,
          message: `Network ${conf.network} has host bits set; using ${v4.cidr}`,
        });
      }
    }
  } else if (conf.network) {
    warnings.push({
      code: 'WMIGRATE_IGNORED_KEYS',
      object: source,
      message: `EnableIPv4 is false: Network ${conf.network} is ignored`,
    });
  }
  if (conf.enableIPv6) {
    if (!conf.ipv6Network) {
      err('EMIGRATE_NETCONF_INVALID', 'EnableIPv6 is true but net-conf.json has no IPv6Network');
    } else {
      v6 = parseNet(conf.ipv6Network);
      if (!v6 || v6.family !== 6) {
        err('EIPAM_INVALID_CIDR', invalidCidrMessage('IPv6Network', 6, conf.ipv6Network));
        v6 = undefined;
      }
    }
  } else if (conf.ipv6Network) {
    warnings.push({
      code: 'WMIGRATE_IGNORED_KEYS',
      object: source,
      message: `EnableIPv6 is false: IPv6Network ${conf.ipv6Network} is ignored`,
    });
  }
  if (!conf.enableIPv4 && !conf.enableIPv6) {
    err(
      'EMIGRATE_NO_ADDRESS_FAMILY',
      'EnableIPv4 is false and IPv6 is not enabled: the network would have no addresses',
      'set EnableIPv4 to true (with Network) or EnableIPv6 to true (with IPv6Network)',
    );
  }

  const len = (
    n: Net | undefined,
    given: number | undefined,
    label: string,
  ): number | undefined => {
    if (!n) return undefined;
    const l = given && given > 0 ? given : defaultSubnetLen(n);
    const max = n.family === 4 ? 30 : 127;
    if (l < n.prefix || l > max) {
      err('EMIGRATE_NETCONF_INVALID', `${label} /${l} does not fit network ${n.cidr}`);
      return undefined;
    }
    return l;
  };
  const v4Len = len(v4, conf.subnetLen, 'SubnetLen');
  const v6Len = len(v6, conf.ipv6SubnetLen, 'IPv6SubnetLen');
  const bound = (
    v: string | undefined,
    n: Net | undefined,
    l: number | undefined,
    label: string,
  ): string | undefined => {
    if (!v || !n || !l) return undefined;
    const c = parseNet(v.includes('/') ? v : `${v}/${l}`);
    if (!c || !inside(c, n)) {
      err('EMIGRATE_NETCONF_INVALID', `${label} ${v} is not inside ${n.cidr}`);
      return undefined;
    }
    return addrText(c);
  };
  const subnetMin = bound(conf.subnetMin, v4, v4Len, 'SubnetMin');
  const subnetMax = bound(conf.subnetMax, v4, v4Len, 'SubnetMax');
  const ipv6SubnetMin = bound(conf.ipv6SubnetMin, v6, v6Len, 'IPv6SubnetMin');
  const ipv6SubnetMax = bound(conf.ipv6SubnetMax, v6, v6Len, 'IPv6SubnetMax');

  if (!isDnsSubdomain(name)) {
    errors.push({
      code: 'EMIGRATE_INVALID_NAME',
      message: `--name "${name}" is not a valid object name (lowercase letters, digits, '-' and '.')`,
    });
  }
  if (errors.length) return { v4, v6, v4Len, v6Len };

  const backend: FlannelNetwork['spec']['backend'] =
    type === 'host-gw'
      ? { type: 'host-gw', vni: 1, port: 8472, directRouting: false, gbp: false }
      : type === 'wireguard'
        ? wireguardBackend(conf)
        : {
            type: 'vxlan',
            vni: conf.backend.vni || 1,
            // Port 0 upstream means the kernel default, 8472.
            port: conf.backend.port || 8472,
            directRouting: !!conf.backend.directRouting,
            gbp: !!conf.backend.gbp,
          };
  if (conf.backend.mtu) backend.mtu = conf.backend.mtu;
  const spec: FlannelNetwork['spec'] = {
    ...(v4 ? { network: v4.cidr, subnetLen: v4Len } : {}),
    ...(subnetMin ? { subnetMin } : {}),
    ...(subnetMax ? { subnetMax } : {}),
    ...(v6 ? { ipv6Network: v6.cidr, ipv6SubnetLen: v6Len } : {}),
    ...(ipv6SubnetMin ? { ipv6SubnetMin } : {}),
    ...(ipv6SubnetMax ? { ipv6SubnetMax } : {}),
    backend,
    ipMasq: opts.ipMasq ?? true,
    netpol: { enabled: false },
  };
  return {
    network: {
      apiVersion: API_VERSION,
      kind: FLANNEL_NETWORK.kind,
      metadata: { name, annotations: { [MIGRATED_FROM_ANNOTATION]: source } },
      spec,
    },
    v4,
    v6,
    v4Len,
    v6Len,
  };
}

export function planMigration(
  configMap: ConfigMapLike,
  nodes: NodeLike[],
  opts: MigrationOptions = {},
): MigrationPlan {
  const source = `configmap/${configMap.metadata.namespace ? `${configMap.metadata.namespace}/` : ''}${configMap.metadata.name ?? ''}`;
  const errors: MigrationIssue[] = [];
  const warnings: MigrationIssue[] = [];
  const text = configMap.data?.[NETCONF_KEY];
  if (text === undefined) {
    errors.push({
      code: 'EMIGRATE_NO_NETCONF',
      object: source,
      message: `${source} has no key ${NETCONF_KEY}`,
      hint: 'point --namespace/--configmap at the ConfigMap flannel mounts as /etc/kube-flannel',
    });
    return { leases: [], warnings, errors };
  }
  const parsed = parseNetConf(text, source);
  errors.push(...parsed.errors);
  warnings.push(...parsed.warnings);
  if (!parsed.conf) return { leases: [], warnings, errors };
  const conf = parsed.conf;
  const net = planMigratedNetwork(conf, source, opts, errors, warnings);
  const networkName = opts.name ?? 'default';
  const type =
    conf.backend.type === 'host-gw' || conf.backend.type === 'wireguard'
      ? conf.backend.type
      : 'vxlan';
  const vni = conf.backend.vni || 1;

  const leases: SubnetLease[] = [];
  const holders = new Map<string, string>();
  let withoutManagerAnnotation = 0;
  for (const node of [...nodes].sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  )) {
    const nodeName = node.metadata.name ?? '';
    const obj = `node/${nodeName}`;
    const nodeErr = (code: string, message: string, hint?: string): void => {
      errors.push({ code, object: obj, message, ...(hint ? { hint } : {}) });
    };
    const cidrs = nodePodCIDRs(node);
    if (cidrs.length === 0) {
      nodeErr(
        'EMIGRATE_NO_PODCIDR',
        `node ${nodeName} has no podCIDR`,
        'upstream flannel cannot run on it either ("pod cidr not assigned"); fix or remove the node, or let the controller allocate one after migrating the other nodes',
      );
      continue;
    }
    let subnet: string | undefined;
    let ipv6Subnet: string | undefined;
    let ok = true;
    for (const text of cidrs) {
      const c = parseNet(text);
      if (!c) {
        nodeErr('EIPAM_INVALID_CIDR', invalidCidrMessage('podCIDR', undefined, text));
        ok = false;
        continue;
      }
      const fam =
        c.family === 4
          ? { n: net.v4, len: net.v4Len, key: 'Network' }
          : { n: net.v6, len: net.v6Len, key: 'IPv6Network' };
      if (!fam.n) {
        if ((c.family === 4 && conf.enableIPv4) || (c.family === 6 && conf.enableIPv6)) {
          ok = false; // the network itself is broken; already reported
        } else if (c.family === 6 && conf.enableIPv4) {
          warnings.push({
            code: 'WMIGRATE_IGNORED_PODCIDR',
            object: obj,
            message: `node ${nodeName} podCIDR ${text} is ignored: IPv6 is not enabled in net-conf.json`,
          });
        } else {
          warnings.push({
            code: 'WMIGRATE_IGNORED_PODCIDR',
            object: obj,
            message: `node ${nodeName} podCIDR ${text} is ignored: IPv4 is not enabled in net-conf.json`,
          });
        }
        continue;
      }
      if (c.hostBits) {
        nodeErr(
          'EMIGRATE_PODCIDR_INVALID',
          `node ${nodeName} podCIDR ${text} has host bits set (expected ${c.cidr})`,
        );
        ok = false;
        continue;
      }
      if (!inside(c, fam.n)) {
        nodeErr(
          'EMIGRATE_PODCIDR_OUTSIDE',
          `node ${nodeName} podCIDR ${c.cidr} is outside ${fam.key} ${fam.n.cidr}`,
          `widen ${fam.key} in net-conf.json to include it (flannel itself refuses such a node), or give the node a podCIDR inside ${fam.n.cidr}`,
        );
        ok = false;
        continue;
      }
      if (c.prefix !== fam.len) {
        nodeErr(
          'EMIGRATE_PODCIDR_SIZE',
          `node ${nodeName} podCIDR ${c.cidr} is a /${c.prefix}, but ${c.family === 4 ? 'SubnetLen' : 'IPv6SubnetLen'} is /${fam.len}`,
          `set ${c.family === 4 ? 'SubnetLen' : 'IPv6SubnetLen'} to ${c.prefix} in net-conf.json if every node has a /${c.prefix} (kube-controller-manager --node-cidr-mask-size)`,
        );
        ok = false;
        continue;
      }
      const prev = holders.get(c.cidr);
      if (prev) {
        nodeErr(
          'EMIGRATE_DUPLICATE_PODCIDR',
          `nodes ${prev} and ${nodeName} both have podCIDR ${c.cidr}`,
        );
        ok = false;
        continue;
      }
      holders.set(c.cidr, nodeName);
      if (c.family === 4) subnet ??= c.cidr;
      else ipv6Subnet ??= c.cidr;
    }
    if (!ok) continue;
    if (conf.enableIPv4 && net.v4 && !subnet) {
      nodeErr(
        'EMIGRATE_NO_PODCIDR',
        `node ${nodeName} has no IPv4 podCIDR (has ${cidrs.join(', ')})`,
      );
      continue;
    }
    if (conf.enableIPv6 && net.v6 && !ipv6Subnet) {
      nodeErr(
        'EMIGRATE_NO_PODCIDR',
        `node ${nodeName} has no IPv6 podCIDR (has ${cidrs.join(', ')})`,
      );
      continue;
    }

    const ann = node.metadata.annotations ?? {};
    if (ann[ANN.kubeSubnetManager] !== 'true') withoutManagerAnnotation++;
    const annType = ann[ANN.backendType];
    if (annType && annType !== type) {
      warnings.push({
        code: 'WMIGRATE_BACKEND_MISMATCH',
        object: obj,
        message: `node ${nodeName} last ran backend "${annType}", net-conf.json says "${type}"`,
      });
    }
    // An IPv6-only network (no IPv4 subnet) carries no IPv4 backend data or public IP.
    // wireguard: upstream writes the same PublicKey into both annotations; either will do.
    const data =
      (type === 'vxlan' && subnet) || type === 'wireguard'
        ? parseBackendData(
            ann[ANN.backendData] ?? (type === 'wireguard' ? ann[ANN.backendV6Data] : undefined),
            nodeName,
            ANN.backendData,
            warnings,
          )
        : undefined;
    const data6 =
      type === 'vxlan' && ipv6Subnet
        ? parseBackendData(ann[ANN.backendV6Data], nodeName, ANN.backendV6Data, warnings)
        : undefined;
    if (data?.vni !== undefined && data.vni !== vni) {
      warnings.push({
        code: 'WMIGRATE_VNI_MISMATCH',
        object: obj,
        message: `node ${nodeName} announces VNI ${data.vni}, net-conf.json says ${vni}; its device will be recreated as flannel.${vni}`,
      });
    }
    if (type === 'vxlan' && subnet && !data?.mac) {
      warnings.push({
        code: 'WMIGRATE_NO_VTEP_MAC',
        object: obj,
        message: `node ${nodeName} has no flannel VTEP MAC annotation; the agent will choose one and peers will learn it from the lease`,
      });
    }
    const overwrite = ann[ANN.publicIPOverwrite];
    const publicIP = subnet ? (validIP(overwrite, 4) ?? validIP(ann[ANN.publicIP], 4)) : undefined;
    if (overwrite && !validIP(overwrite, 4)) {
      warnings.push({
        code: 'WMIGRATE_PUBLIC_IP',
        object: obj,
        message: `node ${nodeName} ${ANN.publicIPOverwrite} "${overwrite}" is not an IPv4 address and is ignored`,
      });
    }
    const publicIPv6 = validIP(ann[ANN.publicIPv6], 6);

    if (type === 'wireguard' && !data?.publicKey)
      warnings.push({
        code: 'WMIGRATE_NO_PUBLIC_KEY',
        object: obj,
        message: `node ${nodeName} has no WireGuard public key annotation; its agent publishes its key when it starts`,
      });
    const backend: NonNullable<SubnetLease['status']>['backend'] =
      type === 'host-gw'
        ? { type: 'host-gw' }
        : type === 'wireguard'
          ? { type: 'wireguard', ...(data?.publicKey ? { publicKey: data.publicKey } : {}) }
          : {
              type: 'vxlan',
              ...(data?.mac ? { vtepMAC: data.mac } : {}),
              ...(data6?.mac ? { v6VtepMAC: data6.mac } : {}),
              vni,
            };
    const status: NonNullable<SubnetLease['status']> = {
      ...(publicIP ? { publicIP } : {}),
      ...(publicIPv6 ? { publicIPv6 } : {}),
      backend,
    };
    leases.push({
      apiVersion: API_VERSION,
      kind: SUBNET_LEASE.kind,
      metadata: {
        name: leaseName(networkName, nodeName),
        labels: leaseLabels(networkName, nodeName),
      },
      spec: {
        nodeName,
        networkName,
        ...(subnet ? { subnet } : {}),
        ...(ipv6Subnet ? { ipv6Subnet } : {}),
      },
      status,
    });
  }
  // kube-controller-manager hands out the network's first subnet; flannel's default SubnetMin skips
  // it. Keep the range honest so capacity and new allocations match what nodes already hold.
  for (const [n, fam, key] of [
    [net.v4, 4, 'subnetMin'],
    [net.v6, 6, 'ipv6SubnetMin'],
  ] as const) {
    const spec = net.network?.spec;
    if (!n || !spec || spec[key]) continue;
    const first = [...holders.entries()].find(
      ([cidr]) => parseNet(cidr)!.family === fam && parseNet(cidr)!.addr === n.addr,
    );
    if (first) {
      spec[key] = addrText(n);
      warnings.push({
        code: 'WMIGRATE_SUBNET_MIN',
        object: `node/${first[1]}`,
        message: `${key} set to ${addrText(n)}: node ${first[1]} holds the first subnet ${first[0]}, which the default range skips`,
      });
    }
  }
  if (conf.subnetMin && net.v4 && net.v4Len) {
    const min = parseNet(`${conf.subnetMin.split('/')[0]}/${net.v4Len}`);
    for (const [cidr, holder] of holders) {
      const c = parseNet(cidr)!;
      if (min && c.family === 4 && c.addr < min.addr)
        warnings.push({
          code: 'WMIGRATE_BELOW_SUBNET_MIN',
          object: `node/${holder}`,
          message: `node ${holder} podCIDR ${cidr} is below SubnetMin ${conf.subnetMin}; it is kept (SubnetMin only limits new allocations)`,
        });
    }
  }
  if (nodes.length > 0 && withoutManagerAnnotation === nodes.length) {
    warnings.push({
      code: 'WMIGRATE_NOT_KUBE_SUBNET_MANAGER',
      message: `no node carries ${ANN.kubeSubnetManager}=true: if flannel ran with etcd (not --kube-subnet-mgr) its subnets may differ from the podCIDRs used here`,
    });
  }
  if (nodes.length === 0) {
    warnings.push({
      code: 'WMIGRATE_NO_NODES',
      message: 'the cluster has no nodes: only the FlannelNetwork is created',
    });
  }
  return {
    network: errors.length ? undefined : net.network,
    leases: errors.length ? [] : leases,
    warnings,
    errors,
  };
}
