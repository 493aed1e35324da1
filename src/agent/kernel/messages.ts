import { formatIPv4, formatIp, tryParseCidr, tryParseIp, tryParseIpv4 } from '../../ipam/cidr.js';
import { ROUTE_PROTOCOL, type FdbSpec, type NeighSpec, type RouteSpec } from '../desired.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  NDA_DST,
  NDA_LLADDR,
  NLMSG_HDRLEN,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NTF_SELF,
  NUD_PERMANENT,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTN_UNICAST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
} from './constants.js';

/**
 * Pure encoders of the rtnetlink write requests the agent sends in batches (route, neighbour and
 * FDB entries): the bytes the npm `netlink` formatters produce, padded to 4 (messages.test.ts
 * checks), written directly because a pass encodes thousands of them.
 */

/**
 * One write request: a whole netlink message whose header still lacks the sequence number and
 * the REQUEST/ACK flags (frame() fills them in when it is sent).
 */
export interface NlRequest {
  type: number;
  /** NLM_F_* flags besides REQUEST/ACK. */
  flags: number;
  msg: Buffer;
  /** What it does, for error messages ("replace route 10.244.1.0/24"). */
  what: string;
  /** A delete of something already gone is not an error. */
  missingOk?: boolean;
}

/** Address bytes (4 or 16, network order) of address text; throws on anything else. */
export function ipBytes(s: string): Buffer {
  const a = addrOf(s);
  const b = Buffer.alloc(typeof a === 'number' ? 4 : 16);
  writeAddr(b, 0, a);
  return b;
}

/** Address text (dotted quad, RFC 5952) of 4 or 16 address bytes; '' for none. */
export function ipText(b?: Buffer): string {
  if (!b || (b.length !== 4 && b.length !== 16)) return '';
  if (b.length === 4) return formatIPv4(b.readUInt32BE(0));
  return formatIp(6, BigInt(`0x${b.toString('hex')}`));
}

/** An address to encode: IPv4 as a number, IPv6 as a bigint (tryParseIpv4, tryParseIp). */
type Addr = number | bigint;

/** The address of `s`, parsed by the one IP parser (src/ipam); throws on anything else. */
function addrOf(s: string): Addr {
  const v4 = tryParseIpv4(s);
  if (v4 !== undefined) return v4;
  const ip = tryParseIp(s);
  if (!ip) throw new Error(`not an IP address: ${JSON.stringify(s)}`);
  return ip.addr;
}

const familyOf = (a: Addr): number => (typeof a === 'number' ? AF_INET : AF_INET6);

/**
 * Writes the 4 or 16 address bytes of `a` at `at`. IPv4 (most of what a pass encodes) by byte
 * stores, no Buffer write calls: the agent runs --jitless, where every call is interpreted.
 */
function writeAddr(b: Buffer, at: number, a: Addr): void {
  if (typeof a === 'bigint') {
    b.write(a.toString(16).padStart(32, '0'), at, 16, 'hex');
    return;
  }
  b[at] = a >>> 24;
  b[at + 1] = (a >>> 16) & 255;
  b[at + 2] = (a >>> 8) & 255;
  b[at + 3] = a & 255;
}

/** Writes the rtattr header and address bytes of `a` at `at`; where the next attribute starts. */
function putAddr(b: Buffer, at: number, attr: number, a: Addr): number {
  const size = addrAttrSize(a);
  b[at] = size;
  b[at + 2] = attr;
  writeAddr(b, at + 4, a);
  return at + size;
}

/** A validated MAC (lowercase hex pairs) as 6 bytes, by Node's hex decoder. */
function putMac(b: Buffer, at: number, attr: number, mac: string): number {
  b[at] = 10;
  b[at + 2] = attr;
  b.write(mac.replaceAll(':', ''), at + 4, 6, 'hex');
  return at + 12;
}

function putU32(b: Buffer, at: number, attr: number, v: number): number {
  b[at] = 8;
  b[at + 2] = attr;
  b.writeUInt32LE(v, at + 4);
  return at + 8;
}

/** Bytes an address attribute takes. */
const addrAttrSize = (a: Addr): number => (typeof a === 'number' ? 8 : 20);
const MAC_ATTR_SIZE = 12;
const U32_ATTR_SIZE = 8;

/**
 * A zeroed message of `size` bytes (nlmsghdr + 12-byte rtmsg/ndmsg + attributes, each padded to 4,
 * the last too: the next message of a batch must start aligned) with its length and type.
 * From Node's shared pool (a slice, not an ArrayBuffer of its own per message: a pass encodes
 * thousands, and each own ArrayBuffer is garbage-collector work), zeroed by hand. Sizes stay
 * below 256, so the length is one byte.
 */
function message(size: number, type: number): Buffer {
  const b = Buffer.allocUnsafe(size).fill(0);
  b[0] = size;
  b[4] = type;
  return b;
}

const HEAD = NLMSG_HDRLEN + 12;

/** struct rtmsg, main table, at its place after the nlmsghdr. */
function rtmsg(
  b: Buffer,
  family: number,
  dstLen: number,
  protocol: number,
  scope: number,
  type: number,
  flags: number,
): void {
  const at = NLMSG_HDRLEN;
  b[at] = family;
  b[at + 1] = dstLen;
  b[at + 4] = RT_TABLE_MAIN;
  b[at + 5] = protocol;
  b[at + 6] = scope;
  b[at + 7] = type;
  b[at + 8] = flags;
}

/** struct ndmsg, at its place after the nlmsghdr. */
function ndmsg(b: Buffer, family: number, ifindex: number, state: number, flags: number): void {
  const at = NLMSG_HDRLEN;
  b[at] = family;
  b.writeInt32LE(ifindex, at + 4);
  b[at + 8] = state;
  b[at + 10] = flags;
}

const CREATE_OR_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;

/** Network address (host bits cleared, as canonicalCidr) and prefix length of a route destination. */
function routeDst(cidr: string): [Addr, number] {
  const c = tryParseCidr(cidr);
  if (!c) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  return [c.family === 4 ? Number(c.addr) : c.addr, c.prefix];
}

/** `ip route replace <dst> via <gw> dev <oif> [onlink] proto 157` in the main table. */
export function replaceRouteRequest(r: RouteSpec, oif: number): NlRequest {
  const [dst, len] = routeDst(r.dst);
  const gw = r.gateway ? addrOf(r.gateway) : undefined;
  const size = HEAD + addrAttrSize(dst) + (gw === undefined ? 0 : addrAttrSize(gw)) + U32_ATTR_SIZE;
  const b = message(size, RTM_NEWROUTE);
  // A route straight over a tunnel device (wireguard) has no gateway: scope link.
  const scope = gw === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  const flags = r.onlink ? RTNH_F_ONLINK : 0;
  rtmsg(b, familyOf(dst), len, ROUTE_PROTOCOL, scope, RTN_UNICAST, flags);
  let at = putAddr(b, HEAD, RTA_DST, dst);
  if (gw !== undefined) at = putAddr(b, at, RTA_GATEWAY, gw);
  putU32(b, at, RTA_OIF, oif);
  return { type: RTM_NEWROUTE, flags: CREATE_OR_REPLACE, msg: b, what: `replace route ${r.dst}` };
}

export function deleteRouteRequest(r: RouteSpec): NlRequest {
  const [dst, len] = routeDst(r.dst);
  const gw = r.gateway ? addrOf(r.gateway) : undefined;
  const b = message(
    HEAD + addrAttrSize(dst) + (gw === undefined ? 0 : addrAttrSize(gw)),
    RTM_DELROUTE,
  );
  // NOWHERE matches any scope (as `ip route del`): a device route is scope link.
  rtmsg(b, familyOf(dst), len, 0, RT_SCOPE_NOWHERE, 0, 0);
  const at = putAddr(b, HEAD, RTA_DST, dst);
  if (gw !== undefined) putAddr(b, at, RTA_GATEWAY, gw);
  return { type: RTM_DELROUTE, flags: 0, msg: b, what: `delete route ${r.dst}`, missingOk: true };
}

/** `ip neigh replace <ip> lladdr <mac> dev <ifindex> nud permanent`. */
export function replaceNeighborRequest(n: NeighSpec, ifindex: number): NlRequest {
  const ip = addrOf(n.ip);
  const b = message(HEAD + addrAttrSize(ip) + MAC_ATTR_SIZE, RTM_NEWNEIGH);
  ndmsg(b, familyOf(ip), ifindex, NUD_PERMANENT, 0);
  putMac(b, putAddr(b, HEAD, NDA_DST, ip), NDA_LLADDR, n.mac);
  return {
    type: RTM_NEWNEIGH,
    flags: CREATE_OR_REPLACE,
    msg: b,
    what: `replace neighbor ${n.ip}`,
  };
}

export function deleteNeighborRequest(n: NeighSpec, ifindex: number): NlRequest {
  const ip = addrOf(n.ip);
  const b = message(HEAD + addrAttrSize(ip), RTM_DELNEIGH);
  ndmsg(b, familyOf(ip), ifindex, 0, 0);
  putAddr(b, HEAD, NDA_DST, ip);
  return {
    type: RTM_DELNEIGH,
    flags: 0,
    msg: b,
    what: `delete neighbor ${n.ip}`,
    missingOk: true,
  };
}

/** An FDB entry's message: ndmsg (bridge family, self) + destination + MAC. */
function fdbMessage(type: number, f: FdbSpec, ifindex: number, state: number): Buffer {
  const dst = addrOf(f.dst);
  const b = message(HEAD + addrAttrSize(dst) + MAC_ATTR_SIZE, type);
  ndmsg(b, AF_BRIDGE, ifindex, state, NTF_SELF);
  putMac(b, putAddr(b, HEAD, NDA_DST, dst), NDA_LLADDR, f.mac);
  return b;
}

/** `bridge fdb replace <mac> dev <ifindex> dst <ip> self permanent`. */
export function replaceFdbRequest(f: FdbSpec, ifindex: number): NlRequest {
  return {
    type: RTM_NEWNEIGH,
    flags: CREATE_OR_REPLACE,
    msg: fdbMessage(RTM_NEWNEIGH, f, ifindex, NUD_PERMANENT),
    what: `replace fdb ${f.mac}`,
  };
}

export function deleteFdbRequest(f: FdbSpec, ifindex: number): NlRequest {
  return {
    type: RTM_DELNEIGH,
    flags: 0,
    msg: fdbMessage(RTM_DELNEIGH, f, ifindex, 0),
    what: `delete fdb ${f.mac}`,
    missingOk: true,
  };
}

/** Fills in the sequence number and flags of a request's header; returns its message. */
export function frame(req: NlRequest, seq: number, extraFlags: number): Buffer {
  const b = req.msg;
  const flags = NLM_F_REQUEST | req.flags | extraFlags;
  b[6] = flags & 0xff;
  b[7] = flags >> 8;
  b.writeUInt32LE(seq, 8);
  return b;
}

/** errno of an NLMSG_ERROR payload (0 for an ACK), as a positive number. */
export function errnoOf(data: Buffer): number {
  const e = data.length >= 4 ? data.readInt32LE(0) : 0;
  return e === 0 ? 0 : -e;
}
