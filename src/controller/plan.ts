import {
  API_VERSION,
  FLANNEL_NETWORK,
  parseFlannelNetwork,
  type FlannelNetwork,
  type FlannelNetworkSpec,
  type SubnetLease,
  LABEL_NETWORK,
  LABEL_NODE,
  leaseName,
  labelValue,
} from '../api/index.js';
import { SubnetPool, cidrsOverlap, parseCidr, formatCidr, PoolConfigError } from './pool.js';
import { matchesSelector } from './selector.js';

/** The parts of a v1 Node the controller reads. */
export interface NodeLike {
  metadata: {
    name?: string;
    uid?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
  };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
}

export type DegradedReason =
  'InvalidSpec' | 'OverlappingNetwork' | 'NetworkExhausted' | 'SubnetConflict';

/** A FlannelNetwork after validation: its pools, or why it cannot serve. */
export interface PreparedNetwork {
  name: string;
  uid?: string;
  generation?: number;
  created: number;
  object: FlannelNetwork;
  spec?: FlannelNetworkSpec;
  v4?: {
    network: string;
    subnetLen: number;
    subnetMin?: string;
    subnetMax?: string;
    reserved: string[];
  };
  v6?: {
    network: string;
    subnetLen: number;
    subnetMin?: string;
    subnetMax?: string;
    reserved: string[];
  };
  /** Set when the network cannot allocate: InvalidSpec or OverlappingNetwork. */
  refused?: { reason: DegradedReason; message: string };
}

/** Per-node events of one kind per pass are capped; the network gets one summary event. */
const MAX_NODE_EVENTS = 20;

function timeOf(t: string | Date | undefined): number {
  if (!t) return 0;
  const n = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(n) ? n : 0;
}

/** Older first; name breaks ties so every replica agrees. */
export function byAge<T extends { created: number; name: string }>(a: T, b: T): number {
  return a.created - b.created || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export function newPool(cfg: NonNullable<PreparedNetwork['v4']>): SubnetPool {
  return new SubnetPool({
    network: cfg.network,
    subnetLen: cfg.subnetLen,
    subnetMin: cfg.subnetMin,
    subnetMax: cfg.subnetMax,
    reserved: cfg.reserved,
  });
}

/** Validates one network's spec and derives its pool settings. */
export function prepareNetwork(obj: FlannelNetwork): PreparedNetwork {
  const name = obj.metadata.name ?? '';
  const base: PreparedNetwork = {
    name,
    uid: obj.metadata.uid,
    generation: obj.metadata.generation,
    created: timeOf(obj.metadata.creationTimestamp),
    object: obj,
  };
  // The same parser (schema + admission rules) the API server's CRD enforces; a spec that got
  // past an older CRD, or was written with validation off, is refused here with every problem.
  let spec: FlannelNetworkSpec;
  try {
    spec = parseFlannelNetwork({ ...obj, spec: obj.spec ?? {}, status: undefined }).spec;
  } catch (err) {
    return {
      ...base,
      refused: { reason: 'InvalidSpec', message: `invalid spec: ${(err as Error).message}` },
    };
  }
  if (!spec.network && !spec.ipv6Network) {
    return {
      ...base,
      spec,
      refused: { reason: 'InvalidSpec', message: 'spec.network or spec.ipv6Network is required' },
    };
  }
  const reserved4: string[] = [];
  const reserved6: string[] = [];
  try {
    for (const r of spec.reservedSubnets ?? [])
      (parseCidr(r).family === 4 ? reserved4 : reserved6).push(r);
    const out: PreparedNetwork = { ...base, spec };
    if (spec.network) {
      if (parseCidr(spec.network).family !== 4)
        throw new PoolConfigError(`spec.network ${spec.network} is not IPv4`);
      const p = new SubnetPool({
        network: spec.network,
        subnetLen: spec.subnetLen,
        subnetMin: spec.subnetMin,
        subnetMax: spec.subnetMax,
        reserved: reserved4,
      });
      out.v4 = {
        network: formatCidr(p.network),
        subnetLen: p.subnetLen,
        subnetMin: spec.subnetMin,
        subnetMax: spec.subnetMax,
        reserved: reserved4,
      };
    }
    if (spec.ipv6Network) {
      if (parseCidr(spec.ipv6Network).family !== 6)
        throw new PoolConfigError(`spec.ipv6Network ${spec.ipv6Network} is not IPv6`);
      const p = new SubnetPool({
        network: spec.ipv6Network,
        subnetLen: spec.ipv6SubnetLen,
        subnetMin: spec.ipv6SubnetMin,
        subnetMax: spec.ipv6SubnetMax,
        reserved: reserved6,
      });
      out.v6 = {
        network: formatCidr(p.network),
        subnetLen: p.subnetLen,
        subnetMin: spec.ipv6SubnetMin,
        subnetMax: spec.ipv6SubnetMax,
        reserved: reserved6,
      };
    }
    return out;
  } catch (err) {
    return { ...base, spec, refused: { reason: 'InvalidSpec', message: (err as Error).message } };
  }
}

/**
 * Validates all networks and refuses any whose CIDRs overlap an older valid one
 * (the older keeps working). Result is sorted oldest first.
 */
export function prepareNetworks(objs: FlannelNetwork[]): PreparedNetwork[] {
  const all = objs
    .filter((o) => !o.metadata.deletionTimestamp)
    .map(prepareNetwork)
    .sort(byAge);
  const accepted: PreparedNetwork[] = [];
  for (const n of all) {
    if (n.refused) continue;
    const mine = [n.v4?.network, n.v6?.network].filter((x): x is string => !!x).map(parseCidr);
    const clash = accepted.find((o) =>
      [o.v4?.network, o.v6?.network].some(
        (c) => c && mine.some((m) => cidrsOverlap(m, parseCidr(c))),
      ),
    );
    if (clash) {
      n.refused = {
        reason: 'OverlappingNetwork',
        message: `CIDRs overlap FlannelNetwork ${clash.name} (${[clash.v4?.network, clash.v6?.network].filter(Boolean).join(', ')}), which is older and keeps them`,
      };
      continue;
    }
    accepted.push(n);
  }
  return all;
}

/** The network (oldest first) that serves `node`, among the accepted ones. */
export function ownerOf(node: NodeLike, networks: PreparedNetwork[]): PreparedNetwork | undefined {
  return networks.find(
    (n) => !n.refused && matchesSelector(n.spec?.nodeSelector, node.metadata.labels),
  );
}

export interface PlannedLease {
  name: string;
  nodeName: string;
  nodeUid?: string;
  subnet?: string;
  ipv6Subnet?: string;
  adopted: boolean;
}

export type Action =
  | { type: 'createLease'; lease: PlannedLease; patchNode?: string[] }
  | { type: 'patchNode'; nodeName: string; podCIDRs: string[] }
  | {
      type: 'deleteLease';
      name: string;
      uid?: string;
      nodeName: string;
      reason: string;
      subnet?: string;
    };

export interface PlannedEvent {
  target: 'network' | 'node' | 'lease';
  name: string;
  uid?: string;
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface PlanSummary {
  /** Nodes this network serves (selected and not owned by an older network). */
  nodes: number;
  /** Of those, nodes holding (or about to hold) a valid lease. */
  leased: number;
  /** Nodes that need a lease the pool could not give. */
  exhausted: number;
  /** Nodes skipped for a podCIDR the network cannot honour. */
  skipped: number;
  /** Leases flagged for sharing a subnet with an older lease (or lying outside the network). */
  conflicts: string[];
  /** Nodes selected here but served by an older network. */
  contested: string[];
  capacity: number;
  /** All held subnets, including adopted ones outside subnetMin..subnetMax. */
  allocated: number;
  /** capacity minus the held subnets inside subnetMin..subnetMax. */
  free: number;
  ipv6Capacity?: string;
  ipv6Allocated?: number;
}

export interface Plan {
  actions: Action[];
  events: PlannedEvent[];
  summary: PlanSummary;
}

function nodeCidrs(node: NodeLike): { v4?: string; v6?: string; any: boolean } {
  const list = node.spec?.podCIDRs?.length
    ? node.spec.podCIDRs
    : node.spec?.podCIDR
      ? [node.spec.podCIDR]
      : [];
  let v4: string | undefined;
  let v6: string | undefined;
  for (const c of list) {
    try {
      const p = parseCidr(c);
      if (p.family === 4) v4 ??= c;
      else v6 ??= c;
    } catch {
      /* a malformed podCIDR is reported by the caller as outside the network */
    }
  }
  return { v4, v6, any: list.length > 0 };
}

function sameCidr(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return a === b;
  try {
    const x = parseCidr(a);
    const y = parseCidr(b);
    return x.family === y.family && x.addr === y.addr && x.prefix === y.prefix;
  } catch {
    return a === b;
  }
}

function leaseNodeUid(lease: SubnetLease): string | undefined {
  return lease.metadata.ownerReferences?.find((r) => r.kind === 'Node' && r.apiVersion === 'v1')
    ?.uid;
}

/**
 * Decides, without I/O, what one network needs: leases to create (new or adopted podCIDRs),
 * node podCIDRs to set, leases to release, and events to report.
 *
 * Safety rules:
 *  - every existing lease of the network claims its subnet first (oldest lease wins a clash),
 *    so a subnet in any lease is never handed out again — also for leases about to be deleted;
 *  - a node's podCIDR is immutable once set, so the node's value wins over a lease's;
 *  - a lease is created before the node is patched (the lease is the durable claim).
 */
export function planNetwork(
  network: PreparedNetwork,
  allNetworks: PreparedNetwork[],
  nodes: NodeLike[],
  leases: SubnetLease[],
  /** Leases that may exist (create outcome unknown): their subnets stay taken, their nodes wait. */
  pending: SubnetLease[] = [],
): Plan {
  const actions: Action[] = [];
  const events: PlannedEvent[] = [];
  const summary: PlanSummary = {
    nodes: 0,
    leased: 0,
    exhausted: 0,
    skipped: 0,
    conflicts: [],
    contested: [],
    capacity: 0,
    allocated: 0,
    free: 0,
  };
  const pool4 = network.v4 ? newPool(network.v4) : undefined;
  const pool6 = network.v6 ? newPool(network.v6) : undefined;
  if (pool4) summary.capacity = Number(pool4.capacity);
  if (pool6) summary.ipv6Capacity = pool6.capacity.toString();
  const nodeByName = new Map<string, NodeLike>();
  for (const n of nodes) if (n.metadata.name) nodeByName.set(n.metadata.name, n);

  // 1. Existing leases claim their subnets, oldest first.
  const sorted = [...leases].sort((a, b) =>
    byAge(
      { created: timeOf(a.metadata.creationTimestamp), name: a.metadata.name ?? '' },
      { created: timeOf(b.metadata.creationTimestamp), name: b.metadata.name ?? '' },
    ),
  );
  const conflicted = new Set<string>();
  for (const l of sorted) {
    const name = l.metadata.name ?? '';
    for (const [pool, subnet] of [
      [pool4, l.spec.subnet],
      [pool6, l.spec.ipv6Subnet],
    ] as const) {
      if (!subnet) continue;
      if (!pool) {
        conflicted.add(name);
        continue;
      }
      const r = pool.claim(subnet, name);
      if (r === 'ok') continue;
      conflicted.add(name);
      const holder = r === 'taken' ? pool.holder(subnet) : undefined;
      events.push({
        target: 'lease',
        name,
        uid: l.metadata.uid,
        type: 'Warning',
        reason: 'SubnetConflict',
        note:
          r === 'taken'
            ? `subnet ${subnet} is also held by older lease ${holder}; this lease is ignored until resolved`
            : `subnet ${subnet} is not a /${pool.subnetLen} subnet of ${formatCidr(pool.network)} (${r})`,
      });
    }
  }
  summary.conflicts = [...conflicted].sort();
  const waiting = new Set<string>();
  for (const l of pending) {
    if (l.spec.subnet) pool4?.claim(l.spec.subnet, l.metadata.name ?? '');
    if (l.spec.ipv6Subnet) pool6?.claim(l.spec.ipv6Subnet, l.metadata.name ?? '');
    waiting.add(l.spec.nodeName);
  }

  // 2. Decide per lease: keep, release, or fix the node.
  const leaseOfNode = new Map<string, SubnetLease>();
  for (const l of sorted) {
    const name = l.metadata.name ?? '';
    const nodeName = l.spec.nodeName;
    const node = nodeByName.get(nodeName);
    const release = (reason: string): void => {
      actions.push({
        type: 'deleteLease',
        name,
        uid: l.metadata.uid,
        nodeName,
        reason,
        subnet: l.spec.subnet ?? l.spec.ipv6Subnet,
      });
    };
    if (!node || node.metadata.deletionTimestamp) {
      release('NodeDeleted');
      continue;
    }
    const ownerUid = leaseNodeUid(l);
    if (ownerUid && node.metadata.uid && ownerUid !== node.metadata.uid) {
      release('NodeReplaced');
      continue;
    }
    const owner = ownerOf(node, allNetworks);
    if (owner?.name !== network.name) {
      release('NodeNotSelected');
      continue;
    }
    if (leaseOfNode.has(nodeName)) {
      // A second lease for one node (e.g. written by hand): keep the canonical/older one.
      release('DuplicateLease');
      continue;
    }
    leaseOfNode.set(nodeName, l);
    if (conflicted.has(name)) continue;
    const have = nodeCidrs(node);
    if (!have.any) {
      const cidrs = [l.spec.subnet, l.spec.ipv6Subnet].filter((x): x is string => !!x);
      if (cidrs.length) actions.push({ type: 'patchNode', nodeName, podCIDRs: cidrs });
      continue;
    }
    const v4ok = !pool4 || !have.v4 || sameCidr(have.v4, l.spec.subnet);
    const v6ok = !pool6 || !have.v6 || sameCidr(have.v6, l.spec.ipv6Subnet);
    if (!v4ok || !v6ok) {
      const nodeValue = [have.v4, have.v6].filter(Boolean).join(',');
      const inside =
        (!have.v4 || !pool4 || pool4.containsCidr(have.v4)) &&
        (!have.v6 || !pool6 || pool6.containsCidr(have.v6));
      if (inside) {
        // The node's podCIDR is immutable: re-lease to match it (adopted on the next pass).
        release('PodCIDRMismatch');
        events.push({
          target: 'node',
          name: nodeName,
          uid: node.metadata.uid,
          type: 'Warning',
          reason: 'PodCIDRMismatch',
          note: `node podCIDR ${nodeValue} differs from lease ${name}; re-leasing the node's podCIDR`,
        });
      } else {
        events.push({
          target: 'node',
          name: nodeName,
          uid: node.metadata.uid,
          type: 'Warning',
          reason: 'PodCIDROutsideNetwork',
          note: `node podCIDR ${nodeValue} is outside FlannelNetwork ${network.name}; node keeps lease ${name}`,
        });
      }
    }
  }
  const released = new Set(
    actions.filter((a) => a.type === 'deleteLease').map((a) => (a as { name: string }).name),
  );
  for (const [nodeName, l] of leaseOfNode) {
    if (released.has(l.metadata.name ?? '')) leaseOfNode.delete(nodeName);
  }

  // 3. Nodes this network serves that lack a lease: adopt their podCIDR or allocate.
  const served = nodes
    .filter((n) => n.metadata.name && !n.metadata.deletionTimestamp)
    .map((n) => ({ n, name: n.metadata.name!, created: timeOf(n.metadata.creationTimestamp) }))
    .sort(byAge);
  for (const { n: node, name: nodeName } of served) {
    if (!matchesSelector(network.spec?.nodeSelector, node.metadata.labels)) continue;
    const owner = ownerOf(node, allNetworks);
    if (owner && owner.name !== network.name) {
      summary.contested.push(nodeName);
      if (summary.contested.length > MAX_NODE_EVENTS) continue;
      events.push({
        target: 'node',
        name: nodeName,
        uid: node.metadata.uid,
        type: 'Warning',
        reason: 'NodeSelectedByMultipleNetworks',
        note: `node is selected by FlannelNetworks ${owner.name} and ${network.name}; the older, ${owner.name}, serves it`,
      });
      continue;
    }
    if (network.refused) continue;
    summary.nodes++;
    const existing = leaseOfNode.get(nodeName);
    if (existing) {
      if (!conflicted.has(existing.metadata.name ?? '')) summary.leased++;
      continue;
    }
    if (released.has(leaseName(network.name, nodeName))) continue; // re-leased after deletion lands
    if (waiting.has(nodeName)) continue; // a create with unknown outcome is settled first
    const have = nodeCidrs(node);
    const name = leaseName(network.name, nodeName);
    const lease: PlannedLease = { name, nodeName, nodeUid: node.metadata.uid, adopted: false };
    let problem: string | undefined;
    let exhausted = false;
    const take = (
      pool: SubnetPool | undefined,
      current: string | undefined,
      fam: 'IPv4' | 'IPv6',
    ): string | undefined => {
      if (!pool) return undefined;
      if (current) {
        const r = pool.claim(current, name);
        if (r === 'ok') {
          lease.adopted = true;
          return current;
        }
        problem =
          r === 'outside'
            ? `node podCIDR ${current} is outside ${fam} network ${formatCidr(pool.network)} of FlannelNetwork ${network.name}; node skipped`
            : r === 'taken'
              ? `node podCIDR ${current} is already leased to ${pool.holder(current)}; node skipped`
              : `node podCIDR ${current} is not a /${pool.subnetLen} subnet of ${formatCidr(pool.network)}; node skipped`;
        return undefined;
      }
      // No podCIDR of this family: allocate (the node is patched only when it has none at all).
      const s = pool.allocate(name);
      if (!s) exhausted = true;
      return s;
    };
    lease.subnet = take(pool4, have.v4, 'IPv4');
    lease.ipv6Subnet = take(pool6, have.v6, 'IPv6');
    if (!problem && have.any && !have.v4 && !have.v6) {
      problem = `node podCIDR ${(node.spec?.podCIDRs ?? [node.spec?.podCIDR]).join(',')} is malformed; node skipped`;
    }
    if (problem || exhausted) {
      if (lease.subnet && pool4) pool4.release(lease.subnet, name);
      if (lease.ipv6Subnet && pool6) pool6.release(lease.ipv6Subnet, name);
      if (problem) {
        summary.skipped++;
        events.push({
          target: 'node',
          name: nodeName,
          uid: node.metadata.uid,
          type: 'Warning',
          reason: problem.includes('outside') ? 'PodCIDROutsideNetwork' : 'PodCIDRConflict',
          note: problem,
        });
      } else {
        summary.exhausted++;
      }
      continue;
    }
    summary.leased++;
    const patch = !have.any
      ? [lease.subnet, lease.ipv6Subnet].filter((x): x is string => !!x)
      : undefined;
    actions.push({
      type: 'createLease',
      lease,
      patchNode: patch && patch.length ? patch : undefined,
    });
  }
  if (summary.exhausted > 0) {
    events.push({
      target: 'network',
      name: network.name,
      uid: network.uid,
      type: 'Warning',
      reason: 'NetworkExhausted',
      note: `no free subnet for ${summary.exhausted} node(s): all ${summary.capacity || summary.ipv6Capacity} subnets are leased`,
    });
  }
  if (summary.contested.length > 0) {
    events.push({
      target: 'network',
      name: network.name,
      uid: network.uid,
      type: 'Warning',
      reason: 'NodeSelectedByMultipleNetworks',
      note: `${summary.contested.length} selected node(s) are served by older networks (e.g. ${summary.contested.slice(0, 3).join(', ')})`,
    });
  }
  if (network.refused) {
    events.push({
      target: 'network',
      name: network.name,
      uid: network.uid,
      type: 'Warning',
      reason: network.refused.reason,
      note: network.refused.message,
    });
  }
  summary.allocated = pool4 ? pool4.allocated : 0;
  summary.free = pool4 ? Number(pool4.free) : 0;
  if (pool6) summary.ipv6Allocated = pool6.allocated;
  return { actions, events, summary };
}

/** The SubnetLease object for a planned lease. */
export function leaseObject(
  network: PreparedNetwork,
  lease: PlannedLease,
): SubnetLease & { apiVersion: string; kind: string } {
  const owners: NonNullable<SubnetLease['metadata']['ownerReferences']> = [];
  if (network.uid) {
    owners.push({
      apiVersion: API_VERSION,
      kind: FLANNEL_NETWORK.kind,
      name: network.name,
      uid: network.uid,
      controller: true,
    });
  }
  if (lease.nodeUid)
    owners.push({ apiVersion: 'v1', kind: 'Node', name: lease.nodeName, uid: lease.nodeUid });
  const spec: SubnetLease['spec'] = { nodeName: lease.nodeName, networkName: network.name };
  if (lease.subnet) spec.subnet = lease.subnet;
  if (lease.ipv6Subnet) spec.ipv6Subnet = lease.ipv6Subnet;
  return {
    apiVersion: API_VERSION,
    kind: 'SubnetLease',
    metadata: {
      name: lease.name,
      labels: {
        [LABEL_NETWORK]: labelValue(network.name),
        [LABEL_NODE]: labelValue(lease.nodeName),
      },
      ...(lease.adopted ? { annotations: { 'network.flannel-operator.io/adopted': 'true' } } : {}),
      ownerReferences: owners,
    },
    spec,
  };
}
