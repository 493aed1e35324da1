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
import {
  LeasePool,
  cidrsOverlap,
  clipToNetwork,
  parseCidrLenient,
  formatCidr,
  PoolConfigError,
  type ClaimResult,
} from './pool.js';
import { matchesSelector } from '../kube/selector.js';

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
  /** InternalIP/ExternalIP only: what a lease's publicIP is checked against. */
  status?: { addresses?: Array<{ type: string; address: string }> };
}

export type DegradedReason =
  'InvalidSpec' | 'OverlappingNetwork' | 'NetworkExhausted' | 'SubnetConflict' | 'UnusablePodCIDR';

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

/** Why a lease's subnet cannot be claimed, naming what it conflicts with. */
export function claimConflictNote(
  r: Exclude<ClaimResult, 'ok'>,
  subnet: string,
  pool: LeasePool,
  holder: string | undefined,
): string {
  const net = formatCidr(pool.network);
  const why = {
    taken: `is also held by older lease ${holder ?? '?'}`,
    reserved: `lies in spec.reservedSubnets of ${net}`,
    outside: `lies outside ${net} (or outside its subnetMin..subnetMax range)`,
    misaligned: `is not a /${pool.subnetLen} subnet of ${net}`,
  }[r];
  return `subnet ${subnet} ${why}; this lease is ignored until resolved`;
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

export function newPool(cfg: NonNullable<PreparedNetwork['v4']>): LeasePool {
  return new LeasePool({
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
      (parseCidrLenient(r).family === 4 ? reserved4 : reserved6).push(r);
    const out: PreparedNetwork = { ...base, spec };
    if (spec.network) {
      if (parseCidrLenient(spec.network).family !== 4)
        throw new PoolConfigError(`spec.network ${spec.network} is not IPv4`);
      const p = new LeasePool({
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
      if (parseCidrLenient(spec.ipv6Network).family !== 6)
        throw new PoolConfigError(`spec.ipv6Network ${spec.ipv6Network} is not IPv6`);
      const p = new LeasePool({
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
    const mine = [n.v4?.network, n.v6?.network]
      .filter((x): x is string => !!x)
      .map((c) => parseCidrLenient(c));
    const clash = accepted.find((o) =>
      [o.v4?.network, o.v6?.network].some(
        (c) => c && mine.some((m) => cidrsOverlap(m, parseCidrLenient(c))),
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
  /** Served nodes whose lease is one of `conflicts`. */
  conflictedNodes: number;
  /** Leases flagged for sharing a subnet with an older lease (or lying outside the network). */
  conflicts: string[];
  /**
   * "node: why" for every node whose podCIDR this network cannot lease: served nodes skipped,
   * and Nodes sharing a podCIDR inside the network with another Node.
   */
  podCIDRProblems: string[];
  /** Nodes selected here but served by an older network. */
  contested: string[];
  capacity: number;
  /** All held subnets: leases, podCIDRs of Nodes without a lease, adopted ones outside subnetMin..subnetMax. */
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

type Family = 'IPv4' | 'IPv6';

/** Every podCIDR a Node lists (spec.podCIDRs, else spec.podCIDR). */
function podCIDRsOf(node: NodeLike): string[] {
  if (node.spec?.podCIDRs?.length) return node.spec.podCIDRs;
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

function nodeCidrs(node: NodeLike): { v4?: string; v6?: string; any: boolean } {
  const list = podCIDRsOf(node);
  let v4: string | undefined;
  let v6: string | undefined;
  for (const c of list) {
    try {
      const p = parseCidrLenient(c);
      if (p.family === 4) v4 ??= c;
      else v6 ??= c;
    } catch {
      /* a malformed podCIDR is reported by the caller as outside the network */
    }
  }
  return { v4, v6, any: list.length > 0 };
}

/** Canonical text of a CIDR (host bits cleared), so "equal" podCIDRs compare equal. */
function canonical(cidr: string): string {
  try {
    return formatCidr(parseCidrLenient(cidr));
  } catch {
    return cidr;
  }
}

function sameCidr(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return a === b;
  try {
    const x = parseCidrLenient(a);
    const y = parseCidrLenient(b);
    return x.family === y.family && x.addr === y.addr && x.prefix === y.prefix;
  } catch {
    return a === b;
  }
}

function leaseNodeUid(lease: SubnetLease): string | undefined {
  return lease.metadata.ownerReferences?.find((r) => r.kind === 'Node' && r.apiVersion === 'v1')
    ?.uid;
}

/** Leases, oldest first (each timestamp parsed once, not per comparison). */
function leasesByAge(leases: SubnetLease[]): SubnetLease[] {
  return leases
    .map((lease) => ({
      lease,
      name: lease.metadata.name ?? '',
      created: timeOf(lease.metadata.creationTimestamp),
    }))
    .sort(byAge)
    .map((x) => x.lease);
}

type AgedNode = { node: NodeLike; name: string; created: number };

/** Named Nodes, oldest first. */
function nodesByAge(nodes: NodeLike[]): AgedNode[] {
  return nodes
    .filter((n) => n.metadata.name)
    .map((node) => ({
      node,
      name: node.metadata.name!,
      created: timeOf(node.metadata.creationTimestamp),
    }))
    .sort(byAge);
}

/** Pool holder of a Node's podCIDR while the node has no lease on it ("/" never occurs in lease names). */
const nodeHolder = (nodeName: string): string => `node/${nodeName}`;

/** What one planNetwork call works on; the phases below fill it in order. */
interface PlanState {
  network: PreparedNetwork;
  allNetworks: PreparedNetwork[];
  pool4?: LeasePool;
  pool6?: LeasePool;
  nodeByName: Map<string, NodeLike>;
  /** Named Nodes, oldest first. */
  nodesByAge: AgedNode[];
  /** This network's leases, oldest first. */
  leases: SubnetLease[];
  /** Lease name (existing or pending) -> its node. */
  leaseNodes: Map<string, string>;
  /** Node podCIDRs that overlap the network without being one of its subnets: reserved whole. */
  misfits: Array<{ node: string; cidr: string }>;
  /** Canonical podCIDR inside the network -> the Nodes holding it, oldest first. */
  podCIDRNodes: Map<string, string[]>;
  conflicted: Set<string>;
  /** Nodes with a lease create of unknown outcome. */
  waiting: Set<string>;
  leaseOfNode: Map<string, SubnetLease>;
  /** Leases released this pass: their subnets stay taken until the deletion lands. */
  released: Set<string>;
  /** Nodes already reported in podCIDRProblems. */
  reported: Set<string>;
  actions: Action[];
  events: PlannedEvent[];
  summary: PlanSummary;
}

/**
 * Decides, without I/O, what one network needs: leases to create (new or adopted podCIDRs),
 * node podCIDRs to set, leases to release, and events to report.
 *
 * Safety rules:
 *  - every existing lease of the network claims its subnet first (oldest lease wins a clash),
 *    so a subnet in any lease is never handed out again — also for leases about to be deleted;
 *  - a node's podCIDR is immutable once set, so the node's value wins over a lease's, and every
 *    Node's podCIDR inside the network (selected or not, leased or not) is taken before anything
 *    is allocated: a subnet stays with its Node while that Node exists;
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
  const st = newPlanState(network, allNetworks, nodes, leases);
  claimLeases(st);
  claimPending(st, pending);
  claimNodePodCIDRs(st);
  reviewLeases(st);
  serveNodes(st);
  reportSharedPodCIDRs(st);
  finishSummary(st);
  return { actions: st.actions, events: st.events, summary: st.summary };
}

function newPlanState(
  network: PreparedNetwork,
  allNetworks: PreparedNetwork[],
  nodes: NodeLike[],
  leases: SubnetLease[],
): PlanState {
  const misfits: PlanState['misfits'] = [];
  const pool4 = network.v4 ? poolWithMisfits(network.v4, nodes, misfits) : undefined;
  const pool6 = network.v6 ? poolWithMisfits(network.v6, nodes, misfits) : undefined;
  const summary: PlanSummary = {
    nodes: 0,
    leased: 0,
    exhausted: 0,
    skipped: 0,
    conflictedNodes: 0,
    conflicts: [],
    podCIDRProblems: [],
    contested: [],
    capacity: 0,
    allocated: 0,
    free: 0,
  };
  if (pool4) summary.capacity = Number(pool4.capacity);
  if (pool6) summary.ipv6Capacity = pool6.capacity.toString();
  const nodeByName = new Map<string, NodeLike>();
  for (const n of nodes) if (n.metadata.name) nodeByName.set(n.metadata.name, n);
  return {
    network,
    allNetworks,
    pool4,
    pool6,
    nodeByName,
    nodesByAge: nodesByAge(nodes),
    leases: leasesByAge(leases),
    leaseNodes: new Map(),
    misfits,
    podCIDRNodes: new Map(),
    conflicted: new Set(),
    waiting: new Set(),
    leaseOfNode: new Map(),
    released: new Set(),
    reported: new Set(),
    actions: [],
    events: [],
    summary,
  };
}

/**
 * A pool that also reserves every Node podCIDR overlapping the network without being exactly one
 * of its subnets (wrong size, host bits set, wider than the network): nothing is allocated on
 * top of addresses a Node already uses.
 */
function poolWithMisfits(
  cfg: NonNullable<PreparedNetwork['v4']>,
  nodes: NodeLike[],
  misfits: PlanState['misfits'],
): LeasePool {
  const network = parseCidrLenient(cfg.network);
  const extra: string[] = [];
  for (const n of nodes) {
    for (const c of podCIDRsOf(n)) {
      const inside = clipToNetwork(c, network);
      if (!inside) continue;
      const p = parseCidrLenient(c);
      if (p.exact && p.prefix === cfg.subnetLen) continue; // a subnet: claimed, not reserved
      extra.push(inside);
      misfits.push({ node: n.metadata.name ?? '', cidr: c });
    }
  }
  return newPool(extra.length ? { ...cfg, reserved: [...cfg.reserved, ...extra] } : cfg);
}

/** The network's pools with their lease fields and family names. */
function poolsOf(st: PlanState): Array<[LeasePool, 'subnet' | 'ipv6Subnet', Family]> {
  const out: Array<[LeasePool, 'subnet' | 'ipv6Subnet', Family]> = [];
  if (st.pool4) out.push([st.pool4, 'subnet', 'IPv4']);
  if (st.pool6) out.push([st.pool6, 'ipv6Subnet', 'IPv6']);
  return out;
}

/** Phase 1: existing leases claim their subnets, oldest first; a clash flags the newer lease. */
function claimLeases(st: PlanState): void {
  for (const l of st.leases) {
    const name = l.metadata.name ?? '';
    st.leaseNodes.set(name, l.spec.nodeName);
    for (const [pool, subnet] of [
      [st.pool4, l.spec.subnet],
      [st.pool6, l.spec.ipv6Subnet],
    ] as const) {
      if (!subnet) continue;
      if (!pool) {
        st.conflicted.add(name);
        continue;
      }
      const r = pool.claim(subnet, name);
      if (r === 'ok') continue;
      st.conflicted.add(name);
      const holder = r === 'taken' ? pool.holder(subnet) : undefined;
      st.events.push({
        target: 'lease',
        name,
        uid: l.metadata.uid,
        type: 'Warning',
        reason: 'SubnetConflict',
        note: claimConflictNote(r, subnet, pool, holder),
      });
    }
  }
  st.summary.conflicts = [...st.conflicted].sort();
}

/** Phase 2: creates with unknown outcome keep their subnets taken; their nodes wait. */
function claimPending(st: PlanState, pending: SubnetLease[]): void {
  for (const l of pending) {
    const name = l.metadata.name ?? '';
    st.leaseNodes.set(name, l.spec.nodeName);
    if (l.spec.subnet) st.pool4?.claim(l.spec.subnet, name);
    if (l.spec.ipv6Subnet) st.pool6?.claim(l.spec.ipv6Subnet, name);
    st.waiting.add(l.spec.nodeName);
  }
}

/**
 * Phase 3: the podCIDR of every Node (selected or not, also terminating: it exists until it is
 * gone) inside the network is taken, oldest Node first, before anything is allocated.
 */
function claimNodePodCIDRs(st: PlanState): void {
  for (const { node, name } of st.nodesByAge) {
    for (const c of podCIDRsOf(node)) {
      const pool = [st.pool4, st.pool6].find((p) => p?.containsCidr(c));
      if (!pool) continue;
      const key = canonical(c);
      st.podCIDRNodes.set(key, [...(st.podCIDRNodes.get(key) ?? []), name]);
      pool.claim(c, nodeHolder(name)); // 'taken' (a lease, or a shared podCIDR) is sorted out later
    }
  }
}

/** The node a pool holder stands for (a lease's node, or the Node holding its podCIDR). */
function holderNode(st: PlanState, holder: string | undefined): string | undefined {
  if (holder === undefined) return undefined;
  return holder.startsWith('node/') ? holder.slice(5) : st.leaseNodes.get(holder);
}

/** Other Nodes whose podCIDR is `cidr`. */
function otherNodesWith(st: PlanState, cidr: string | undefined, nodeName: string): string[] {
  if (!cidr) return [];
  return (st.podCIDRNodes.get(canonical(cidr)) ?? []).filter((n) => n !== nodeName);
}

function release(st: PlanState, l: SubnetLease, reason: string): void {
  const name = l.metadata.name ?? '';
  st.released.add(name);
  st.actions.push({
    type: 'deleteLease',
    name,
    uid: l.metadata.uid,
    nodeName: l.spec.nodeName,
    reason,
    subnet: l.spec.subnet ?? l.spec.ipv6Subnet,
  });
}

/** Why a lease must go regardless of subnets, or undefined when its node still wants it. */
function releaseReason(st: PlanState, l: SubnetLease): string | undefined {
  const node = st.nodeByName.get(l.spec.nodeName);
  if (!node || node.metadata.deletionTimestamp) return 'NodeDeleted';
  const ownerUid = leaseNodeUid(l);
  if (ownerUid && node.metadata.uid && ownerUid !== node.metadata.uid) return 'NodeReplaced';
  if (ownerOf(node, st.allNetworks)?.name !== st.network.name) return 'NodeNotSelected';
  // A second lease for one node (e.g. written by hand): keep the canonical/older one.
  if (st.leaseOfNode.has(l.spec.nodeName)) return 'DuplicateLease';
  return undefined;
}

/** Phase 4: per lease, keep it, release it, or set its node's podCIDR. */
function reviewLeases(st: PlanState): void {
  for (const l of st.leases) {
    const reason = releaseReason(st, l);
    if (reason) {
      release(st, l, reason);
      continue;
    }
    st.leaseOfNode.set(l.spec.nodeName, l);
    if (!st.conflicted.has(l.metadata.name ?? '')) matchNode(st, l);
  }
  for (const [nodeName, l] of st.leaseOfNode) {
    if (st.released.has(l.metadata.name ?? '')) st.leaseOfNode.delete(nodeName);
  }
}

/** Brings a kept lease and its node's podCIDR together (the node's immutable value wins). */
function matchNode(st: PlanState, l: SubnetLease): void {
  const name = l.metadata.name ?? '';
  const nodeName = l.spec.nodeName;
  const node = st.nodeByName.get(nodeName)!;
  const have = nodeCidrs(node);
  if (!have.any) {
    const cidrs = [l.spec.subnet, l.spec.ipv6Subnet].filter((x): x is string => !!x);
    const owner = cidrs.map((c) => [c, otherNodesWith(st, c, nodeName)[0]]).find(([, o]) => o);
    if (owner) {
      // Another Node got this subnet as its (immutable) podCIDR: it keeps it, this node re-leases.
      release(st, l, 'PodCIDRTakenByNode');
      warnNode(
        st,
        node,
        'PodCIDRTakenByNode',
        `lease ${name} holds ${owner[0]}, which is node ${owner[1]}'s podCIDR; releasing it so that this node gets another subnet`,
      );
    } else if (cidrs.length) st.actions.push({ type: 'patchNode', nodeName, podCIDRs: cidrs });
    return;
  }
  const v4ok = !st.pool4 || !have.v4 || sameCidr(have.v4, l.spec.subnet);
  const v6ok = !st.pool6 || !have.v6 || sameCidr(have.v6, l.spec.ipv6Subnet);
  if (v4ok && v6ok) return;
  const nodeValue = [have.v4, have.v6].filter(Boolean).join(',');
  const inside =
    (!have.v4 || !st.pool4 || st.pool4.containsCidr(have.v4)) &&
    (!have.v6 || !st.pool6 || st.pool6.containsCidr(have.v6));
  if (inside) {
    // The node's podCIDR is immutable: re-lease to match it (adopted on the next pass).
    release(st, l, 'PodCIDRMismatch');
    warnNode(
      st,
      node,
      'PodCIDRMismatch',
      `node podCIDR ${nodeValue} differs from lease ${name}; re-leasing the node's podCIDR`,
    );
  } else {
    warnNode(
      st,
      node,
      'PodCIDROutsideNetwork',
      `node podCIDR ${nodeValue} is outside FlannelNetwork ${st.network.name}; node keeps lease ${name}`,
    );
  }
}

/** Phase 5: served nodes without a lease adopt their podCIDR or get the lowest free subnet. */
function serveNodes(st: PlanState): void {
  const { network, summary } = st;
  for (const { node, name: nodeName } of st.nodesByAge) {
    if (node.metadata.deletionTimestamp) continue;
    if (!matchesSelector(network.spec?.nodeSelector, node.metadata.labels)) continue;
    const owner = ownerOf(node, st.allNetworks);
    if (owner && owner.name !== network.name) {
      noteContested(st, node, owner.name);
      continue;
    }
    if (network.refused) continue;
    summary.nodes++;
    const existing = st.leaseOfNode.get(nodeName);
    if (existing) {
      if (st.conflicted.has(existing.metadata.name ?? '')) summary.conflictedNodes++;
      else summary.leased++;
      continue;
    }
    if (st.released.has(leaseName(network.name, nodeName))) continue; // re-leased after deletion lands
    if (st.waiting.has(nodeName)) continue; // a create with unknown outcome is settled first
    const r = planLease(st, node, nodeName);
    if ('lease' in r) {
      summary.leased++;
      st.actions.push({ type: 'createLease', lease: r.lease, patchNode: r.patchNode });
    } else if ('problem' in r) {
      summary.skipped++;
      skipNode(st, node, r.reason, r.problem, 'node skipped');
    } else if ('exhausted' in r) summary.exhausted++;
  }
}

function noteContested(st: PlanState, node: NodeLike, owner: string): void {
  const nodeName = node.metadata.name ?? '';
  st.summary.contested.push(nodeName);
  if (st.summary.contested.length > MAX_NODE_EVENTS) return;
  warnNode(
    st,
    node,
    'NodeSelectedByMultipleNetworks',
    `node is selected by FlannelNetworks ${owner} and ${st.network.name}; the older, ${owner}, serves it`,
  );
}

/** Queues a Warning Event about a Node. */
function warnNode(st: PlanState, node: NodeLike, reason: string, note: string): void {
  const name = node.metadata.name ?? '';
  st.events.push({ target: 'node', name, uid: node.metadata.uid, type: 'Warning', reason, note });
}

/** Records a node whose podCIDR cannot be leased: an Event and a line of the Degraded message. */
function skipNode(
  st: PlanState,
  node: NodeLike,
  reason: string,
  problem: string,
  outcome: string,
): void {
  const nodeName = node.metadata.name ?? '';
  st.reported.add(nodeName);
  st.summary.podCIDRProblems.push(`${nodeName}: ${problem}`);
  warnNode(st, node, reason, `${problem}; ${outcome}`);
}

type LeasePlan =
  | { lease: PlannedLease; patchNode?: string[] }
  | { problem: string; reason: 'PodCIDROutsideNetwork' | 'PodCIDRConflict' }
  | { exhausted: true }
  /** Its podCIDR is held by a lease released this pass: adopted once the deletion lands. */
  | { wait: true };

/** The lease a served node without one gets (all families), or why it gets none this pass. */
function planLease(st: PlanState, node: NodeLike, nodeName: string): LeasePlan {
  const have = nodeCidrs(node);
  if (have.any && !have.v4 && !have.v6) {
    const list = podCIDRsOf(node).join(',');
    return { problem: `node podCIDR ${list} is malformed`, reason: 'PodCIDRConflict' };
  }
  const name = leaseName(st.network.name, nodeName);
  const lease: PlannedLease = { name, nodeName, nodeUid: node.metadata.uid, adopted: false };
  const taken: Array<[LeasePool, string, string | undefined]> = [];
  for (const [pool, field, fam] of poolsOf(st)) {
    const current = fam === 'IPv4' ? have.v4 : have.v6;
    const r = takeSubnet(st, pool, current, name, nodeName, fam);
    if (!('subnet' in r)) {
      // Give back what this node took in the other family (its own podCIDR stays its own).
      for (const [p, s, cur] of taken) {
        p.release(s, name);
        if (cur) p.claim(cur, nodeHolder(nodeName));
      }
      return r;
    }
    taken.push([pool, r.subnet, current]);
    lease[field] = r.subnet;
    if (current) lease.adopted = true;
  }
  // Only a node with no podCIDR at all is patched (one family may be allocated without a patch).
  const patch = !have.any
    ? [lease.subnet, lease.ipv6Subnet].filter((x): x is string => !!x)
    : undefined;
  return { lease, patchNode: patch && patch.length ? patch : undefined };
}

/** One family's subnet for a new lease: the node's podCIDR when it has one, else the lowest free. */
function takeSubnet(
  st: PlanState,
  pool: LeasePool,
  current: string | undefined,
  name: string,
  nodeName: string,
  fam: Family,
): { subnet: string } | Exclude<LeasePlan, { lease: PlannedLease }> {
  if (!current) {
    const s = pool.allocate(name);
    return s ? { subnet: s } : { exhausted: true };
  }
  const holder = pool.holder(current);
  if (holder === nodeHolder(nodeName))
    pool.release(current, holder); // its own podCIDR: adopt
  else if (holder !== undefined && st.released.has(holder)) return { wait: true };
  const r = pool.claim(current, name);
  if (r === 'ok') return { subnet: current };
  const net = formatCidr(pool.network);
  if (r === 'outside') {
    return {
      reason: 'PodCIDROutsideNetwork',
      problem: `node podCIDR ${current} is outside ${fam} network ${net} of FlannelNetwork ${st.network.name}`,
    };
  }
  return { reason: 'PodCIDRConflict', problem: podCIDRConflict(st, pool, current, nodeName, r) };
}

/** Why a node's podCIDR inside the network cannot be leased to it. */
function podCIDRConflict(
  st: PlanState,
  pool: LeasePool,
  current: string,
  nodeName: string,
  r: ClaimResult,
): string {
  const sharer = otherNodesWith(st, current, nodeName)[0];
  if (sharer)
    return `node podCIDR ${current} is also node ${sharer}'s podCIDR (Node.spec.podCIDR is immutable: re-create one of them)`;
  if (r === 'taken') return `node podCIDR ${current} is already leased to ${pool.holder(current)}`;
  if (r === 'misaligned')
    return `node podCIDR ${current} is not a /${pool.subnetLen} subnet of ${formatCidr(pool.network)}`;
  const c = parseCidrLenient(current);
  const misfit = st.misfits.find(
    (m) => m.node !== nodeName && clipToNetwork(m.cidr, c) !== undefined,
  );
  return misfit
    ? `node podCIDR ${current} overlaps node ${misfit.node}'s podCIDR ${misfit.cidr}`
    : `node podCIDR ${current} lies in spec.reservedSubnets of FlannelNetwork ${st.network.name}`;
}

/**
 * Phase 6: Nodes sharing a podCIDR inside the network that phase 5 did not report (not served
 * here): the first holder keeps it, the others are an admin's error to surface.
 */
function reportSharedPodCIDRs(st: PlanState): void {
  if (st.network.refused) return;
  for (const [cidr, names] of st.podCIDRNodes) {
    if (names.length < 2) continue;
    const pool = [st.pool4, st.pool6].find((p) => p?.containsCidr(cidr))!;
    const keeper = holderNode(st, pool.holder(cidr)) ?? names[0]!;
    for (const n of names) {
      if (n === keeper || st.reported.has(n)) continue;
      const node = st.nodeByName.get(n);
      skipNode(
        st,
        node ?? { metadata: { name: n } },
        'PodCIDRConflict',
        `node podCIDR ${cidr} is also node ${keeper}'s podCIDR (Node.spec.podCIDR is immutable: re-create one of them)`,
        `it stays with ${keeper}`,
      );
    }
  }
}

/** Phase 7: network-wide events and the pool numbers. */
function finishSummary(st: PlanState): void {
  const { network, summary } = st;
  const warn = (reason: string, note: string): void => {
    st.events.push({
      target: 'network',
      name: network.name,
      uid: network.uid,
      type: 'Warning',
      reason,
      note,
    });
  };
  if (summary.exhausted > 0) {
    warn(
      'NetworkExhausted',
      `no free subnet for ${summary.exhausted} node(s): all ${summary.capacity || summary.ipv6Capacity} subnets are leased`,
    );
  }
  if (summary.contested.length > 0) {
    warn(
      'NodeSelectedByMultipleNetworks',
      `${summary.contested.length} selected node(s) are served by older networks (e.g. ${summary.contested.slice(0, 3).join(', ')})`,
    );
  }
  if (network.refused) warn(network.refused.reason, network.refused.message);
  summary.allocated = st.pool4 ? st.pool4.allocated : 0;
  summary.free = st.pool4 ? Number(st.pool4.free) : 0;
  if (st.pool6) summary.ipv6Allocated = st.pool6.allocated;
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
