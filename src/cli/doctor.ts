import { readFile } from 'node:fs/promises';
import {
  API_VERSION,
  FLANNEL_NETWORK,
  SUBNET_LEASE,
  networkLeaseSelector,
  nodeLeaseSelector,
  type FlannelNetwork,
  type SubnetLease,
} from '../api/index.js';
import { collectionPath, objectPath, type KubeClient } from '../kube/index.js';
import { diffState } from '../agent/desired.js';
import {
  networkConfig,
  nodeDesiredState,
  tunnelDevices,
  type NodeInfo,
  type NodeState,
} from '../agent/node-state.js';
import type { WgDeviceSpec } from '../agent/wireguard/desired.js';
import { WireguardDevices } from '../agent/wireguard/device.js';
import { tryCanonicalIp } from '../ipam/index.js';
import { Kernel } from '../agent/kernel/netlink.js';
import {
  Netfilter,
  detectMode,
  forwardAcceptDrift,
  run,
  type NetfilterMode,
} from '../agent/netfilter/apply.js';
import { nftTableName, renderNft, type RuleInput } from '../agent/netfilter/render.js';
import { describeBlocker } from '../agent/netfilter/forward-check.js';
import { desiredSysctls, readSysctl } from '../agent/sysctl.js';
import { DEFAULT_SUBNET_FILE, renderSubnetEnv } from '../agent/files.js';
import { FlannelOperatorError } from '../errors.js';
import {
  EXIT_OK,
  EXIT_RUNTIME,
  EXIT_USAGE,
  HELP_FLAG,
  UsageError,
  parseFlags,
} from '../cmd/flags.js';
import { CliError } from './output/errors.js';
import { KUBE_FLAGS, OUTPUT_FLAG, outputFormat } from './output/flags.js';
import { renderData, renderTable, isMachineFormat } from './output/format.js';
import { processIO, type CliIO } from './output/io.js';
import { clientFromFlags } from './output/kube.js';
import { runCommand } from './output/run.js';
import {
  describeDiff,
  fileDifferences,
  nftDifferences,
  parseNftJson,
  wireguardDifferences,
  type Difference,
  type WgDeviceHere,
} from './doctor/compare.js';
import type { NodeLike } from './status/types.js';

export const DOCTOR_USAGE = `Compare the dataplane a node should have (computed exactly as its agent does, from its
SubnetLease, its FlannelNetwork and all peer leases; both address families) with what the kernel of THIS network
namespace holds: vxlan device (wireguard: devices, key, port and peers via \`wg\`), routes, neighbors, FDB entries, netfilter rules (with the accept
rules in iptables' filter FORWARD chain), forwarding sysctls and subnet.env. It also reports any
other nftables chain at the forward hook that would drop pod traffic (e.g. a host firewall's
\`policy drop\`), which the agent cannot override. Run it inside the node's network namespace
(e.g. kubectl exec into the agent pod).

Usage: kubectl flannel doctor NODE [flags]

Flags:
  --network NAME        network of the node (needed only when the node has leases in several)
  --iface NAME          underlay interface (default: the one holding the node's public IP)
  --public-ip IP        the node's public IP (default: lease status, then Node InternalIP)
  --public-ipv6 IP      dual-stack: the node's public IPv6 (default: lease status, then Node
                        InternalIP, then the underlay interface's global IPv6)
  --netfilter MODE      nftables | iptables | none (default: nftables when nft works)
  --subnet-file PATH    subnet.env to check (default ${DEFAULT_SUBNET_FILE}, checked when present)
  -o, --output FORMAT   table (default) | json | yaml
  --kubeconfig PATH     kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --context NAME        kubeconfig context to use
  -h, --help            show this help

Exit codes: 0 kernel matches, 1 differences found (or an error), 2 bad flags.
`;

export interface DoctorReport {
  apiVersion: string;
  kind: 'DoctorReport';
  node: string;
  network: string;
  backend: string;
  device?: string;
  /** IPv4 subnet and public IP (absent in an IPv6-only network). */
  subnet?: string;
  publicIP?: string;
  /** Dual-stack and IPv6-only networks. */
  ipv6Subnet?: string;
  publicIPv6?: string;
  underlay: string;
  netfilter: NetfilterMode | 'none';
  clean: boolean;
  checked: { routes: number; neighbors: number; fdb: number; peers: number };
  differences: Difference[];
  /** Peers the agent cannot program yet, and why (not differences: the agent would skip them too). */
  pending: Array<{ node: string; reason: string }>;
}

async function pickLease(client: KubeClient, node: string, network?: string): Promise<SubnetLease> {
  const { items } = await client.listAll<SubnetLease>(
    collectionPath(API_VERSION, SUBNET_LEASE.plural),
    {
      labelSelector: nodeLeaseSelector(node),
    },
  );
  const mine = items.filter(
    (l) => l.spec.nodeName === node && (!network || l.spec.networkName === network),
  );
  if (mine.length === 0)
    throw new CliError(
      `node ${node} has no SubnetLease${network ? ` in network ${network}` : ''}`,
      'EDOCTOR_NO_LEASE',
      EXIT_RUNTIME,
      'check `kubectl flannel status`: the controller creates a lease for every node its networks select',
    );
  if (mine.length > 1)
    throw new CliError(
      `node ${node} has leases in several networks (${mine.map((l) => l.spec.networkName).join(', ')}): pass --network`,
      'EDOCTOR_AMBIGUOUS_NETWORK',
      EXIT_USAGE,
    );
  return mine[0]!;
}

async function inspectNetfilter(mode: NetfilterMode, rules: RuleInput): Promise<Difference[]> {
  if (mode === 'nftables') {
    const table = nftTableName(rules.family);
    const r = await run('nft', [
      '-j',
      'list',
      'table',
      rules.family === 'ipv4' ? 'ip' : 'ip6',
      table,
    ]);
    const observed = r.code === 0 ? parseNftJson(r.stdout) : { present: false, chains: {} };
    if (observed.present && observed.comment === undefined) {
      // nft before 1.1 leaves table comments out of its JSON; the text listing has them.
      const t = await run('nft', ['list', 'table', rules.family === 'ipv4' ? 'ip' : 'ip6', table]);
      observed.comment = /^\s*comment "([^"]*)"/m.exec(t.stdout)?.[1];
    }
    const drift = await forwardAcceptDrift(rules);
    return [
      ...nftDifferences(table, renderNft(rules), rules.ipMasq, observed),
      ...drift.map((bin): Difference => ({
        kind: 'netfilter',
        change: 'missing',
        object: `${bin} filter FORWARD -> FLANNEL-OP-FWD`,
        want: `-s ${rules.network} -j ACCEPT, -d ${rules.network} -j ACCEPT`,
        have: 'missing or different rules',
      })),
    ];
  }
  // iptables: the agent's own check; it answers only in-sync or not.
  if (await new Netfilter('iptables').inSync(rules)) return [];
  return [
    {
      kind: 'netfilter',
      change: 'wrong',
      object: 'iptables chains FLANNEL-OP-POSTRTG/FLANNEL-OP-FWD',
      want: 'the rules the agent renders',
      have: 'missing or different rules',
    },
  ];
}

/** Foreign nftables chains at the forward hook that would drop pod traffic, whatever the mode. */
async function forwardingDifferences(ruleSets: RuleInput[]): Promise<Difference[]> {
  const probes = ruleSets.map((r) => ({ family: r.family, network: r.network }));
  const blockers = await new Netfilter('nftables').forwardBlockers(probes);
  return blockers.map((b) => ({
    kind: 'netfilter',
    change: 'drops',
    object: `chain ${b.chain} (hook forward)`,
    want: `forwarded traffic of ${b.network} accepted`,
    have: describeBlocker(b),
  }));
}

type DoctorFlags = { iface?: string; 'public-ip'?: string; 'public-ipv6'?: string };

/** The node as the agent sees itself, found from this network namespace (the agent's rules). */
async function nodeHere(
  kernel: Kernel,
  flags: DoctorFlags,
  lease: SubnetLease,
  node: NodeLike | undefined,
): Promise<Pick<NodeInfo, 'nodeName' | 'underlay' | 'publicIP' | 'publicIPv6'>> {
  const internal = (node?.status?.addresses ?? []).filter((a) => a.type === 'InternalIP');
  const internalIP = internal.find((a) => !a.address.includes(':'))?.address;
  const internalIPv6 = internal.find((a) => a.address.includes(':'))?.address;
  const want6 = flags['public-ipv6'] ?? lease.status?.publicIPv6 ?? internalIPv6;
  // A node without IPv4 (IPv6-only underlay) is found by its IPv6 address, as the agent does.
  const wantIP =
    flags['public-ip'] ??
    (flags.iface ? undefined : (lease.status?.publicIP ?? internalIP ?? want6));
  let underlay;
  try {
    underlay = await kernel.underlay({ iface: flags.iface, ip: wantIP });
  } catch (e) {
    throw new CliError(
      `cannot find the underlay here: ${(e as Error).message}`,
      'EDOCTOR_UNDERLAY',
      EXIT_RUNTIME,
      `run doctor in the network namespace of node ${lease.spec.nodeName} (the agent pod), or pass --iface/--public-ip`,
    );
  }
  const v6 = await kernel.underlayV6(underlay, want6);
  const pub6 = want6 ?? v6?.ipv6;
  return {
    nodeName: lease.spec.nodeName,
    underlay: v6 ? { ...underlay, ...v6 } : underlay,
    publicIP: flags['public-ip'] ?? underlay.ip,
    publicIPv6: pub6 ? (tryCanonicalIp(pub6) ?? pub6) : undefined,
  };
}

/** The sysctls the agent writes (src/agent/sysctl.ts), as they are here. */
async function sysctlDifferences(cfg: {
  network?: string;
  ipv6Network?: string;
}): Promise<Difference[]> {
  const out: Difference[] = [];
  for (const s of desiredSysctls(cfg)) {
    const have = (await readSysctl(s.key)) ?? '?';
    if (have !== s.value)
      out.push({ kind: 'sysctl', change: 'wrong', object: s.key, want: s.value, have });
  }
  return out;
}

interface NodeObjects {
  lease: SubnetLease;
  network: FlannelNetwork;
  leases: SubnetLease[];
  node?: NodeLike;
}

async function readObjects(
  client: KubeClient,
  nodeName: string,
  network?: string,
): Promise<NodeObjects> {
  const lease = await pickLease(client, nodeName, network);
  const networkName = lease.spec.networkName;
  const [net, all, node] = await Promise.all([
    client.getOrUndefined<FlannelNetwork>(
      objectPath(API_VERSION, FLANNEL_NETWORK.plural, networkName),
    ),
    client.listAll<SubnetLease>(collectionPath(API_VERSION, SUBNET_LEASE.plural), {
      labelSelector: networkLeaseSelector(networkName),
    }),
    client.getOrUndefined<NodeLike>(`/api/v1/nodes/${encodeURIComponent(nodeName)}`),
  ]);
  if (!net)
    throw new CliError(
      `FlannelNetwork ${networkName} (of lease ${lease.metadata.name}) not found`,
      'EDOCTOR_NO_NETWORK',
    );
  // The network's first family (IPv4, or IPv6 when IPv6-only) must have its subnet.
  const v4 = !!net.spec.network;
  if (v4 ? !lease.spec.subnet : !lease.spec.ipv6Subnet)
    throw new CliError(
      `lease ${lease.metadata.name} has no ${v4 ? 'IPv4' : 'IPv6'} subnet yet`,
      'EDOCTOR_NO_SUBNET',
    );
  return { lease, network: net, leases: all.items, node };
}

/** The node's desired state, computed exactly as its agent does (same builder, same MAC choice). */
function desiredHere(o: NodeObjects, node: NodeInfo): NodeState {
  try {
    return nodeDesiredState({ network: o.network, lease: o.lease, leases: o.leases, node });
  } catch (e) {
    const own = e instanceof FlannelOperatorError && e.code !== 'EAGENT_CONFIG';
    throw new CliError((e as Error).message, own ? e.code : 'EDOCTOR_NETWORK_CONFIG');
  }
}

/** The WireGuard devices as the kernel and `wg` report them (read only). */
async function wireguardHere(
  kernel: Kernel,
  want: WgDeviceSpec[],
): Promise<Map<string, WgDeviceHere>> {
  const wg = new WireguardDevices(kernel, {});
  const out = new Map<string, WgDeviceHere>();
  for (const w of want) {
    const [link, dump] = [await kernel.linkState(w.name), await wg.show(w.name)];
    out.set(w.name, { ...(link ? { link } : {}), ...(dump ? { dump } : {}) });
  }
  return out;
}

type DiagnoseFlags = DoctorFlags & { netfilter?: string; 'subnet-file'?: string };

async function diagnose(
  kernel: Kernel,
  o: NodeObjects,
  flags: DiagnoseFlags,
): Promise<DoctorReport> {
  const here = await nodeHere(kernel, flags, o.lease, o.node);
  const [dev, dev6] = tunnelDevices(networkConfig(o.network));
  const actual = await kernel.readState(dev, dev6);
  // wireguard: the key the agent published is the one its devices must hold.
  const publicKey = o.lease.status?.backend?.publicKey;
  const state = desiredHere(o, {
    ...here,
    deviceMAC: actual.vxlan?.mac,
    deviceV6MAC: actual.vxlan6?.mac,
    publicKey,
  });
  const { cfg, desired, self } = state;
  const differences = describeDiff(desired, actual, diffState(desired, actual, state.ownership));
  if (desired.wireguard)
    differences.push(
      ...wireguardDifferences(
        desired.wireguard,
        await wireguardHere(kernel, desired.wireguard),
        publicKey,
      ),
    );
  const nf = flags.netfilter;
  const mode: NetfilterMode | 'none' =
    nf === 'none' ? 'none' : await detectMode(nf as NetfilterMode | undefined);
  if (mode !== 'none')
    for (const rules of state.rules) differences.push(...(await inspectNetfilter(mode, rules)));
  differences.push(...(await forwardingDifferences(state.rules)));
  differences.push(...(await sysctlDifferences(cfg)));
  const subnetFile = flags['subnet-file'] ?? DEFAULT_SUBNET_FILE;
  const haveEnv = await readFile(subnetFile, 'utf8').catch(() => undefined);
  if (haveEnv !== undefined || flags['subnet-file'])
    differences.push(...fileDifferences(subnetFile, renderSubnetEnv(state.subnetEnv), haveEnv));
  return {
    apiVersion: API_VERSION,
    kind: 'DoctorReport',
    node: self.nodeName,
    network: o.lease.spec.networkName,
    backend: cfg.type === 'vxlan' && cfg.directRouting ? 'vxlan+directRouting' : cfg.type,
    ...(desired.vxlan
      ? { device: dev }
      : desired.vxlan6
        ? { device: desired.vxlan6.name }
        : desired.wireguard?.length
          ? { device: desired.wireguard.map((w) => w.name).join(',') }
          : {}),
    ...(self.subnet ? { subnet: self.subnet } : {}),
    ...(self.subnet && self.publicIP ? { publicIP: self.publicIP } : {}),
    ...(self.subnetV6 ? { ipv6Subnet: self.subnetV6 } : {}),
    ...(self.subnetV6 && self.publicIPv6 ? { publicIPv6: self.publicIPv6 } : {}),
    underlay: here.underlay.name,
    netfilter: mode,
    clean: differences.length === 0,
    checked: {
      routes: desired.routes.length,
      neighbors: desired.neighbors.length,
      fdb: desired.fdb.length,
      peers: desired.peers.length,
    },
    differences,
    pending: desired.pending.map((p) => ({ node: p.nodeName, reason: p.reason })),
  };
}

export function renderDoctorTable(r: DoctorReport): string {
  let out = `NODE ${r.node}   NETWORK ${r.network}   BACKEND ${r.backend}${r.device ? `   DEVICE ${r.device}` : ''}${r.subnet ? `   SUBNET ${r.subnet}   PUBLIC-IP ${r.publicIP ?? '<none>'}` : ''}   UNDERLAY ${r.underlay}   NETFILTER ${r.netfilter}${r.ipv6Subnet ? `   IPV6-SUBNET ${r.ipv6Subnet}   PUBLIC-IPV6 ${r.publicIPv6 ?? '<none>'}` : ''}\n\n`;
  if (r.differences.length) {
    out += renderTable(r.differences, [
      { header: 'kind', value: (d) => d.kind },
      { header: 'change', value: (d) => d.change },
      { header: 'object', value: (d) => d.object },
      { header: 'want', value: (d) => d.want },
      { header: 'have', value: (d) => d.have },
    ]);
    out += '\n';
  }
  for (const p of r.pending) out += `pending peer ${p.node}: ${p.reason}\n`;
  const c = r.checked;
  out += r.clean
    ? `RESULT: OK - kernel matches the desired state (${c.peers} peers: ${c.routes} routes, ${c.neighbors} neighbors, ${c.fdb} fdb entries${r.netfilter === 'none' ? '' : `, ${r.netfilter} rules`})\n`
    : `RESULT: ${r.differences.length} difference(s) - the agent repairs these on its next pass; if they persist, check its logs\n`;
  if (r.differences.some((d) => d.change === 'drops'))
    out +=
      "A chain that drops pod traffic is not the agent's to change: add the accept rules shown to it (or remove its drop).\n";
  return out;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  return runCommand(io, async () => {
    const { values, positionals } = parseFlags(
      argv,
      {
        ...KUBE_FLAGS,
        ...OUTPUT_FLAG,
        ...HELP_FLAG,
        network: { type: 'string' },
        iface: { type: 'string' },
        'public-ip': { type: 'string' },
        'public-ipv6': { type: 'string' },
        netfilter: { type: 'string' },
        'subnet-file': { type: 'string' },
      },
      { positionals: { min: 1, max: 1, names: 'NODE' } },
    );
    if (values.help) {
      io.out(DOCTOR_USAGE);
      return EXIT_OK;
    }
    const format = outputFormat(values.output, ['table', 'json', 'yaml']);
    const nf = values.netfilter;
    if (nf !== undefined && !['nftables', 'iptables', 'none'].includes(nf))
      throw new UsageError(`--netfilter must be nftables, iptables or none, got "${nf}"`);
    const nodeName = positionals[0]!;

    const client = clientFromFlags(values);
    const kernel = new Kernel();
    try {
      const objects = await readObjects(client, nodeName, values.network);
      const report = await diagnose(kernel, objects, values);
      io.out(isMachineFormat(format) ? renderData(report, format) : renderDoctorTable(report));
      return report.clean ? EXIT_OK : EXIT_RUNTIME;
    } finally {
      kernel.close();
      client.close();
    }
  });
}
