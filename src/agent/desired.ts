import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';

/**
 * Pure model of the kernel state the agent owns, and the diff against what the kernel has.
 * No I/O here: the agent, the benchmark and `kubectl flannel doctor` all reuse it.
 */

/** rtm_protocol the agent stamps on its routes, so they can be told apart from anyone else's. */
export const ROUTE_PROTOCOL = 157;
/** Bytes of outer headers VXLAN adds (IPv4 outer). */
export const VXLAN_OVERHEAD = 50;

export type BackendType = 'vxlan' | 'host-gw';

export interface UnderlayInfo {
  name: string;
  index: number;
  mtu: number;
  /** IPv4 address of the underlay interface. */
  ip: string;
  /** Connected prefix of that address, e.g. 10.200.0.0/24; peers inside it share our L2 segment. */
  prefix: string;
}

export interface SelfInfo {
  nodeName: string;
  /** This node's IPv4 pod subnet, e.g. 10.244.1.0/24. */
  subnet: string;
  publicIP: string;
  underlay: UnderlayInfo;
  /** MAC of flannel.<vni>. */
  vtepMAC: string;
}

export interface NetworkConfig {
  network: string;
  type: BackendType;
  vni: number;
  port: number;
  directRouting: boolean;
  mtu?: number;
}

/** What the agent needs to know about one lease (own or remote). */
export interface PeerLease {
  nodeName: string;
  subnet?: string;
  publicIP?: string;
  vtepMAC?: string;
  /** Lease is being deleted: treat as gone. */
  deleting?: boolean;
}

export interface VxlanSpec {
  name: string;
  vni: number;
  port: number;
  local: string;
  linkIndex: number;
  mtu: number;
  mac: string;
  /** <subnet network address>/32 */
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

export type PeerMode = 'vxlan' | 'host-gw';
export interface PeerPlan {
  nodeName: string;
  subnet: string;
  mode: PeerMode;
}
export interface PendingPeer {
  nodeName: string;
  reason: string;
}

export interface DesiredState {
  vxlan?: VxlanSpec;
  routes: RouteSpec[];
  neighbors: NeighSpec[];
  fdb: FdbSpec[];
  peers: PeerPlan[];
  pending: PendingPeer[];
  /** MTU handed to pods (FLANNEL_MTU). */
  podMTU: number;
}

export class DesiredStateError extends Error {
  readonly code = 'EAGENT_DESIRED';
}

export function vxlanDeviceName(vni: number): string {
  return `flannel.${vni}`;
}

/** Canonical "a.b.c.d/len" with host bits cleared; throws DesiredStateError on garbage. */
export function canonicalCidr(cidr: string): string {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new DesiredStateError(`invalid CIDR "${cidr}"`);
  }
  const [addr, len] = parsed;
  if (addr.kind() === 'ipv4') {
    return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${len}`;
  }
  return `${ipaddr.IPv6.networkAddressFromCIDR(cidr).toString()}/${len}`;
}

export function networkAddress(cidr: string): string {
  return canonicalCidr(cidr).split('/')[0]!;
}

/** First usable address of a subnet ("10.244.1.1/24"), what FLANNEL_SUBNET carries. */
export function firstUsable(cidr: string): string {
  const [net, len] = canonicalCidr(cidr).split('/') as [string, string];
  const bytes = ipaddr.parse(net).toByteArray();
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 255) {
      bytes[i]! += 1;
      break;
    }
    bytes[i] = 0;
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${len}`;
}

export function ipInCidr(ip: string, cidr: string): boolean {
  try {
    const addr = ipaddr.parse(ip);
    const range = ipaddr.parseCIDR(cidr);
    return addr.kind() === range[0].kind() && addr.match(range);
  } catch {
    return false;
  }
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

/** MTU of flannel.<vni> and of the pods. */
export function computeMTU(cfg: NetworkConfig, underlayMTU: number): number {
  const max = cfg.type === 'vxlan' ? underlayMTU - VXLAN_OVERHEAD : underlayMTU;
  return cfg.mtu !== undefined ? Math.min(cfg.mtu, max) : max;
}

/** How to reach one peer: vxlan, host-gw, or pending (with why). */
export function peerMode(
  cfg: NetworkConfig,
  self: SelfInfo,
  peer: PeerLease,
): PeerMode | { pending: string } {
  if (!peer.subnet) return { pending: 'lease has no subnet yet' };
  if (!peer.publicIP) return { pending: 'peer has not published its publicIP' };
  const sameL2 = ipInCidr(peer.publicIP, self.underlay.prefix);
  if (cfg.type === 'host-gw') {
    return sameL2
      ? 'host-gw'
      : { pending: `host-gw peer ${peer.publicIP} is not on ${self.underlay.prefix}` };
  }
  if (cfg.directRouting && sameL2) return 'host-gw';
  if (!peer.vtepMAC || !isValidMac(peer.vtepMAC))
    return { pending: 'peer has not published its VTEP MAC' };
  return 'vxlan';
}

/** The full kernel state this node should have for one network. */
export function computeDesired(
  self: SelfInfo,
  cfg: NetworkConfig,
  leases: PeerLease[],
): DesiredState {
  const ownSubnet = canonicalCidr(self.subnet);
  const dev = vxlanDeviceName(cfg.vni);
  const podMTU = computeMTU(cfg, self.underlay.mtu);
  const state: DesiredState = {
    routes: [],
    neighbors: [],
    fdb: [],
    peers: [],
    pending: [],
    podMTU,
  };
  if (cfg.type === 'vxlan') {
    state.vxlan = {
      name: dev,
      vni: cfg.vni,
      port: cfg.port,
      // Encapsulate from the interface address; publicIP may be a NAT address peers send to.
      local: self.underlay.ip,
      linkIndex: self.underlay.index,
      mtu: podMTU,
      mac: normalizeMac(self.vtepMAC),
      address: `${networkAddress(ownSubnet)}/32`,
    };
  }
  const seen = new Set<string>([ownSubnet]);
  const sorted = [...leases].sort((a, b) => a.nodeName.localeCompare(b.nodeName));
  for (const peer of sorted) {
    if (peer.nodeName === self.nodeName || peer.deleting) continue;
    const mode = peerMode(cfg, self, peer);
    if (typeof mode === 'object') {
      state.pending.push({ nodeName: peer.nodeName, reason: mode.pending });
      continue;
    }
    let subnet: string;
    try {
      subnet = canonicalCidr(peer.subnet!);
    } catch {
      state.pending.push({ nodeName: peer.nodeName, reason: `invalid subnet "${peer.subnet}"` });
      continue;
    }
    if (seen.has(subnet)) {
      state.pending.push({ nodeName: peer.nodeName, reason: `subnet ${subnet} is held twice` });
      continue;
    }
    seen.add(subnet);
    state.peers.push({ nodeName: peer.nodeName, subnet, mode });
    if (mode === 'host-gw') {
      state.routes.push({
        dst: subnet,
        gateway: peer.publicIP!,
        dev: self.underlay.name,
        onlink: false,
      });
    } else {
      const gw = networkAddress(subnet);
      const mac = normalizeMac(peer.vtepMAC!);
      state.neighbors.push({ dev, ip: gw, mac });
      state.fdb.push({ dev, mac, dst: peer.publicIP! });
      state.routes.push({ dst: subnet, gateway: gw, dev, onlink: true });
    }
  }
  return state;
}

/** Kernel objects as the reader reports them (only what the diff needs). */
export interface ActualRoute extends RouteSpec {
  protocol: number;
  table: number;
}
export interface ActualNeigh extends NeighSpec {
  permanent: boolean;
}
export interface ActualState {
  vxlan?: VxlanSpec & { up: boolean; learning: boolean; addresses: string[] };
  routes: ActualRoute[];
  neighbors: ActualNeigh[];
  fdb: FdbSpec[];
}

export interface Ownership {
  network: string;
  vxlanDev: string;
  ownSubnet: string;
}

/**
 * Routes the agent may touch: those stamped with its protocol, and anything inside the pod network
 * on its own vxlan device (left by upstream flannel or an older agent). Everything else is the user's.
 */
export function ownsRoute(r: ActualRoute, o: Ownership): boolean {
  if (r.table !== 254) return false;
  if (canonicalCidr(r.dst) === canonicalCidr(o.ownSubnet)) return false;
  if (r.protocol === ROUTE_PROTOCOL) return true;
  return r.dev === o.vxlanDev && cidrInside(r.dst, o.network);
}

function cidrInside(inner: string, outer: string): boolean {
  const [net, len] = inner.split('/') as [string, string];
  const outerLen = Number(outer.split('/')[1]);
  return Number(len) >= outerLen && ipInCidr(net, outer);
}

export interface Diff {
  vxlan: 'ok' | 'create' | 'update' | 'delete';
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

/**
 * What to change so `actual` matches `desired`, touching only state the agent owns.
 * Replacements (not delete+add) keep traffic flowing while a changed peer is re-programmed.
 */
export function diffState(desired: DesiredState, actual: ActualState, o: Ownership): Diff {
  const d: Diff = {
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
  if (desired.vxlan) d.vxlan = actual.vxlan ? vxlanDiffers(desired.vxlan, actual.vxlan) : 'create';
  else if (actual.vxlan) d.vxlan = 'delete';

  const haveRoutes = new Map<string, ActualRoute>();
  for (const r of actual.routes) if (ownsRoute(r, o)) haveRoutes.set(canonicalCidr(r.dst), r);
  const allRoutes = new Map<string, ActualRoute>();
  for (const r of actual.routes) if (r.table === 254) allRoutes.set(canonicalCidr(r.dst), r);
  const wantRoutes = new Set<string>();
  for (const r of desired.routes) {
    wantRoutes.add(r.dst);
    const have = allRoutes.get(r.dst);
    if (!have) d.addRoutes.push(r);
    else if (!routeEq(r, have) || have.protocol !== ROUTE_PROTOCOL) d.replaceRoutes.push(r);
  }
  for (const [dst, r] of haveRoutes) if (!wantRoutes.has(dst)) d.removeRoutes.push(r);

  // A recreated device has lost all its neighbors and fdb entries: everything is an add.
  const fresh = d.vxlan === 'create';
  const haveNeigh = new Map<string, ActualNeigh>();
  if (!fresh) for (const n of actual.neighbors) if (n.dev === o.vxlanDev) haveNeigh.set(n.ip, n);
  const wantNeigh = new Set<string>();
  for (const n of desired.neighbors) {
    wantNeigh.add(n.ip);
    const have = haveNeigh.get(n.ip);
    if (!have) d.addNeighbors.push(n);
    else if (normalizeMac(have.mac) !== n.mac || !have.permanent) d.replaceNeighbors.push(n);
  }
  for (const [ip, n] of haveNeigh) if (!wantNeigh.has(ip) && n.permanent) d.removeNeighbors.push(n);

  const haveFdb = new Map<string, FdbSpec>();
  if (!fresh)
    for (const f of actual.fdb) if (f.dev === o.vxlanDev) haveFdb.set(normalizeMac(f.mac), f);
  const wantFdb = new Set<string>();
  for (const f of desired.fdb) {
    wantFdb.add(f.mac);
    const have = haveFdb.get(f.mac);
    if (!have) d.addFdb.push(f);
    else if (have.dst !== f.dst) d.replaceFdb.push(f);
  }
  for (const [mac, f] of haveFdb) if (!wantFdb.has(mac)) d.removeFdb.push(f);
  return d;
}
