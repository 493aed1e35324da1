import {
  cidrContainsCidr,
  cidrContainsIp,
  invalidCidrMessage,
  networkAddress,
  tryCanonicalCidr,
  tryCanonicalIp,
  tryParseIp,
} from '../../ipam/index.js';
import type {
  DesiredState,
  NetworkConfig,
  PeerLease,
  SelfInfo,
  WireguardConfig,
} from '../desired.js';

/**
 * The WireGuard half of the desired-state model (pure): the devices, one peer per remote lease,
 * and the routes over the devices. computeDesired calls it for `backend.type: wireguard`.
 */

export const WG_DEVICE = 'flannel-wg';
export const WG_DEVICE_V6 = 'flannel-wg-v6';
/** Outer IPv4 (20) + UDP (8) + WireGuard data header (16) + auth tag (16). */
export const WG4_OVERHEAD = 60;
/** The same over an IPv6 underlay: the outer header is 40 bytes (upstream uses 80 everywhere). */
export const WG6_OVERHEAD = 80;

export const WIREGUARD_CONFIG_DEFAULTS: WireguardConfig = {
  listenPort: 51820,
  listenPortV6: 51821,
  keepalive: 0,
  mode: 'separate',
  psk: false,
};

export interface WgPeerSpec {
  nodeName: string;
  publicKey: string;
  /** host:port, IPv6 hosts in brackets (as `wg` prints them). */
  endpoint: string;
  /** Canonical CIDRs, sorted. */
  allowedIPs: string[];
  keepalive: number;
}

export interface WgDeviceSpec {
  name: string;
  listenPort: number;
  mtu: number;
  /** <subnet network address>/32 and/or /128. */
  addresses: string[];
  /** Sorted by public key. */
  peers: WgPeerSpec[];
}

type Family = 4 | 6;

/** One tunnel's shape: which families it carries and which endpoint family it reaches peers on. */
interface TunnelPlan {
  dev: WgDeviceSpec;
  carries: Family[];
  endpoint: (peer: PeerLease) => Family | undefined;
}

export function wireguardConfig(cfg: NetworkConfig): WireguardConfig {
  return cfg.wireguard ?? WIREGUARD_CONFIG_DEFAULTS;
}

const mtuOf = (cfg: NetworkConfig, underlayMTU: number, overhead: number): number =>
  Math.min(cfg.mtu ?? Infinity, underlayMTU - overhead);

/** RFC 1918 / ULA: upstream's auto mode prefers a peer's IPv4 unless it is private and IPv6 is not. */
function isPrivate(ip: string | undefined): boolean {
  const p = ip ? tryParseIp(ip) : undefined;
  if (!p) return true;
  const inside = (c: string) => cidrContainsIp(c, ip!);
  return p.family === 4
    ? ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].some(inside)
    : inside('fc00::/7');
}

function autoEndpoint(self: SelfInfo, peer: PeerLease): Family | undefined {
  const v4 = self.publicIP && peer.publicIP ? 4 : undefined;
  const v6 = self.publicIPv6 && peer.publicIPv6 ? 6 : undefined;
  if (v4 && (!v6 || !isPrivate(peer.publicIP))) return 4;
  if (v6 && !isPrivate(peer.publicIPv6) && !isPrivate(self.publicIPv6)) return 6;
  return v4 ?? v6;
}

function device(name: string, listenPort: number, mtu: number): WgDeviceSpec {
  return { name, listenPort, mtu, addresses: [], peers: [] };
}

/** The tunnels of the configured mode, each with the own subnets' addresses. */
function tunnels(self: SelfInfo, cfg: NetworkConfig): TunnelPlan[] {
  const wg = wireguardConfig(cfg);
  const v4 = cfg.network !== undefined && self.subnet !== undefined;
  const v6 = cfg.ipv6Network !== undefined && self.subnetV6 !== undefined;
  const mtu = self.underlay.mtu;
  const out: TunnelPlan[] = [];
  if (wg.mode === 'separate') {
    if (v4 && self.underlay.ip)
      out.push({
        dev: device(WG_DEVICE, wg.listenPort, mtuOf(cfg, mtu, WG4_OVERHEAD)),
        carries: [4],
        endpoint: () => 4,
      });
    if (v6 && self.underlay.ipv6)
      out.push({
        dev: device(WG_DEVICE_V6, wg.listenPortV6, mtuOf(cfg, mtu, WG6_OVERHEAD)),
        carries: [6],
        endpoint: () => 6,
      });
  } else {
    const overhead = wg.mode === 'ipv4' ? WG4_OVERHEAD : WG6_OVERHEAD;
    const carries = [...(v4 ? [4 as const] : []), ...(v6 ? [6 as const] : [])];
    const endpoint =
      wg.mode === 'auto'
        ? (p: PeerLease) => autoEndpoint(self, p)
        : () => (wg.mode === 'ipv4' ? 4 : 6);
    out.push({
      dev: device(WG_DEVICE, wg.listenPort, mtuOf(cfg, mtu, overhead)),
      carries,
      endpoint,
    });
  }
  for (const t of out) {
    if (t.carries.includes(4)) t.dev.addresses.push(`${networkAddress(self.subnet!)}/32`);
    if (t.carries.includes(6)) t.dev.addresses.push(`${networkAddress(self.subnetV6!)}/128`);
  }
  return out;
}

/** The peer's subnet of one family, or why it cannot be used. */
function peerSubnet(
  cfg: NetworkConfig,
  peer: PeerLease,
  family: Family,
): string | { pending: string } {
  const [raw, net, field] =
    family === 4
      ? [peer.subnet, cfg.network, 'subnet']
      : [peer.ipv6Subnet, cfg.ipv6Network, 'ipv6Subnet'];
  if (!raw) return { pending: `lease has no ${field} yet` };
  const c = tryCanonicalCidr(raw);
  if (!c || c.includes(':') !== (family === 6))
    return { pending: invalidCidrMessage(field, family, raw) };
  if (!net || !cidrContainsCidr(net, c)) return { pending: `${field} ${c} is outside ${net}` };
  return c;
}

function endpointOf(peer: PeerLease, family: Family, port: number): string | undefined {
  const ip = family === 4 ? peer.publicIP : peer.publicIPv6;
  if (!ip) return undefined;
  const canon = tryCanonicalIp(ip) ?? ip;
  return family === 4 ? `${canon}:${port}` : `[${canon}]:${port}`;
}

/** Adds one peer to a tunnel (with its routes), or says why it is pending. */
function addPeer(
  state: DesiredState,
  t: TunnelPlan,
  cfg: NetworkConfig,
  peer: PeerLease,
  seen: Set<string>,
): void {
  const pend = (reason: string): void => {
    state.pending.push({ nodeName: peer.nodeName, reason });
  };
  const tag = t.dev.name === WG_DEVICE_V6 ? 'ipv6: ' : '';
  if (!peer.publicKey) return pend(`${tag}peer has not published its WireGuard public key`);
  const family = t.endpoint(peer);
  const endpoint = family && endpointOf(peer, family, t.dev.listenPort);
  if (!endpoint) return pend(`${tag}peer has no public address to reach it over WireGuard`);
  const allowed: string[] = [];
  for (const f of t.carries) {
    // A v4-only peer in a dual-stack network simply has no IPv6 half.
    if (f === 6 && t.carries.length > 1 && !peer.ipv6Subnet) continue;
    const s = peerSubnet(cfg, peer, f);
    if (typeof s === 'object') return pend(`${tag}${s.pending}`);
    if (seen.has(s)) return pend(`${tag}subnet ${s} is held twice`);
    allowed.push(s);
  }
  for (const s of allowed) seen.add(s);
  t.dev.peers.push({
    nodeName: peer.nodeName,
    publicKey: peer.publicKey,
    endpoint,
    allowedIPs: allowed.sort(),
    keepalive: wireguardConfig(cfg).keepalive,
  });
  for (const s of allowed) {
    state.peers.push({
      nodeName: peer.nodeName,
      subnet: s,
      mode: 'wireguard',
      ...(s.includes(':') ? { family: 'ipv6' as const } : {}),
    });
    state.routes.push({ dst: s, gateway: '', dev: t.dev.name, onlink: false });
  }
}

/**
 * Fills `state` for a wireguard network: devices, peers (already filtered of rejected ones),
 * routes over the devices, the pods' MTU (the smallest device MTU).
 */
export function addWireguard(
  state: DesiredState,
  self: SelfInfo,
  cfg: NetworkConfig,
  peers: PeerLease[],
): void {
  const plans = tunnels(self, cfg);
  state.wireguard = plans.map((t) => t.dev);
  if (plans.length) state.podMTU = Math.min(...plans.map((t) => t.dev.mtu));
  const own = [self.subnet, self.subnetV6].map((s) => tryCanonicalCidr(s)).filter(Boolean);
  for (const t of plans) {
    const seen = new Set<string>(own as string[]);
    for (const peer of peers) {
      if (peer.nodeName === self.nodeName || peer.deleting) continue;
      // The separate v6 tunnel: v4-only peers have nothing to say there.
      if (t.dev.name === WG_DEVICE_V6 && !peer.ipv6Subnet && !peer.publicIPv6) continue;
      addPeer(state, t, cfg, peer, seen);
    }
    t.dev.peers.sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
  }
}
