import {
  canonicalCidr,
  cidrContainsCidr,
  cidrMatcher,
  invalidCidrMessage,
  networkAddress,
  tryCanonicalCidr,
} from '../ipam/index.js';
import {
  canonicalIP,
  computeMTU,
  computeMTU6,
  deriveV6VtepMAC,
  deriveVtepMAC,
  emptyDiff,
  normalizeMac,
  peerMode,
  peerMode6,
  routeEq,
  vxlan6DeviceName,
  vxlanDeviceName,
  type DesiredState,
  type Diff,
  type FdbSpec,
  type NeighSpec,
  type NetworkConfig,
  type PeerLease,
  type PeerMode,
  type PeerPlan,
  type PendingPeer,
  type RouteSpec,
  type SelfInfo,
} from './desired.js';
import { DuplicateIndex, ownRejection, uniqueFields } from './peers.js';
import { addWireguard } from './wireguard/desired.js';

/**
 * The one builder of a node's desired state: per-peer plans, duplicate and subnet checks, and the
 * resulting kernel objects, kept so that one lease change costs the leases it is compared with.
 * Pure, like desired.ts (the model and the diff); the agent, the benchmark and `kubectl flannel
 * doctor` all build through it.
 */
/**
 * The full kernel state this node should have for one network: the IPv4 half when the network
 * has `network` (and this node an IPv4 subnet), the IPv6 half when it has `ipv6Network`.
 */
export function computeDesired(
  self: SelfInfo,
  cfg: NetworkConfig,
  leases: PeerLease[],
): DesiredState {
  return planDesired(self, cfg, leases).state();
}

/** The planner of computeDesired with every lease set: later lease changes go to planner.set. */
export function planDesired(self: SelfInfo, cfg: NetworkConfig, leases: PeerLease[]): PeerPlanner {
  return new PeerPlanner(self, cfg, leases);
}

/** The devices and pod MTU of a network, without peers. */
function deviceState(self: SelfInfo, cfg: NetworkConfig): DesiredState {
  const v4 = cfg.network !== undefined && self.subnet !== undefined;
  const state: DesiredState = {
    routes: [],
    neighbors: [],
    fdb: [],
    peers: [],
    pending: [],
    // IPv6-only: the pods' MTU is flannel-v6's (lowered further below for dual-stack).
    podMTU: v4 ? computeMTU(cfg, self.underlay.mtu) : computeMTU6(cfg, self.underlay.mtu),
  };
  if (cfg.type !== 'vxlan') return state;
  if (cfg.ipv6Network && self.subnetV6 && self.underlay.ipv6) {
    const mtu = computeMTU6(cfg, self.underlay.mtu);
    // Pods carry both families on one interface: the smaller MTU fits both tunnels.
    state.podMTU = Math.min(state.podMTU, mtu);
    state.vxlan6 = {
      name: vxlan6DeviceName(cfg.vni),
      vni: cfg.vni,
      port: cfg.port,
      local: canonicalIP(self.underlay.ipv6),
      linkIndex: self.underlay.index,
      mtu,
      mac: normalizeMac(self.v6VtepMAC ?? deriveV6VtepMAC(self.nodeName, cfg.vni)),
      address: `${networkAddress(canonicalCidr(self.subnetV6))}/128`,
    };
  }
  // Without an IPv4 underlay address there is no tunnel to build (nodeDesiredState refuses that).
  if (v4 && self.underlay.ip) {
    state.vxlan = {
      name: vxlanDeviceName(cfg.vni),
      vni: cfg.vni,
      port: cfg.port,
      // Encapsulate from the interface address; publicIP may be a NAT address peers send to.
      local: self.underlay.ip,
      linkIndex: self.underlay.index,
      mtu: computeMTU(cfg, self.underlay.mtu),
      mac: normalizeMac(self.vtepMAC ?? deriveVtepMAC(self.nodeName, cfg.vni)),
      address: `${networkAddress(canonicalCidr(self.subnet!))}/32`,
    };
  }
  return state;
}

/** The kernel objects of one programmed peer family. */
interface Programmed {
  plan: PeerPlan;
  route: RouteSpec;
  neighbor?: NeighSpec;
  fdb?: FdbSpec;
}
/** One family of one peer before the subnet check: pending, or what it would program. */
type Candidate = { pending: string } | (Programmed & { claim: string });
/** One family of one peer: not concerned (undefined), pending, or programmed. */
type Outcome = { pending: string } | Programmed | undefined;

/** A peer's objects over `dev` (vxlan) or the underlay (host-gw), gateway in canonical text. */
function programmed(
  self: SelfInfo,
  peer: string,
  subnet: string,
  mode: PeerMode,
  via: { dev: string; mac?: string; dst: string; family?: 'ipv6' },
): Programmed & { claim: string } {
  // Canonical text: the network address, the claim of the subnet (and the neighbour's address).
  const gw = subnet.slice(0, subnet.indexOf('/'));
  const plan: PeerPlan = via.family
    ? { nodeName: peer, subnet, mode, family: via.family }
    : { nodeName: peer, subnet, mode };
  if (mode === 'host-gw')
    return {
      claim: gw,
      plan,
      route: { dst: subnet, gateway: via.dst, dev: self.underlay.name, onlink: false },
    };
  const mac = normalizeMac(via.mac!);
  return {
    claim: gw,
    plan,
    neighbor: { dev: via.dev, ip: gw, mac },
    fdb: { dev: via.dev, mac, dst: via.dst },
    route: { dst: subnet, gateway: gw, dev: via.dev, onlink: true },
  };
}

/** The IPv4 half of one peer (not this node, not deleting, not rejected). */
function candidateV4(
  self: SelfInfo,
  cfg: NetworkConfig,
  peer: PeerLease,
  onUnderlay: (ip: string) => boolean,
): Candidate {
  const mode = peerMode(cfg, self, peer, onUnderlay);
  if (typeof mode === 'object') return mode;
  let subnet: string;
  try {
    subnet = canonicalCidr(peer.subnet!, 'subnet', 4);
  } catch (e) {
    return { pending: (e as Error).message };
  }
  const via = { dev: vxlanDeviceName(cfg.vni), mac: peer.vtepMAC, dst: peer.publicIP! };
  return programmed(self, peer.nodeName, subnet, mode, via);
}

/** The IPv6 half of one peer; undefined for a v4-only peer (nothing to say). */
function candidateV6(self: SelfInfo, cfg: NetworkConfig, peer: PeerLease): Candidate | undefined {
  if (!peer.ipv6Subnet && !peer.publicIPv6) return undefined;
  const mode = peerMode6(cfg, self, peer);
  if (typeof mode === 'object') return mode;
  const subnet = tryCanonicalCidr(peer.ipv6Subnet);
  if (!subnet || !cidrContainsCidr(cfg.ipv6Network!, subnet))
    return {
      pending: subnet
        ? `ipv6: ipv6Subnet ${subnet} is outside ${cfg.ipv6Network}`
        : `ipv6: ${invalidCidrMessage('ipv6Subnet', 6, peer.ipv6Subnet)}`,
    };
  const dst = canonicalIP(peer.publicIPv6!);
  const via = { dev: vxlan6DeviceName(cfg.vni), mac: peer.v6VtepMAC, dst, family: 'ipv6' as const };
  return programmed(self, peer.nodeName, subnet, mode, via);
}

/**
 * One address family of the planner. A subnet (by its network address, which is also the
 * neighbour's address) goes to the first claimant by name; this node's own is never a peer's.
 */
class FamilyPlan {
  readonly candidates = new Map<string, Candidate>();
  /** Claim -> its claimant, or claimants when several (rare: a Set only then). */
  private readonly claims = new Map<string, string | Set<string>>();
  readonly outcomes = new Map<string, Outcome>();
  /** Programmed peers by mode, and pending ones, of this family. */
  readonly modes: Record<PeerMode, number> = { vxlan: 0, 'host-gw': 0, wireguard: 0 };
  pending = 0;

  constructor(
    readonly ownClaim: string,
    readonly heldTwice: (subnet: string) => string,
    readonly candidate: (peer: PeerLease) => Candidate | undefined,
  ) {}

  /** Sets a peer's candidate; returns the peers whose outcome may change (claimants of its subnets). */
  setCandidate(node: string, c: Candidate | undefined, touched: { add(n: string): unknown }): void {
    const old = this.candidates.get(node);
    if (old && 'claim' in old) {
      const held = this.claims.get(old.claim)!;
      if (typeof held === 'string') this.claims.delete(old.claim);
      else {
        held.delete(node);
        for (const n of held) touched.add(n);
        if (held.size === 1) this.claims.set(old.claim, [...held][0]!);
      }
    }
    if (c) this.candidates.set(node, c);
    else this.candidates.delete(node);
    if (c && 'claim' in c) {
      const held = this.claims.get(c.claim);
      if (held === undefined) this.claims.set(c.claim, node);
      else {
        const set = typeof held === 'string' ? new Set([held]) : held;
        set.add(node);
        this.claims.set(c.claim, set);
        for (const n of set) touched.add(n);
      }
    }
  }

  /** Records the outcome of a node (counted). */
  setOutcome(node: string, o: Outcome): void {
    this.count(this.outcomes.get(node), -1);
    this.count(o, 1);
    if (o === undefined) this.outcomes.delete(node);
    else this.outcomes.set(node, o);
  }

  private count(o: Outcome, by: number): void {
    if (!o) return;
    if ('pending' in o) this.pending += by;
    else this.modes[o.plan.mode] += by;
  }

  outcome(node: string): Outcome {
    const c = this.candidates.get(node);
    if (!c || !('claim' in c)) return c;
    let first: string | undefined;
    const held = this.claims.get(c.claim)!;
    if (c.claim === this.ownClaim) first = undefined;
    else if (typeof held === 'string') first = held;
    else for (const n of held) if (first === undefined || n < first) first = n;
    return first === node ? c : { pending: this.heldTwice(c.plan.subnet) };
  }
}

/**
 * Objects of one kind changed since the last take, by key: the value before the first change and
 * the value now (null: none). Keys are unique across peers (one subnet, network address and VTEP
 * MAC per programmed peer), and a peer's old objects go before any new one is put, so a key
 * first seen in put() had no object.
 */
class Changes<T> {
  private readonly before = new Map<string, T | null>();
  private readonly now = new Map<string, T | null>();

  constructor(
    private readonly key: (x: T) => string,
    private readonly same: (a: T, b: T) => boolean,
  ) {}

  drop(x: T): void {
    const k = this.key(x);
    if (!this.before.has(k)) this.before.set(k, x);
    this.now.set(k, null);
  }

  put(x: T): void {
    const k = this.key(x);
    if (!this.before.has(k)) this.before.set(k, null);
    this.now.set(k, x);
  }

  take([add, replace, remove]: [T[], T[], T[]]): void {
    for (const [k, old] of this.before) {
      const x = this.now.get(k)!;
      if (!x) {
        if (old) remove.push(old);
      } else if (!old) add.push(x);
      else if (!this.same(old, x)) replace.push(x);
    }
    this.before.clear();
    this.now.clear();
  }
}

/**
 * The one builder of a node's peers (computeDesired is it with every lease set at once). Keeps
 * the per-peer plans, the duplicate and subnet checks and the resulting objects by key, so that
 * setting one lease costs the leases it is compared with (same VTEP MAC, address or subnet), not
 * all: the agent's peer pass. The objects are the same as a full build's (desired.test.ts, desired-incremental.test.ts).
 */
export class PeerPlanner {
  /** Non-wireguard networks: set() keeps the objects and the diff (wireguard: state() only). */
  readonly incremental: boolean;
  private readonly leases = new Map<string, PeerLease>();
  private readonly dups: DuplicateIndex;
  private readonly ownRejection: (p: PeerLease) => string | undefined;
  private readonly rejected = new Map<string, string>();
  /** IPv6 first, as the state lists them. */
  private readonly families: FamilyPlan[] = [];
  /** Objects changed since takeDiff. */
  private readonly changes = {
    routes: new Changes<RouteSpec>((r) => r.dst, routeEq),
    neighbors: new Changes<NeighSpec>(
      (n) => `${n.dev}|${n.ip}`,
      (a, b) => a.mac === b.mac,
    ),
    fdb: new Changes<FdbSpec>(
      (f) => `${f.dev}|${f.mac}`,
      (a, b) => a.dst === b.dst,
    ),
  };
  private cached?: DesiredState;

  /** Records what changed for takeDiff (not while the first leases are loaded). */
  private recording = false;

  constructor(
    private readonly self: SelfInfo,
    private readonly cfg: NetworkConfig,
    leases: PeerLease[] = [],
  ) {
    this.incremental = cfg.type !== 'wireguard';
    this.dups = new DuplicateIndex(uniqueFields(cfg));
    this.ownRejection = ownRejection(self);
    const onUnderlay = cidrMatcher(self.underlay.prefix);
    // WireGuard peers are device configuration, planned by state() as a whole.
    if (this.incremental && cfg.ipv6Network && self.subnetV6)
      this.families.push(
        new FamilyPlan(
          networkAddress(canonicalCidr(self.subnetV6)),
          (subnet) => `ipv6: subnet ${subnet} is held twice`,
          (p) => candidateV6(self, cfg, p),
        ),
      );
    if (this.incremental && cfg.network !== undefined && self.subnet !== undefined)
      this.families.push(
        new FamilyPlan(
          networkAddress(canonicalCidr(self.subnet)),
          (subnet) => `subnet ${subnet} is held twice`,
          (p) => candidateV4(self, cfg, p, onUnderlay),
        ),
      );
    this.setAll(leases.map((l) => [l.nodeName, l]));
    this.recording = true;
  }

  /** Sets the lease of one node (undefined: it has none); this node's own lease is not a peer. */
  set(node: string, lease: PeerLease | undefined): void {
    this.setAll([[node, lease]]);
  }

  /** set() of several leases at once: each lease, and each it is compared with, planned once. */
  setAll(entries: Array<[string, PeerLease | undefined]>): void {
    // The first leases: every one is judged and settled, no need to find who shares what.
    const first = this.leases.size === 0;
    // Whoever shares a VTEP MAC, key or address with an old or a new lease may change verdict.
    const judged = new Set<string>();
    for (const [node, lease] of entries) {
      if (node === this.self.nodeName) continue;
      const next = lease && !lease.deleting ? lease : undefined;
      if (first) {
        if (next) this.leases.set(node, next);
        continue;
      }
      const prev = this.leases.get(node);
      if (!prev && !next) continue;
      judged.add(node);
      if (prev) {
        for (const n of this.dups.sharers(prev)) judged.add(n);
        this.dups.remove(prev);
        this.leases.delete(node);
      }
      if (next) {
        this.leases.set(node, next);
        this.dups.add(next);
        for (const n of this.dups.sharers(next)) judged.add(n);
      }
    }
    if (first) for (const l of this.leases.values()) this.dups.add(l);
    const names = first ? [...this.leases.keys()] : [...judged];
    if (!names.length) return;
    this.cached = undefined;
    // Whoever claims a subnet one of those held or holds may win or lose it.
    const settled = first ? NO_ONE : new Set(judged);
    for (const n of names) {
      const p = this.leases.get(n);
      const why = p && (this.ownRejection(p) ?? (this.dups.problems(p).join('; ') || undefined));
      if (why === undefined) this.rejected.delete(n);
      else this.rejected.set(n, why);
      for (const f of this.families)
        f.setCandidate(n, p && why === undefined ? f.candidate(p) : undefined, settled);
    }
    this.settle(first ? names : (settled as Set<string>));
  }

  /** New outcomes of `nodes`: their old objects go first, so one can take over another's key. */
  private settle(nodes: Iterable<string>): void {
    if (this.recording)
      for (const f of this.families)
        for (const n of nodes) {
          const old = f.outcomes.get(n);
          if (old && 'plan' in old) this.drop(old);
        }
    for (const f of this.families)
      for (const n of nodes) {
        const o = f.outcome(n);
        f.setOutcome(n, o);
        if (o && 'plan' in o) this.put(o);
      }
  }

  private drop(o: Programmed): void {
    if (!this.recording) return;
    this.changes.routes.drop(o.route);
    if (o.neighbor) this.changes.neighbors.drop(o.neighbor);
    if (o.fdb) this.changes.fdb.drop(o.fdb);
  }

  private put(o: Programmed): void {
    if (!this.recording) return;
    this.changes.routes.put(o.route);
    if (o.neighbor) this.changes.neighbors.put(o.neighbor);
    if (o.fdb) this.changes.fdb.put(o.fdb);
  }

  /** The routes, neighbours and FDB entries that changed since the last call (devices 'ok'). */
  takeDiff(): Diff {
    const d = emptyDiff();
    this.changes.routes.take([d.addRoutes, d.replaceRoutes, d.removeRoutes]);
    this.changes.neighbors.take([d.addNeighbors, d.replaceNeighbors, d.removeNeighbors]);
    this.changes.fdb.take([d.addFdb, d.replaceFdb, d.removeFdb]);
    return d;
  }

  /** The refused peers, by name, as the state's pending list has them. */
  rejectedPeers(): PendingPeer[] {
    return [...this.rejected.keys()]
      .sort(byName)
      .map((n) => ({ nodeName: n, reason: `rejected: ${this.rejected.get(n)!}`, rejected: true }));
  }

  /**
   * Peers programmed by mode (those of the network's first family: IPv4, or IPv6 when IPv6-only),
   * all programmed peer families, and all pending entries (rejected ones included).
   */
  summary(): { modes: Record<PeerMode, number>; peers: number; pending: number } {
    if (!this.incremental) {
      const s = this.state();
      const first = s.peers.filter((p) => (this.cfg.network ? !p.family : p.family === 'ipv6'));
      const modes = { vxlan: 0, 'host-gw': 0, wireguard: 0 };
      for (const p of first) modes[p.mode]++;
      return { modes, peers: s.peers.length, pending: s.pending.length };
    }
    const sum = (f: FamilyPlan): number => f.modes.vxlan + f.modes['host-gw'] + f.modes.wireguard;
    return {
      modes: { ...(this.families.at(-1)?.modes ?? { vxlan: 0, 'host-gw': 0, wireguard: 0 }) },
      peers: this.families.reduce((n, f) => n + sum(f), 0),
      pending: this.families.reduce((n, f) => n + f.pending, this.rejected.size),
    };
  }

  /** The whole desired state, peers in name order (cached until the next set). */
  state(): DesiredState {
    if (this.cached) return this.cached;
    const state = deviceState(this.self, this.cfg);
    // Default sort: code-unit order, as byName, without a comparator call per comparison.
    const names = [...this.leases.keys()].sort();
    state.pending.push(...this.rejectedPeers());
    if (!this.incremental) {
      const accepted = names.filter((n) => !this.rejected.has(n)).map((n) => this.leases.get(n)!);
      addWireguard(state, this.self, this.cfg, accepted);
    }
    for (const f of this.families)
      for (const n of names) {
        const o = f.outcomes.get(n);
        if (!o) continue;
        if ('pending' in o) {
          state.pending.push({ nodeName: n, reason: o.pending });
          continue;
        }
        state.peers.push(o.plan);
        state.routes.push(o.route);
        if (o.neighbor) state.neighbors.push(o.neighbor);
        if (o.fdb) state.fdb.push(o.fdb);
      }
    this.cached = state;
    return state;
  }
}

/** A sink for the names of peers to settle when all of them are settled anyway. */
const NO_ONE = { add: (): void => undefined };

/** Code-unit order: node names are lowercase DNS names, where it equals localeCompare's. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
