import {
  API_VERSION,
  type Condition,
  type FlannelNetwork,
  type SubnetLease,
} from '../../api/index.js';
import { matchesSelector } from '../../kube/selector.js';
import { parseCidrField, tryCanonicalCidr, type Family } from '../../ipam/index.js';
import type { NodeLike } from './types.js';

/**
 * The pure part of `kubectl flannel status`: networks, leases and nodes joined into one report
 * with the inconsistencies a human should look at. No I/O; the command lists and prints.
 */

export type WarningCode =
  | 'NodeWithoutLease'
  | 'LeaseWithoutNode'
  | 'PodCIDRMismatch'
  | 'DuplicateSubnet'
  | 'NodeWithoutNetwork'
  | 'NodeInSeveralNetworks'
  | 'NetworkNotReady'
  | 'LeaseNotReady'
  /** CIDR text the strict parser (src/ipam) refuses; same code as everywhere else. */
  | 'EIPAM_INVALID_CIDR';

export interface StatusWarning {
  code: WarningCode;
  /** `kind/name` of the object the warning is about. */
  object: string;
  message: string;
}

export type ConditionState = 'True' | 'False' | 'Unknown';

export interface NetworkRow {
  name: string;
  network?: string;
  ipv6Network?: string;
  /** vxlan, host-gw or vxlan+directRouting. */
  backend: string;
  vni?: number;
  port?: number;
  mtu?: number;
  subnetLen?: number;
  capacity?: number;
  allocated: number;
  free?: number;
  ready: ConditionState;
  degraded: ConditionState;
  /** Reason and message of the condition that explains the state (Degraded, else Ready). */
  reason?: string;
  message?: string;
  dataplane: { ready?: number; desired?: number };
  creationTimestamp?: string;
}

export interface LeaseRow {
  name: string;
  network: string;
  node: string;
  subnet?: string;
  ipv6Subnet?: string;
  publicIP?: string;
  vtepMAC?: string;
  backend?: string;
  ready: ConditionState;
  reason?: string;
  creationTimestamp?: string;
}

export interface NodeRow {
  name: string;
  /** Network whose nodeSelector selects the node. */
  network?: string;
  internalIP?: string;
  podCIDR?: string;
  podCIDRs: string[];
  lease?: string;
  leaseSubnet?: string;
  /** Lease present and its subnet equals the node's podCIDR. */
  consistent: boolean;
}

export interface StatusReport {
  apiVersion: string;
  kind: 'StatusReport';
  healthy: boolean;
  summary: {
    networks: number;
    networksReady: number;
    leases: number;
    leasesReady: number;
    nodes: number;
    nodesConsistent: number;
    warnings: number;
  };
  networks: NetworkRow[];
  leases: LeaseRow[];
  nodes: NodeRow[];
  warnings: StatusWarning[];
}

const cond = (conds: Condition[] | undefined, type: string): Condition | undefined =>
  conds?.find((c) => c.type === type);

function condState(c: Condition | undefined, generation?: number): ConditionState {
  if (!c) return 'Unknown';
  // A condition about an older generation says nothing about the current spec.
  if (
    generation !== undefined &&
    c.observedGeneration !== undefined &&
    c.observedGeneration < generation
  )
    return 'Unknown';
  return c.status;
}

/** Canonical text for comparisons; text that does not parse stays as it is (and is warned about). */
function canonical(cidr: string | undefined): string | undefined {
  return cidr ? (tryCanonicalCidr(cidr) ?? cidr) : undefined;
}

type CidrField = [object: string, field: string, text: string | undefined, family?: Family];

/** One warning per CIDR field whose text does not parse, worded as every other reader words it. */
function invalidCidrWarnings(fields: CidrField[]): StatusWarning[] {
  const out: StatusWarning[] = [];
  for (const [object, field, text, family] of fields) {
    if (text === undefined) continue;
    try {
      parseCidrField(text, field, family);
    } catch (e) {
      out.push({ code: 'EIPAM_INVALID_CIDR', object, message: (e as Error).message });
    }
  }
  return out;
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

function toIso(t: string | Date | undefined): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'string' ? t : t.toISOString();
}

export function backendLabel(b: FlannelNetwork['spec']['backend'] | undefined): string {
  const type = b?.type ?? 'vxlan';
  return type === 'vxlan' && b?.directRouting ? 'vxlan+directRouting' : type;
}

function networkRow(n: FlannelNetwork, leaseCount: number): NetworkRow {
  const gen = n.metadata.generation;
  const conds = n.status?.conditions;
  const ready = cond(conds, 'Ready');
  const degraded = cond(conds, 'Degraded');
  const degradedState = condState(degraded, gen);
  const readyState = condState(ready, gen);
  // A condition written for an older generation: say so rather than repeat its stale reason.
  const stale =
    ready && readyState === 'Unknown'
      ? {
          reason: 'StaleStatus',
          message: `status is for generation ${ready.observedGeneration}, spec is at ${gen}`,
        }
      : undefined;
  const explain = degradedState === 'True' ? degraded : (stale ?? ready);
  const b = n.spec.backend;
  const type = b?.type ?? 'vxlan';
  return {
    name: n.metadata.name ?? '',
    network: n.spec.network,
    ipv6Network: n.spec.ipv6Network,
    backend: backendLabel(b),
    vni: type === 'vxlan' ? (b?.vni ?? 1) : undefined,
    port: type === 'vxlan' ? (b?.port ?? 8472) : undefined,
    mtu: b?.mtu,
    // An IPv6-only network shows its IPv6 subnet length.
    subnetLen: n.spec.network
      ? (n.status?.effective?.subnetLen ?? n.spec.subnetLen)
      : (n.status?.effective?.ipv6SubnetLen ?? n.spec.ipv6SubnetLen),
    capacity: n.status?.capacity,
    allocated: n.status?.allocated ?? leaseCount,
    free:
      n.status?.free ??
      (n.status?.capacity !== undefined
        ? n.status.capacity - (n.status.allocated ?? leaseCount)
        : undefined),
    ready: readyState,
    degraded: degradedState,
    reason: explain?.reason,
    message: explain?.message || undefined,
    dataplane: { ready: n.status?.dataplane?.ready, desired: n.status?.dataplane?.desired },
    creationTimestamp: toIso(n.metadata.creationTimestamp),
  };
}

function leaseRow(l: SubnetLease): LeaseRow {
  const ready = cond(l.status?.conditions, 'Ready');
  return {
    name: l.metadata.name ?? '',
    network: l.spec.networkName,
    node: l.spec.nodeName,
    subnet: l.spec.subnet,
    ipv6Subnet: l.spec.ipv6Subnet,
    // IPv6-only leases carry only the IPv6 address and MAC.
    publicIP: l.status?.publicIP ?? l.status?.publicIPv6,
    vtepMAC: l.status?.backend?.vtepMAC ?? l.status?.backend?.v6VtepMAC,
    backend: l.status?.backend?.type,
    ready: condState(ready, l.metadata.generation),
    reason: ready?.reason,
    creationTimestamp: toIso(l.metadata.creationTimestamp),
  };
}

export interface StatusOptions {
  /** Only this network, its leases and the nodes it selects. */
  network?: string;
}

export function buildStatusReport(
  networks: FlannelNetwork[],
  leases: SubnetLease[],
  nodes: NodeLike[],
  opts: StatusOptions = {},
): StatusReport {
  const byName = <T extends { metadata: { name?: string } }>(a: T, b: T): number =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  const allNetworks = [...networks].sort(byName);
  const shownNetworks = opts.network
    ? allNetworks.filter((n) => n.metadata.name === opts.network)
    : allNetworks;
  const shownLeases = [...leases]
    .filter((l) => !opts.network || l.spec.networkName === opts.network)
    .sort(byName);
  const warnings: StatusWarning[] = [];

  // Which network serves each node: the first (by name) whose selector matches.
  const nodeNetwork = new Map<string, string | undefined>();
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const matching = allNetworks.filter((n) =>
      matchesSelector(n.spec.nodeSelector, node.metadata.labels),
    );
    nodeNetwork.set(name, matching[0]?.metadata.name);
    if (
      matching.length > 1 &&
      (!opts.network || matching.some((m) => m.metadata.name === opts.network))
    ) {
      warnings.push({
        code: 'NodeInSeveralNetworks',
        object: `node/${name}`,
        message: `node ${name} is selected by ${matching.length} networks (${matching.map((m) => m.metadata.name).join(', ')}); it is served by ${matching[0]!.metadata.name}`,
      });
    }
  }

  const networkRows = shownNetworks.map((n) =>
    networkRow(n, leases.filter((l) => l.spec.networkName === n.metadata.name).length),
  );
  for (const n of networkRows) {
    if (n.ready !== 'True' || n.degraded === 'True') {
      warnings.push({
        code: 'NetworkNotReady',
        object: `flannelnetwork/${n.name}`,
        message: n.reason
          ? `network ${n.name} is ${n.degraded === 'True' ? 'Degraded' : 'not Ready'} (${n.reason}${n.message ? `: ${n.message}` : ''})`
          : `network ${n.name} has no current Ready condition (is the controller running?)`,
      });
    }
  }

  warnings.push(
    ...invalidCidrWarnings([
      ...shownNetworks.flatMap((n): CidrField[] => [
        [`flannelnetwork/${n.metadata.name}`, 'network', n.spec.network, 4],
        [`flannelnetwork/${n.metadata.name}`, 'ipv6Network', n.spec.ipv6Network, 6],
      ]),
      ...shownLeases.flatMap((l): CidrField[] => [
        [`subnetlease/${l.metadata.name}`, 'subnet', l.spec.subnet, 4],
        [`subnetlease/${l.metadata.name}`, 'ipv6Subnet', l.spec.ipv6Subnet, 6],
      ]),
      ...nodes
        .filter((n) => !opts.network || nodeNetwork.get(n.metadata.name ?? '') === opts.network)
        .flatMap((n): CidrField[] =>
          (n.spec?.podCIDRs?.length ? n.spec.podCIDRs : [n.spec?.podCIDR]).map((c) => [
            `node/${n.metadata.name}`,
            'podCIDR',
            c,
          ]),
        ),
    ]),
  );
  const leaseRows = shownLeases.map(leaseRow);
  const nodeNames = new Set(nodes.map((n) => n.metadata.name ?? ''));
  for (const l of leaseRows) {
    if (!nodeNames.has(l.node)) {
      warnings.push({
        code: 'LeaseWithoutNode',
        object: `subnetlease/${l.name}`,
        message: `lease ${l.name} holds ${l.subnet ?? 'no subnet'} for node ${l.node}, which does not exist`,
      });
    } else if (l.ready !== 'True') {
      warnings.push({
        code: 'LeaseNotReady',
        object: `subnetlease/${l.name}`,
        message: `agent on node ${l.node} has not reported Ready${l.reason ? ` (${l.reason})` : ''}`,
      });
    }
  }

  // Duplicate subnets among the shown leases, per address family.
  const holders = new Map<string, string[]>();
  for (const l of leaseRows) {
    for (const s of [l.subnet, l.ipv6Subnet]) {
      const c = canonical(s);
      if (!c) continue;
      holders.set(c, [...(holders.get(c) ?? []), l.name]);
    }
  }
  for (const [subnet, names] of holders) {
    if (names.length > 1) {
      warnings.push({
        code: 'DuplicateSubnet',
        object: `subnetlease/${names[0]}`,
        message: `subnet ${subnet} is held by ${names.length} leases: ${names.join(', ')}`,
      });
    }
  }

  const leaseOf = new Map<string, SubnetLease>();
  for (const l of leases) {
    const net = nodeNetwork.get(l.spec.nodeName);
    // A node's lease is the one in the network that serves it (another network's lease is stale).
    if (l.spec.networkName === net) leaseOf.set(l.spec.nodeName, l);
  }
  const nodeRows: NodeRow[] = [];
  for (const node of [...nodes].sort(byName)) {
    const name = node.metadata.name ?? '';
    const network = nodeNetwork.get(name);
    if (opts.network && network !== opts.network) continue;
    const podCIDRs = node.spec?.podCIDRs?.length
      ? node.spec.podCIDRs
      : node.spec?.podCIDR
        ? [node.spec.podCIDR]
        : [];
    const lease = leaseOf.get(name);
    const podV4 = canonical(podCIDRs.find((c) => !isV6(c)));
    const podV6 = canonical(podCIDRs.find((c) => isV6(c)));
    const leaseV4 = canonical(lease?.spec.subnet);
    const leaseV6 = canonical(lease?.spec.ipv6Subnet);
    const consistent =
      !!lease &&
      podCIDRs.length > 0 &&
      podV4 === leaseV4 &&
      (!podV6 || !leaseV6 || podV6 === leaseV6);
    nodeRows.push({
      name,
      network,
      internalIP: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
      podCIDR: node.spec?.podCIDR ?? podCIDRs[0],
      podCIDRs,
      lease: lease?.metadata.name,
      leaseSubnet:
        [lease?.spec.subnet, lease?.spec.ipv6Subnet].filter(Boolean).join(',') || undefined,
      consistent,
    });
    if (!network) {
      warnings.push({
        code: 'NodeWithoutNetwork',
        object: `node/${name}`,
        message: `no FlannelNetwork selects node ${name}`,
      });
    } else if (!lease) {
      warnings.push({
        code: 'NodeWithoutLease',
        object: `node/${name}`,
        message: `node ${name} has no SubnetLease in network ${network}`,
      });
    } else if (!consistent && podCIDRs.length > 0) {
      warnings.push({
        code: 'PodCIDRMismatch',
        object: `node/${name}`,
        message: `node ${name} podCIDR ${podCIDRs.join(',')} differs from lease ${lease.metadata.name} subnet ${[lease.spec.subnet, lease.spec.ipv6Subnet].filter(Boolean).join(',')}`,
      });
    }
  }

  return {
    apiVersion: API_VERSION,
    kind: 'StatusReport',
    healthy: warnings.length === 0,
    summary: {
      networks: networkRows.length,
      networksReady: networkRows.filter((n) => n.ready === 'True' && n.degraded !== 'True').length,
      leases: leaseRows.length,
      leasesReady: leaseRows.filter((l) => l.ready === 'True').length,
      nodes: nodeRows.length,
      nodesConsistent: nodeRows.filter((n) => n.consistent).length,
      warnings: warnings.length,
    },
    networks: networkRows,
    leases: leaseRows,
    nodes: nodeRows,
    warnings,
  };
}
