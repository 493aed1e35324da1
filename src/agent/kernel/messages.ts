import { canonicalCidr } from '../../ipam/index.js';
import { formatIPv4, formatIp, tryParseIp } from '../../ipam/cidr.js';
import { ROUTE_PROTOCOL, type FdbSpec, type NeighSpec, type RouteSpec } from '../desired.js';

/**
 * Pure encoders of the rtnetlink write requests the agent sends in batches (route, neighbour and
 * FDB entries): the bytes the npm `netlink` formatters produce, padded to 4 (messages.test.ts
 * checks), written directly because a pass encodes thousands of them.
 */

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_BRIDGE = 7;
export const RT_TABLE_MAIN = 254;

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_CREATE = 0x400;
export const NLMSG_ERROR = 2;
const NLMSG_HDRLEN = 16;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const RTN_UNICAST = 1;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
/** RTNH_F_ONLINK in rtm_flags: the gateway is on the link even without a covering route. */
export const RTNH_F_ONLINK = 4;
const NUD_PERMANENT = 0x80;
const NTF_SELF = 0x02;

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
  const ip = tryParseIp(s);
  if (!ip) throw new Error(`not an IP address: ${JSON.stringify(s)}`);
  const hex = ip.addr.toString(16).padStart(ip.family === 4 ? 8 : 32, '0');
  return Buffer.from(hex, 'hex');
}

/** Address text (dotted quad, RFC 5952) of 4 or 16 address bytes; '' for none. */
export function ipText(b?: Buffer): string {
  if (!b || (b.length !== 4 && b.length !== 16)) return '';
  if (b.length === 4) return formatIPv4(b.readUInt32BE(0));
  return formatIp(6, BigInt(`0x${b.toString('hex')}`));
}

type AttrValue = { ip: string } | { mac: string } | { u32: number };
const familyOf = (s: string): number => (s.includes(':') ? AF_INET6 : AF_INET);
const valueLength = (v: AttrValue): number =>
  'ip' in v ? (v.ip.includes(':') ? 16 : 4) : 'mac' in v ? 6 : 4;

/** Writes an address, MAC or u32 at `at`: by hand for IPv4 and MACs, most of what a pass encodes. */
function writeValue(b: Buffer, at: number, v: AttrValue): void {
  if ('u32' in v) b.writeUInt32LE(v.u32, at);
  else if ('mac' in v) {
    for (let i = 0; i < 6; i++) b[at + i] = parseInt(v.mac.slice(i * 3, i * 3 + 2), 16);
  } else if (v.ip.includes(':')) ipBytes(v.ip).copy(b, at);
  else {
    const parts = v.ip.split('.');
    for (let i = 0; i < 4; i++) b[at + i] = Number(parts[i]);
  }
}

/**
 * nlmsghdr + a 12-byte fixed header (rtmsg, ndmsg) + rtattrs, each padded to 4 bytes (also the
 * last: the next message of a batch must start aligned), in one buffer.
 */
function message(
  type: number,
  flags: number,
  head: (b: Buffer, at: number) => void,
  list: Array<[number, AttrValue]>,
): Pick<NlRequest, 'type' | 'flags' | 'msg'> {
  let size = NLMSG_HDRLEN + 12;
  for (const [, v] of list) size += 4 + ((valueLength(v) + 3) & ~3);
  // From Node's shared pool (a slice, not an ArrayBuffer of its own per message: a pass encodes
  // thousands, and each own ArrayBuffer is garbage-collector work), zeroed by hand.
  const b = Buffer.allocUnsafe(size).fill(0);
  b.writeUInt32LE(size, 0);
  b.writeUInt16LE(type, 4);
  head(b, NLMSG_HDRLEN);
  let at = NLMSG_HDRLEN + 12;
  for (const [attr, v] of list) {
    const len = valueLength(v);
    b.writeUInt16LE(4 + len, at);
    b.writeUInt16LE(attr, at + 2);
    writeValue(b, at + 4, v);
    at += 4 + ((len + 3) & ~3);
  }
  return { type, flags, msg: b };
}

/** struct rtmsg, main table. */
const rtmsg =
  (f: {
    family: number;
    dstLen: number;
    protocol?: number;
    scope?: number;
    type?: number;
    flags?: number;
  }) =>
  (b: Buffer, at: number): void => {
    b[at] = f.family;
    b[at + 1] = f.dstLen;
    b[at + 4] = RT_TABLE_MAIN;
    b[at + 5] = f.protocol ?? 0;
    b[at + 6] = f.scope ?? RT_SCOPE_UNIVERSE;
    b[at + 7] = f.type ?? 0;
    b.writeUInt32LE(f.flags ?? 0, at + 8);
  };

/** struct ndmsg. */
const ndmsg =
  (f: { family: number; ifindex: number; state?: number; flags?: number }) =>
  (b: Buffer, at: number): void => {
    b[at] = f.family;
    b.writeInt32LE(f.ifindex, at + 4);
    b.writeUInt16LE(f.state ?? 0, at + 8);
    b[at + 10] = f.flags ?? 0;
  };

const CREATE_OR_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;

/** `ip route replace <dst> via <gw> dev <oif> [onlink] proto 157` in the main table. */
export function replaceRouteRequest(r: RouteSpec, oif: number): NlRequest {
  const [dst, len] = canonicalCidr(r.dst).split('/') as [string, string];
  const head = rtmsg({
    family: familyOf(dst),
    dstLen: Number(len),
    protocol: ROUTE_PROTOCOL,
    // A route straight over a tunnel device (wireguard) has no gateway: scope link.
    scope: r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
    type: RTN_UNICAST,
    flags: r.onlink ? RTNH_F_ONLINK : 0,
  });
  const attrs: Array<[number, AttrValue]> = [[RTA_DST, { ip: dst }]];
  if (r.gateway) attrs.push([RTA_GATEWAY, { ip: r.gateway }]);
  attrs.push([RTA_OIF, { u32: oif }]);
  return {
    ...message(RTM_NEWROUTE, CREATE_OR_REPLACE, head, attrs),
    what: `replace route ${r.dst}`,
  };
}

export function deleteRouteRequest(r: RouteSpec): NlRequest {
  const [dst, len] = canonicalCidr(r.dst).split('/') as [string, string];
  const attrs: Array<[number, AttrValue]> = [[RTA_DST, { ip: dst }]];
  if (r.gateway) attrs.push([RTA_GATEWAY, { ip: r.gateway }]);
  // NOWHERE matches any scope (as `ip route del`): a device route is scope link.
  const head = rtmsg({ family: familyOf(dst), dstLen: Number(len), scope: RT_SCOPE_NOWHERE });
  return {
    ...message(RTM_DELROUTE, 0, head, attrs),
    what: `delete route ${r.dst}`,
    missingOk: true,
  };
}

/** `ip neigh replace <ip> lladdr <mac> dev <ifindex> nud permanent`. */
export function replaceNeighborRequest(n: NeighSpec, ifindex: number): NlRequest {
  const head = ndmsg({ family: familyOf(n.ip), ifindex, state: NUD_PERMANENT });
  const attrs: Array<[number, AttrValue]> = [
    [NDA_DST, { ip: n.ip }],
    [NDA_LLADDR, { mac: n.mac }],
  ];
  return {
    ...message(RTM_NEWNEIGH, CREATE_OR_REPLACE, head, attrs),
    what: `replace neighbor ${n.ip}`,
  };
}

export function deleteNeighborRequest(n: NeighSpec, ifindex: number): NlRequest {
  const head = ndmsg({ family: familyOf(n.ip), ifindex });
  return {
    ...message(RTM_DELNEIGH, 0, head, [[NDA_DST, { ip: n.ip }]]),
    what: `delete neighbor ${n.ip}`,
    missingOk: true,
  };
}

/** `bridge fdb replace <mac> dev <ifindex> dst <ip> self permanent`. */
export function replaceFdbRequest(f: FdbSpec, ifindex: number): NlRequest {
  const head = ndmsg({ family: AF_BRIDGE, ifindex, state: NUD_PERMANENT, flags: NTF_SELF });
  const attrs: Array<[number, AttrValue]> = [
    [NDA_DST, { ip: f.dst }],
    [NDA_LLADDR, { mac: f.mac }],
  ];
  return {
    ...message(RTM_NEWNEIGH, CREATE_OR_REPLACE, head, attrs),
    what: `replace fdb ${f.mac}`,
  };
}

export function deleteFdbRequest(f: FdbSpec, ifindex: number): NlRequest {
  const head = ndmsg({ family: AF_BRIDGE, ifindex, flags: NTF_SELF });
  const attrs: Array<[number, AttrValue]> = [
    [NDA_DST, { ip: f.dst }],
    [NDA_LLADDR, { mac: f.mac }],
  ];
  return {
    ...message(RTM_DELNEIGH, 0, head, attrs),
    what: `delete fdb ${f.mac}`,
    missingOk: true,
  };
}

/** Fills in the sequence number and flags of a request's header; returns its message. */
export function frame(req: NlRequest, seq: number, extraFlags: number): Buffer {
  req.msg.writeUInt16LE(NLM_F_REQUEST | req.flags | extraFlags, 6);
  req.msg.writeUInt32LE(seq, 8);
  return req.msg;
}

/** errno of an NLMSG_ERROR payload (0 for an ACK), as a positive number. */
export function errnoOf(data: Buffer): number {
  const e = data.length >= 4 ? data.readInt32LE(0) : 0;
  return e === 0 ? 0 : -e;
}
