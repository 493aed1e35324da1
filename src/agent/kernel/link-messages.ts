import type { VxlanSpec } from '../desired.js';
import { ipBytes } from './messages.js';
import type { NlRequest } from './messages.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_LOCAL,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  NLMSG_HDRLEN,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_SETLINK,
} from './constants.js';

/**
 * Pure encoders of the rtnetlink requests the agent sends one at a time (link and address
 * writes, and the dumps it reads): a handful per pass, so built for clarity from small attribute
 * buffers rather than by hand like the batched writes of messages.ts. Sent by request.ts.
 */

/** One rtattr: 4-byte header, payload, zero padding to 4. */
function attr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc((4 + payload.length + 3) & ~3);
  b.writeUInt16LE(4 + payload.length, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}

const u8Attr = (type: number, v: number): Buffer => attr(type, Buffer.from([v]));
function u32Attr(type: number, v: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32LE(v, 0);
  return attr(type, p);
}
/** A NUL-terminated string, as `ip` sends names. */
const stringAttr = (type: number, s: string): Buffer =>
  attr(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]));
const macBytes = (mac: string): Buffer => Buffer.from(mac.replace(/:/g, ''), 'hex');

/** A whole message: nlmsghdr (length and type; frame() adds flags and sequence), head, attributes. */
function message(
  type: number,
  flags: number,
  head: Buffer,
  attrs: Buffer[],
  what: string,
): NlRequest {
  const body = Buffer.concat([head, ...attrs]);
  const msg = Buffer.alloc(NLMSG_HDRLEN + body.length);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(type, 4);
  body.copy(msg, NLMSG_HDRLEN);
  return { type, flags, msg, what };
}

/** struct ifinfomsg: family 0, the link's index (0: by name), flags and the mask of those to change. */
function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

/** struct ifaddrmsg: family, prefix length, flags 0, scope universe, index. */
function ifaddrmsg(family: number, prefixLen: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = family;
  b[1] = prefixLen;
  b.writeUInt32LE(index, 4);
  return b;
}

/** `ip link show`: every link. */
export function dumpLinksRequest(): NlRequest {
  return message(RTM_GETLINK, NLM_F_DUMP, ifinfomsg(), [], 'dump links');
}

/** `ip -4|-6 address show`: every address of one family. */
export function dumpAddressesRequest(family: number): NlRequest {
  return message(RTM_GETADDR, NLM_F_DUMP, ifaddrmsg(family, 0, 0), [], 'dump addresses');
}

/** Every route of one family (rtmsg with only the family set). */
export function dumpRoutesRequest(family: number): NlRequest {
  const head = Buffer.alloc(12);
  head[0] = family;
  return message(RTM_GETROUTE, NLM_F_DUMP, head, [], 'dump routes');
}

/**
 * Neighbours of one family; for AF_BRIDGE (FDB entries), those of `ifindex` (the kernel filters
 * a bridge-family dump by ndm_ifindex).
 */
export function dumpNeighborsRequest(family: number, ifindex = 0): NlRequest {
  const head = Buffer.alloc(12);
  head[0] = family;
  head.writeInt32LE(ifindex, 4);
  const what = family === AF_BRIDGE ? 'dump fdb' : 'dump neighbors';
  return message(RTM_GETNEIGH, NLM_F_DUMP, head, [], what);
}

/** `ip link show <name>`: one link, by name. */
export function getLinkRequest(name: string): NlRequest {
  return message(RTM_GETLINK, 0, ifinfomsg(), [stringAttr(IFLA_IFNAME, name)], `get link ${name}`);
}

/** `ip link delete <name>`: by name, so a missing link is one ENODEV reply, not a lookup first. */
export function deleteLinkRequest(name: string): NlRequest {
  return message(
    RTM_DELLINK,
    0,
    ifinfomsg(),
    [stringAttr(IFLA_IFNAME, name)],
    `delete link ${name}`,
  );
}

/** IFLA_LINKINFO: the link kind and, when it has one, its kind-specific data. */
function linkInfo(kind: string, data?: Buffer[]): Buffer {
  const parts = [stringAttr(IFLA_INFO_KIND, kind)];
  if (data) parts.push(attr(IFLA_INFO_DATA, Buffer.concat(data)));
  return attr(IFLA_LINKINFO, Buffer.concat(parts));
}

/** A new link that must not exist yet (EEXIST otherwise); `up`: created up, as `ip link add ... up`. */
function newLink(name: string, mtu: number, extra: Buffer[], what: string, up = false): NlRequest {
  return message(
    RTM_NEWLINK,
    NLM_F_CREATE | NLM_F_EXCL,
    up ? ifinfomsg(0, IFF_UP, IFF_UP) : ifinfomsg(),
    [stringAttr(IFLA_IFNAME, name), u32Attr(IFLA_MTU, mtu), ...extra],
    what,
  );
}

/**
 * `ip link add <name> mtu <mtu> address <mac> [up] type vxlan id <vni> local <ip> dev <linkIndex>
 * nolearning dstport <port>`: the local address as LOCAL or LOCAL6 by its family.
 */
export function createVxlanRequest(spec: VxlanSpec, opts: { up?: boolean } = {}): NlRequest {
  const local = ipBytes(spec.local);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(spec.port, 0); // the one attribute in network byte order
  const data = [
    u32Attr(IFLA_VXLAN_ID, spec.vni),
    attr(local.length === 16 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, local),
    u32Attr(IFLA_VXLAN_LINK, spec.linkIndex),
    u8Attr(IFLA_VXLAN_LEARNING, 0),
    attr(IFLA_VXLAN_PORT, port),
  ];
  const extra = [attr(IFLA_ADDRESS, macBytes(spec.mac)), linkInfo('vxlan', data)];
  return newLink(spec.name, spec.mtu, extra, `create vxlan link ${spec.name}`, opts.up);
}

/** `ip link add <name> mtu <mtu> type wireguard`. */
export function createWireguardRequest(name: string, mtu: number): NlRequest {
  return newLink(name, mtu, [linkInfo('wireguard')], `create wireguard link ${name}`);
}

/** `ip link set dev <index> [mtu <mtu>] [address <mac>]`. */
export function setLinkRequest(index: number, set: { mtu?: number; mac?: string }): NlRequest {
  const attrs: Buffer[] = [];
  if (set.mtu !== undefined) attrs.push(u32Attr(IFLA_MTU, set.mtu));
  if (set.mac !== undefined) attrs.push(attr(IFLA_ADDRESS, macBytes(set.mac)));
  return message(RTM_SETLINK, 0, ifinfomsg(index), attrs, `set link ${index}`);
}

/** `ip link set dev <index> up`: IFF_UP in the flags and in the mask of flags to change. */
export function setLinkUpRequest(index: number): NlRequest {
  return message(RTM_SETLINK, 0, ifinfomsg(index, IFF_UP, IFF_UP), [], `set link ${index} up`);
}

/** `ip address replace <ip>/<len> dev <index>` (LOCAL and ADDRESS both the address). */
export function replaceAddressRequest(index: number, cidr: string): NlRequest {
  const slash = cidr.indexOf('/');
  const len = Number(cidr.slice(slash + 1));
  const ip = ipBytes(slash < 0 ? cidr : cidr.slice(0, slash));
  const family = ip.length === 16 ? AF_INET6 : AF_INET;
  if (slash < 0 || !(len >= 0 && len <= ip.length * 8 && Number.isInteger(len)))
    throw new Error(`not an address/prefix: ${JSON.stringify(cidr)}`);
  return message(
    RTM_NEWADDR,
    NLM_F_CREATE | NLM_F_REPLACE,
    ifaddrmsg(family, len, index),
    [attr(IFA_LOCAL, ip), attr(IFA_ADDRESS, ip)],
    `replace address ${cidr}`,
  );
}
