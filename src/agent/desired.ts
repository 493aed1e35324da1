import { createHash } from 'node:crypto';
import {
  cidrContainsCidr,
  cidrContainsIp,
  cidrMatcher,
  tryCanonicalCidr,
  tryCanonicalIp,
} from '../ipam/index.js';
import type { WgDeviceSpec } from './wireguard/desired.js';

/**
 * Pure model of the kernel state the agent owns, and the diff against what the kernel has
 * (planner.ts builds the state). No I/O here: the agent, the benchmark and `kubectl flannel
 * doctor` all reuse it.
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

export const routeEq = (a: RouteSpec, b: RouteSpec): boolean =>
  a.gateway === b.gateway && a.dev === b.dev && a.onlink === b.onlink;

/** A diff that changes nothing; the diff functions fill it in. */
export function emptyDiff(): Diff {
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
/** What the vxlan devices need (create, update, delete or nothing): the device half of diffState. */
export function deviceDiff(
  desired: DesiredState,
  actual: ActualState,
): Pick<Diff, 'vxlan' | 'vxlan6'> {
  const d: Pick<Diff, 'vxlan' | 'vxlan6'> = { vxlan: 'ok' };
  if (desired.vxlan) d.vxlan = actual.vxlan ? vxlanDiffers(desired.vxlan, actual.vxlan) : 'create';
  else if (actual.vxlan) d.vxlan = 'delete';
  if (desired.vxlan6)
    d.vxlan6 = actual.vxlan6 ? vxlanDiffers(desired.vxlan6, actual.vxlan6) : 'create';
  else if (actual.vxlan6) d.vxlan6 = 'delete';
  return d;
}

export function diffState(desired: DesiredState, actual: ActualState, o: Ownership): Diff {
  const d = { ...emptyDiff(), ...deviceDiff(desired, actual) };

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
