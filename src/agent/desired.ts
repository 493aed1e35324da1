import { createHash } from 'node:crypto';
import {
  canonicalCidr,
  cidrContainsCidr,
  cidrContainsIp,
  cidrMatcher,
  invalidCidrMessage,
  networkAddress,
  tryCanonicalCidr,
  tryCanonicalIp,
} from '../ipam/index.js';
import { DuplicateIndex, ownRejection, uniqueFields } from './peers.js';
import { addWireguard, type WgDeviceSpec } from './wireguard/desired.js';

/**
 * Pure model of the kernel state the agent owns, and the diff against what the kernel has.
 * No I/O here: the agent, the benchmark and `kubectl flannel doctor` all reuse it.
 */

/** rtm_protocol the agent stamps on its routes, so they can be told apart from anyone else's. */
export const ROUTE_PROTOCOL = 157;
/** Bytes of outer headers VXLAN adds (IPv4 outer). */
export const VXLAN_OVERHEAD = 50;
/** Bytes of outer headers VXLAN adds over an IPv6 underlay (40 IPv6 + 8 UDP + 8 VXLAN + 14 Ethernet). */
export const VXLAN6_OVERHEAD = 70;

export type BackendType = 'vxlan' | 'host-gw' | 'wireguard';

export interface UnderlayInfo {
  name: string;
  index: number;
  mtu: number;
  /** IPv4 address of the underlay interface (absent on an IPv6-only underlay). */
  ip?: string;
  /** Connected prefix of that address, e.g. 10.200.0.0/24; peers inside it share our L2 segment. */
  prefix?: string;
  /** Global IPv6 address of the underlay interface (dual-stack), and its connected prefix. */
  ipv6?: string;
  prefixV6?: string;
}

export interface SelfInfo {
  nodeName: string;
  /** This node's IPv4 pod subnet, e.g. 10.244.1.0/24 (absent in an IPv6-only network). */
  subnet?: string;
  publicIP?: string;
  underlay: UnderlayInfo;
  /** MAC of flannel.<vni>. */
  vtepMAC?: string;
  /** Dual-stack: this node's IPv6 pod subnet, the v6 address peers send to, MAC of flannel-v6.<vni>. */
  subnetV6?: string;
  publicIPv6?: string;
  v6VtepMAC?: string;
  /** wireguard: this node's public key (one key pair for both devices). */
  publicKey?: string;
}

export interface NetworkConfig {
  /** IPv4 pod network; absent in an IPv6-only FlannelNetwork. */
  network?: string;
  type: BackendType;
  vni: number;
  port: number;
  directRouting: boolean;
  mtu?: number;
  /** IPv6 pod network of a dual-stack or IPv6-only FlannelNetwork. */
  ipv6Network?: string;
  /** wireguard options with their defaults applied. */
  wireguard?: WireguardConfig;
}

export interface WireguardConfig {
  listenPort: number;
  listenPortV6: number;
  /** Seconds; 0 disables. */
  keepalive: number;
  mode: 'separate' | 'auto' | 'ipv4' | 'ipv6';
  /** The network names a pre-shared key (pskSecretRef). */
  psk: boolean;
}

/** What the agent needs to know about one lease (own or remote). */
export interface PeerLease {
  nodeName: string;
  subnet?: string;
  publicIP?: string;
  vtepMAC?: string;
  ipv6Subnet?: string;
  publicIPv6?: string;
  v6VtepMAC?: string;
  /** wireguard public key the peer published. */
  publicKey?: string;
  /** Lease is being deleted: treat as gone. */
  deleting?: boolean;
  /** Lease creationTimestamp (ms): the older lease keeps a VTEP MAC two leases publish. */
  created?: number;
  /** Message of the controller's BackendRejected=True condition on the lease: never programmed. */
  rejected?: string;
}

export interface VxlanSpec {
  name: string;
  vni: number;
  port: number;
  local: string;
  linkIndex: number;
  mtu: number;
  mac: string;
  /** <subnet network address>/32 (/128 for flannel-v6.<vni>) */
  address: string;
}

export interface RouteSpec {
  /** CIDR, canonical network address. */
  dst: string;
  gateway: string;
  dev: string;
  onlink: boolean;
}
export interface NeighSpec {
  dev: string;
  ip: string;
  mac: string;
}
export interface FdbSpec {
  dev: string;
  mac: string;
  dst: string;
}

export type PeerMode = 'vxlan' | 'host-gw' | 'wireguard';
export interface PeerPlan {
  nodeName: string;
  subnet: string;
  mode: PeerMode;
  /** Set on the IPv6 half of a dual-stack peer. */
  family?: 'ipv6';
}
export interface PendingPeer {
  nodeName: string;
  reason: string;
  /** Refused as hostile or conflicting (see peers.ts), not merely incomplete. */
  rejected?: boolean;
}

export interface DesiredState {
  vxlan?: VxlanSpec;
  /** flannel-v6.<vni> of a dual-stack vxlan network. */
  vxlan6?: VxlanSpec;
  routes: RouteSpec[];
  neighbors: NeighSpec[];
  fdb: FdbSpec[];
  peers: PeerPlan[];
  pending: PendingPeer[];
  /** wireguard: flannel-wg (and flannel-wg-v6 in the separate mode) with their peers. */
  wireguard?: WgDeviceSpec[];
  /** MTU handed to pods (FLANNEL_MTU). */
  podMTU: number;
}

export function vxlanDeviceName(vni: number): string {
  return `flannel.${vni}`;
}

export function vxlan6DeviceName(vni: number): string {
  return `flannel-v6.${vni}`;
}

/** RFC 5952 text of an address ("fd00:200:0::1" -> "fd00:200::1"), as the kernel reports it. */
export function canonicalIP(ip: string): string {
  return tryCanonicalIp(ip) ?? ip;
}

export function normalizeMac(mac: string): string {
  return mac.toLowerCase();
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export function isValidMac(mac: string): boolean {
  return MAC_RE.test(mac.toLowerCase());
}

/**
 * A locally administered unicast MAC derived from node name + VNI: the same node always gets
 * the same VTEP MAC, so peers' neighbor/FDB entries stay valid across restarts and re-creations.
 */
export function deriveVtepMAC(nodeName: string, vni: number): string {
  const h = createHash('sha256').update(`${nodeName}/${vni}`).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The stable MAC of flannel-v6.<vni>: derived like the v4 one, from a different seed. */
export function deriveV6VtepMAC(nodeName: string, vni: number): string {
  return deriveVtepMAC(`${nodeName}/ipv6`, vni);
}

/** MTU of flannel.<vni> and of the pods. */
export function computeMTU(cfg: NetworkConfig, underlayMTU: number): number {
  const max = cfg.type === 'vxlan' ? underlayMTU - VXLAN_OVERHEAD : underlayMTU;
  return cfg.mtu !== undefined ? Math.min(cfg.mtu, max) : max;
}

/** MTU of flannel-v6.<vni>: the IPv6 outer header is 20 bytes larger. */
export function computeMTU6(cfg: NetworkConfig, underlayMTU: number): number {
  const max = cfg.type === 'vxlan' ? underlayMTU - VXLAN6_OVERHEAD : underlayMTU;
  return cfg.mtu !== undefined ? Math.min(cfg.mtu, max) : max;
}

/** How to reach the IPv6 half of one peer: vxlan (flannel-v6), host-gw, or pending. */
export function peerMode6(
  cfg: NetworkConfig,
  self: SelfInfo,
  peer: PeerLease,
): PeerMode | { pending: string } {
  if (!peer.ipv6Subnet) return { pending: 'ipv6: lease has no ipv6Subnet yet' };
  if (!peer.publicIPv6) return { pending: 'ipv6: peer has not published its publicIPv6' };
  const sameL2 =
    !!self.underlay.prefixV6 && cidrContainsIp(self.underlay.prefixV6, peer.publicIPv6);
  if (cfg.type === 'host-gw') {
    return sameL2
      ? 'host-gw'
      : {
          pending: `ipv6: host-gw peer ${peer.publicIPv6} is not on ${self.underlay.prefixV6 ?? 'an IPv6 underlay prefix'}`,
        };
  }
  if (cfg.directRouting && sameL2) return 'host-gw';
  if (!self.underlay.ipv6) return { pending: 'ipv6: this node has no IPv6 underlay address' };
  if (!peer.v6VtepMAC || !isValidMac(peer.v6VtepMAC))
    return { pending: 'ipv6: peer has not published its v6 VTEP MAC' };
  return 'vxlan';
}

/** How to reach one peer: vxlan, host-gw, or pending (with why). */
export function peerMode(
  cfg: NetworkConfig,
  self: SelfInfo,
  peer: PeerLease,
  onUnderlay = cidrMatcher(self.underlay.prefix),
): PeerMode | { pending: string } {
  if (!peer.subnet) return { pending: 'lease has no subnet yet' };
  if (!peer.publicIP) return { pending: 'peer has not published its publicIP' };
  const sameL2 = onUnderlay(peer.publicIP);
  if (cfg.type === 'host-gw') {
    return sameL2
      ? 'host-gw'
      : {
          pending: `host-gw peer ${peer.publicIP} is not on ${self.underlay.prefix ?? 'an IPv4 underlay prefix'}`,
        };
  }
  if (cfg.directRouting && sameL2) return 'host-gw';
  if (!peer.vtepMAC || !isValidMac(peer.vtepMAC))
    return { pending: 'peer has not published its VTEP MAC' };
  return 'vxlan';
}

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
 * all: the agent's peer pass. The objects are the same as a full build's (desired.test.ts).
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
    const names = [...this.leases.keys()].sort(byName);
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

/** Kernel objects as the reader reports them (only what the diff needs). */
export interface ActualRoute extends RouteSpec {
  protocol: number;
  table: number;
}
export interface ActualNeigh extends NeighSpec {
  permanent: boolean;
}
/** A vxlan device as read: its spec, state and (from the kernel) interface index. */
export type ActualVxlan = VxlanSpec & {
  up: boolean;
  learning: boolean;
  addresses: string[];
  index?: number;
};
export interface ActualState {
  vxlan?: ActualVxlan;
  vxlan6?: ActualVxlan;
  routes: ActualRoute[];
  neighbors: ActualNeigh[];
  fdb: FdbSpec[];
}

export interface Ownership {
  /** The IPv4 pod network and this node's IPv4 subnet (absent in an IPv6-only network). */
  network?: string;
  vxlanDev: string;
  ownSubnet?: string;
  /** Dual-stack: the IPv6 pod network, flannel-v6.<vni>, this node's IPv6 subnet. */
  network6?: string;
  vxlanDev6?: string;
  ownSubnet6?: string;
}

/**
 * Routes the agent may touch: those stamped with its protocol, and anything inside the pod network
 * on its own vxlan device (left by upstream flannel or an older agent). Everything else is the user's.
 */
export function ownsRoute(r: ActualRoute, o: Ownership): boolean {
  if (r.table !== 254) return false;
  // Kernel text the strict parser refuses (v4-mapped IPv6) is never a route the agent wrote.
  const dst = tryCanonicalCidr(r.dst);
  return !!dst && ownsRouteTo(r, dst, o);
}

/** ownsRoute of a main-table route whose destination is already canonical. */
function ownsRouteTo(r: ActualRoute, dst: string, o: Ownership): boolean {
  if (o.ownSubnet && dst === tryCanonicalCidr(o.ownSubnet)) return false;
  if (o.ownSubnet6 && dst === tryCanonicalCidr(o.ownSubnet6)) return false;
  if (r.protocol === ROUTE_PROTOCOL) return true;
  // The kernel's own routes (the /128 of flannel-v6's address) are not leftovers.
  if (r.protocol === RTPROT_KERNEL) return false;
  if (o.network && r.dev === o.vxlanDev && cidrContainsCidr(o.network, dst)) return true;
  return (
    !!o.vxlanDev6 && !!o.network6 && r.dev === o.vxlanDev6 && cidrContainsCidr(o.network6, dst)
  );
}

const RTPROT_KERNEL = 2;

export interface Diff {
  vxlan: 'ok' | 'create' | 'update' | 'delete';
  /** flannel-v6.<vni>; absent means 'ok'. */
  vxlan6?: 'ok' | 'create' | 'update' | 'delete';
  addRoutes: RouteSpec[];
  replaceRoutes: RouteSpec[];
  removeRoutes: RouteSpec[];
  addNeighbors: NeighSpec[];
  replaceNeighbors: NeighSpec[];
  removeNeighbors: NeighSpec[];
  addFdb: FdbSpec[];
  replaceFdb: FdbSpec[];
  removeFdb: FdbSpec[];
}

export function isEmptyDiff(d: Diff): boolean {
  return (
    d.vxlan === 'ok' &&
    (d.vxlan6 ?? 'ok') === 'ok' &&
    [
      d.addRoutes,
      d.replaceRoutes,
      d.removeRoutes,
      d.addNeighbors,
      d.replaceNeighbors,
      d.removeNeighbors,
      d.addFdb,
      d.replaceFdb,
      d.removeFdb,
    ].every((l) => l.length === 0)
  );
}

export function diffCount(d: Diff): number {
  return (
    (d.vxlan === 'ok' ? 0 : 1) +
    ((d.vxlan6 ?? 'ok') === 'ok' ? 0 : 1) +
    d.addRoutes.length +
    d.replaceRoutes.length +
    d.removeRoutes.length +
    d.addNeighbors.length +
    d.replaceNeighbors.length +
    d.removeNeighbors.length +
    d.addFdb.length +
    d.replaceFdb.length +
    d.removeFdb.length
  );
}

function vxlanDiffers(
  want: VxlanSpec,
  have: NonNullable<ActualState['vxlan']>,
): 'ok' | 'create' | 'update' {
  // vni, port, local and link cannot be changed on a live device: recreate.
  if (
    have.vni !== want.vni ||
    have.port !== want.port ||
    have.local !== want.local ||
    have.linkIndex !== want.linkIndex ||
    have.learning
  ) {
    return 'create';
  }
  if (
    have.mtu !== want.mtu ||
    normalizeMac(have.mac) !== want.mac ||
    !have.up ||
    !have.addresses.includes(want.address)
  ) {
    return 'update';
  }
  return 'ok';
}

const routeEq = (a: RouteSpec, b: RouteSpec): boolean =>
  a.gateway === b.gateway && a.dev === b.dev && a.onlink === b.onlink;

/** A diff that changes nothing; the diff functions fill it in. */
function emptyDiff(): Diff {
  return {
    vxlan: 'ok',
    addRoutes: [],
    replaceRoutes: [],
    removeRoutes: [],
    addNeighbors: [],
    replaceNeighbors: [],
    removeNeighbors: [],
    addFdb: [],
    replaceFdb: [],
    removeFdb: [],
  };
}

/**
 * What to change so `actual` matches `desired`, touching only state the agent owns.
 * Replacements (not delete+add) keep traffic flowing while a changed peer is re-programmed.
 */
export function diffState(desired: DesiredState, actual: ActualState, o: Ownership): Diff {
  const d = emptyDiff();
  if (desired.vxlan) d.vxlan = actual.vxlan ? vxlanDiffers(desired.vxlan, actual.vxlan) : 'create';
  else if (actual.vxlan) d.vxlan = 'delete';
  if (desired.vxlan6)
    d.vxlan6 = actual.vxlan6 ? vxlanDiffers(desired.vxlan6, actual.vxlan6) : 'create';
  else if (actual.vxlan6) d.vxlan6 = 'delete';

  const haveRoutes = new Map<string, ActualRoute>();
  const allRoutes = new Map<string, ActualRoute>();
  for (const r of actual.routes) {
    const dst = r.table === 254 ? tryCanonicalCidr(r.dst) : undefined;
    if (!dst) continue;
    allRoutes.set(dst, r);
    if (ownsRouteTo(r, dst, o)) haveRoutes.set(dst, r);
  }
  const wantRoutes = new Set<string>();
  for (const r of desired.routes) {
    wantRoutes.add(r.dst);
    const have = allRoutes.get(r.dst);
    if (!have) d.addRoutes.push(r);
    else if (!routeEq(r, have) || have.protocol !== ROUTE_PROTOCOL) d.replaceRoutes.push(r);
  }
  for (const [dst, r] of haveRoutes) if (!wantRoutes.has(dst)) d.removeRoutes.push(r);

  // A recreated device has lost all its neighbors and fdb entries: everything is an add.
  const owned = new Set<string>();
  if (d.vxlan !== 'create') owned.add(o.vxlanDev);
  if (o.vxlanDev6 && d.vxlan6 !== 'create') owned.add(o.vxlanDev6);
  const haveNeigh = new Map<string, ActualNeigh>();
  for (const n of actual.neighbors) if (owned.has(n.dev)) haveNeigh.set(`${n.dev}|${n.ip}`, n);
  const wantNeigh = new Set<string>();
  for (const n of desired.neighbors) {
    const key = `${n.dev}|${n.ip}`;
    wantNeigh.add(key);
    const have = haveNeigh.get(key);
    if (!have) d.addNeighbors.push(n);
    else if (normalizeMac(have.mac) !== n.mac || !have.permanent) d.replaceNeighbors.push(n);
  }
  for (const [key, n] of haveNeigh)
    if (!wantNeigh.has(key) && n.permanent) d.removeNeighbors.push(n);

  const haveFdb = new Map<string, FdbSpec>();
  for (const f of actual.fdb)
    if (owned.has(f.dev)) haveFdb.set(`${f.dev}|${normalizeMac(f.mac)}`, f);
  const wantFdb = new Set<string>();
  for (const f of desired.fdb) {
    const key = `${f.dev}|${f.mac}`;
    wantFdb.add(key);
    const have = haveFdb.get(key);
    if (!have) d.addFdb.push(f);
    else if (have.dst !== f.dst) d.replaceFdb.push(f);
  }
  for (const [key, f] of haveFdb) if (!wantFdb.has(key)) d.removeFdb.push(f);
  return d;
}
