import { isGlobalUnicast } from '../ipam/special.js';
import { formatIPv4, tryParseIp } from '../ipam/cidr.js';
// group.js and wireguard-key.js, not index.js: the agent loads no schema library (zod).
import { BACKEND_REJECTED } from '../api/group.js';
import { ZERO_WIREGUARD_KEY, isWireguardKey } from '../api/wireguard-key.js';
import type { SubnetLease } from '../api/index.js';
import type { NetworkConfig, PeerLease, SelfInfo } from './desired.js';

/**
 * Which peers the agent refuses to program, and why. Every lease status field is written by
 * that node's agent, so a compromised node can publish anything there: another node's VTEP MAC
 * (its FDB entry would take that node's traffic), a loopback or multicast publicIP, this node's
 * own address, another node's or this node's WireGuard public key. Pure, shared with the controller, which flags the same leases for humans.
 */

export function peerOfLease(l: SubnetLease): PeerLease {
  return {
    nodeName: l.spec.nodeName,
    subnet: l.spec.subnet,
    publicIP: l.status?.publicIP,
    vtepMAC: l.status?.backend?.vtepMAC,
    ipv6Subnet: l.spec.ipv6Subnet,
    publicIPv6: l.status?.publicIPv6,
    v6VtepMAC: l.status?.backend?.v6VtepMAC,
    publicKey: l.status?.backend?.publicKey,
    deleting: !!l.metadata.deletionTimestamp,
    created: timeOf(l.metadata.creationTimestamp),
    rejected: l.status?.conditions?.find((c) => c.type === BACKEND_REJECTED && c.status === 'True')
      ?.message,
  };
}

/**
 * Of two leases naming the same node, the one its peer is built from: one not being deleted, then
 * the older, then the first by name. Only an admin can make a second lease for a node (the
 * controller keeps the older and deletes the others); full and peer passes choose alike, so neither
 * flips the peer between the two while both exist.
 */
function preferredLease(a: SubnetLease, b: SubnetLease): SubnetLease {
  const deleting = (l: SubnetLease): boolean => !!l.metadata.deletionTimestamp;
  if (deleting(a) !== deleting(b)) return deleting(a) ? b : a;
  const ta = timeOf(a.metadata.creationTimestamp) ?? Infinity;
  const tb = timeOf(b.metadata.creationTimestamp) ?? Infinity;
  if (ta !== tb) return ta < tb ? a : b;
  return (a.metadata.name ?? '') <= (b.metadata.name ?? '') ? a : b;
}

/** The lease each node's peer is built from (preferredLease), one per node. */
export function oneLeasePerNode(leases: readonly SubnetLease[]): SubnetLease[] {
  const byNode = new Map<string, SubnetLease>();
  for (const l of leases) {
    const held = byNode.get(l.spec.nodeName);
    byNode.set(l.spec.nodeName, held ? preferredLease(held, l) : l);
  }
  return [...byNode.values()];
}

/** The lease one node's peer is built from, as oneLeasePerNode picks it. */
export function leaseOfNode(leases: readonly SubnetLease[], node: string): SubnetLease | undefined {
  let best: SubnetLease | undefined;
  for (const l of leases) if (l.spec.nodeName === node) best = best ? preferredLease(best, l) : l;
  return best;
}

function timeOf(t: string | Date | undefined): number | undefined {
  if (t === undefined) return undefined;
  const n = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(n) ? n : undefined;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const MAC_RE_ANY_CASE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** Exactly the IPv4 text tryParseIp accepts: four decimal octets 0-255 without leading zeros. */
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Why a VTEP MAC cannot belong to a peer, or undefined when it can. */
export function macProblem(mac: string): string | undefined {
  const m = mac.toLowerCase();
  if (!MAC_RE.test(m)) return 'is not a MAC address';
  if (m === '00:00:00:00:00:00') return 'is the zero address';
  if (m === 'ff:ff:ff:ff:ff:ff') return 'is the broadcast address';
  if (parseInt(m.slice(0, 2), 16) & 1) return 'is a multicast address';
  return undefined;
}

/** Why an address cannot be a peer's publicIP(v6), or undefined when it can. */
export function addressProblem(ip: string): string | undefined {
  // One parse for the usual good address (every peer's, every full pass).
  if (isGlobalUnicast(ip)) return undefined;
  if (!tryParseIp(ip)) return 'is not an IP address';
  return 'is not a unicast address (loopback, link-local, multicast, unspecified or broadcast)';
}

/** Why a text cannot be a peer's WireGuard public key, or undefined when it can. */
export function publicKeyProblem(key: string): string | undefined {
  if (!isWireguardKey(key)) return 'is not a WireGuard public key (32 bytes in base64)';
  if (key === ZERO_WIREGUARD_KEY) return 'is the all-zero key';
  return undefined;
}

/** Canonical text of an address or MAC, so "FD00::1"/"fd00:0::1" compare equal. */
function keyOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // A MAC (six groups) is never an IPv6 address (eight, or a `::`): skip the address parser.
  if (MAC_RE_ANY_CASE.test(value)) return value.toLowerCase();
  // Dotted-quad text the address parser accepts is already canonical: no parse, no bigint.
  if (IPV4_RE.test(value)) return `4/${value}`;
  const ip = tryParseIp(value);
  if (ip) return ip.family === 4 ? `4/${formatIPv4(Number(ip.addr))}` : `6/${ip.addr}`;
  // WireGuard keys are case-sensitive base64 (never an address: no '.', no ':'); MACs are not.
  if (isWireguardKey(value)) return `key/${value}`;
  return value.toLowerCase();
}

/** Older first, name breaking ties: the order every agent and the controller agree on. */
export function olderFirst(a: PeerLease, b: PeerLease): number {
  return (
    (a.created ?? 0) - (b.created ?? 0) ||
    (a.nodeName < b.nodeName ? -1 : a.nodeName > b.nodeName ? 1 : 0)
  );
}

export type UniqueField = 'vtepMAC' | 'v6VtepMAC' | 'publicIP' | 'publicIPv6' | 'publicKey';

/** Problems of one lease's own fields (no comparison with other leases). */
export function leaseFieldProblems(l: PeerLease): string[] {
  const out: string[] = [];
  for (const f of ['publicIP', 'publicIPv6'] as const) {
    const p = l[f] !== undefined ? addressProblem(l[f]) : undefined;
    if (p) out.push(`${f} ${l[f]} ${p}`);
  }
  for (const f of ['vtepMAC', 'v6VtepMAC'] as const) {
    const p = l[f] !== undefined ? macProblem(l[f]) : undefined;
    if (p) out.push(`${f} ${l[f]} ${p}`);
  }
  const k = l.publicKey !== undefined ? publicKeyProblem(l.publicKey) : undefined;
  // The text is hostile input: quote at most a key's length of it.
  if (k) out.push(`publicKey ${JSON.stringify(l.publicKey!.slice(0, 44))} ${k}`);
  return out;
}

/**
 * Problems from comparing leases, by node: repeated VTEP MACs and keys (and, with routes via
 * publicIP, addresses). The older lease (olderFirst) keeps a value; the agents' planner decides
 * with the same index.
 */
export function duplicateProblems(
  leases: readonly PeerLease[],
  opts: { uniqueAddresses: boolean },
): Map<string, string[]> {
  const dups = new DuplicateIndex(fieldsUnique(opts.uniqueAddresses));
  for (const l of leases) dups.add(l);
  const out = new Map<string, string[]>();
  for (const l of leases) {
    const problems = dups.problems(l);
    if (problems.length) out.set(l.nodeName, [...(out.get(l.nodeName) ?? []), ...problems]);
  }
  return out;
}

/** The fields that must be unique across peers: VTEP MACs and keys, and addresses where routes go via publicIP. */
export function uniqueFields(cfg: NetworkConfig): readonly UniqueField[] {
  return fieldsUnique(cfg.type === 'host-gw' || cfg.directRouting);
}

function fieldsUnique(viaAddress: boolean): readonly UniqueField[] {
  return [
    'vtepMAC',
    'v6VtepMAC',
    'publicKey',
    ...(viaAddress ? (['publicIP', 'publicIPv6'] as const) : []),
  ];
}

/**
 * Per unique field, which peers hold each value; the oldest holder (olderFirst) keeps it. Kept up
 * to date one lease at a time, so a lease change costs the leases sharing its values, not all.
 */
export class DuplicateIndex {
  private readonly holders = new Map<string, PeerLease[]>();
  /** The keys (field|value) of each indexed lease, by field; computed once per lease. */
  private readonly keysOf = new Map<PeerLease, Array<string | undefined>>();

  constructor(private readonly fields: readonly UniqueField[]) {}

  add(l: PeerLease): void {
    const keys = this.fields.map((f) => {
      const k = keyOf(l[f]);
      return k === undefined ? undefined : `${f}|${k}`;
    });
    this.keysOf.set(l, keys);
    for (const k of keys) {
      if (k === undefined) continue;
      const list = this.holders.get(k);
      if (list) list.push(l);
      else this.holders.set(k, [l]);
    }
  }

  remove(l: PeerLease): void {
    for (const k of this.keysOf.get(l) ?? []) {
      if (k === undefined) continue;
      const list = this.holders.get(k)!.filter((x) => x !== l);
      if (list.length) this.holders.set(k, list);
      else this.holders.delete(k);
    }
    this.keysOf.delete(l);
  }

  /** Nodes of the other leases holding one of the values of `l` (indexed). */
  sharers(l: PeerLease): string[] {
    const out: string[] = [];
    for (const k of this.keysOf.get(l)!) {
      const list = k === undefined ? undefined : this.holders.get(k)!;
      if (list && list.length > 1) for (const x of list) if (x !== l) out.push(x.nodeName);
    }
    return out;
  }

  /** Why `l` (indexed) repeats values older leases hold, in field order; empty when it does not. */
  problems(l: PeerLease): string[] {
    const out: string[] = [];
    const keys = this.keysOf.get(l)!;
    this.fields.forEach((f, i) => {
      const list = keys[i] === undefined ? undefined : this.holders.get(keys[i])!;
      if (!list || list.length < 2) return;
      const first = list.reduce((a, b) => (olderFirst(b, a) < 0 ? b : a));
      if (first !== l)
        out.push(`${f} ${l[f]} is already published by the older lease of node ${first.nodeName}`);
    });
    return out;
  }
}

/**
 * Why this node refuses a peer on the peer's own account (no comparison with other peers): the
 * controller marked its lease BackendRejected, a field is hostile on its own, or it claims an
 * address, VTEP MAC or key of this node. Undefined: not refused (duplicates aside).
 */
export function ownRejection(self: SelfInfo): (p: PeerLease) => string | undefined {
  const ownAddrs = new Set(
    [self.publicIP, self.underlay.ip, self.publicIPv6, self.underlay.ipv6].map(keyOf),
  );
  const ownMACs = new Set([self.vtepMAC, self.v6VtepMAC].map(keyOf));
  return (p) => {
    if (p.rejected !== undefined) return `the controller rejected its lease: ${p.rejected}`;
    const own = leaseFieldProblems(p);
    if (own.length) return own.join('; ');
    for (const f of ['publicIP', 'publicIPv6'] as const)
      if (p[f] !== undefined && ownAddrs.has(keyOf(p[f])))
        return `${f} ${p[f]} is an address of this node`;
    for (const f of ['vtepMAC', 'v6VtepMAC'] as const)
      if (p[f] !== undefined && ownMACs.has(keyOf(p[f])))
        return `${f} ${p[f]} is this node's own VTEP MAC`;
    // A peer with our key would make WireGuard drop the device's own traffic for that subnet.
    if (self.publicKey !== undefined && p.publicKey === self.publicKey)
      return `publicKey ${p.publicKey} is this node's own WireGuard public key`;
    return undefined;
  };
}
