import { ipText } from './messages.js';
import {
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
  NDA_DST,
  NDA_LLADDR,
  NLMSG_HDRLEN,
  NTF_SELF,
  NUD_PERMANENT,
  RTA_DST,
  RTA_GATEWAY,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_TABLE,
} from './constants.js';

/**
 * Pure readers of the rtnetlink route and neighbour messages the agent dumps and watches: only
 * the fields it uses, read straight from the payload (a full pass reads thousands; the generic
 * parser of the npm package builds objects for every attribute and flag).
 */

/**
 * Attributes are walked inline (offset, length, type) rather than through a callback with a
 * subarray each: the agent runs --jitless, where every call and Buffer object is interpreted work.
 */

/** Length of the rtattr at `at` when it is whole, else 0 (the walk stops). */
function attrLength(data: Buffer, at: number): number {
  if (at + 4 > data.length) return 0;
  const len = data[at]! | (data[at + 1]! << 8);
  return len < 4 || at + len > data.length ? 0 : len;
}

/** Type of the rtattr at `at`, without the nested/byte-order bits. */
const attrType = (data: Buffer, at: number): number =>
  (data[at + 2]! | (data[at + 3]! << 8)) & 0x3fff;

/** Address text of an attribute's payload (4 or 16 bytes; else ''). */
function ipAt(data: Buffer, at: number, len: number): string {
  if (len === 4) return `${data[at]}.${data[at + 1]}.${data[at + 2]}.${data[at + 3]}`;
  return len === 16 ? ipText(data.subarray(at, at + 16)) : '';
}

const u32At = (data: Buffer, at: number): number => data.readUInt32LE(at);

export interface RawRoute {
  family: number;
  dstLen: number;
  /** RTA_TABLE when present, else rtm_table. */
  table: number;
  protocol: number;
  type: number;
  flags: number;
  dst: string;
  gateway: string;
  oif: number;
  multipath: boolean;
}

/** An rtmsg payload (RTM_NEWROUTE/DELROUTE); undefined when it is too short. */
export function readRoute(data: Buffer): RawRoute | undefined {
  if (data.length < 12) return undefined;
  const r: RawRoute = {
    family: data[0]!,
    dstLen: data[1]!,
    table: data[4]!,
    protocol: data[5]!,
    type: data[7]!,
    flags: data.readUInt32LE(8),
    dst: '',
    gateway: '',
    oif: -1,
    multipath: false,
  };
  for (
    let at = 12, len = attrLength(data, at);
    len;
    at += (len + 3) & ~3, len = attrLength(data, at)
  ) {
    const type = attrType(data, at);
    if (type === RTA_DST) r.dst = ipAt(data, at + 4, len - 4);
    else if (type === RTA_GATEWAY) r.gateway = ipAt(data, at + 4, len - 4);
    else if (type === RTA_OIF && len >= 8) r.oif = u32At(data, at + 4);
    else if (type === RTA_TABLE && len >= 8) r.table = u32At(data, at + 4);
    else if (type === RTA_MULTIPATH) r.multipath = true;
  }
  return r;
}

/** A string attribute's payload as text, up to its NUL. */
function stringAt(data: Buffer, at: number, len: number): string {
  const end = data.indexOf(0, at + 4);
  return data.toString('utf8', at + 4, end < 0 || end > at + len ? at + len : end);
}

export interface RawVxlan {
  vni: number;
  /** UDP destination port (0 when absent). */
  port: number;
  /** LOCAL or LOCAL6 as text; '' when neither. */
  local: string;
  /** Index of the underlay link (0 when absent). */
  linkIndex: number;
  learning: boolean;
}

export interface RawLinkInfo {
  index: number;
  name: string;
  mtu: number;
  /** Lowercase colon-separated link-layer address; '' when absent. */
  mac: string;
  up: boolean;
  kind?: string;
  /** The vxlan attributes of a vxlan link. */
  vxlan?: RawVxlan;
}

/**
 * An ifinfomsg payload of a link dump or reply: what links() and readState use (undefined when
 * too short). Vxlan attributes are read only for a vxlan link, the one kind the agent inspects.
 */
export function readLinkInfo(data: Buffer): RawLinkInfo | undefined {
  if (data.length < 16) return undefined;
  const link: RawLinkInfo = {
    index: data.readInt32LE(4),
    name: '',
    mtu: 0,
    mac: '',
    up: (data.readUInt32LE(8) & IFF_UP) !== 0,
  };
  let info = -1;
  let infoLen = 0;
  for (
    let at = 16, len = attrLength(data, at);
    len;
    at += (len + 3) & ~3, len = attrLength(data, at)
  ) {
    const type = attrType(data, at);
    if (type === IFLA_IFNAME) link.name = stringAt(data, at, len);
    else if (type === IFLA_MTU && len >= 8) link.mtu = u32At(data, at + 4);
    else if (type === IFLA_ADDRESS) link.mac = macText(data.subarray(at + 4, at + len));
    else if (type === IFLA_LINKINFO) [info, infoLen] = [at, len];
  }
  if (info >= 0) readLinkKind(data.subarray(info + 4, info + infoLen), link);
  return link;
}

/** The nested IFLA_LINKINFO: kind, and the vxlan attributes of IFLA_INFO_DATA for a vxlan link. */
function readLinkKind(nest: Buffer, link: RawLinkInfo): void {
  let data: Buffer | undefined;
  for (
    let at = 0, len = attrLength(nest, at);
    len;
    at += (len + 3) & ~3, len = attrLength(nest, at)
  ) {
    const type = attrType(nest, at);
    if (type === IFLA_INFO_KIND) link.kind = stringAt(nest, at, len);
    else if (type === IFLA_INFO_DATA) data = nest.subarray(at + 4, at + len);
  }
  if (link.kind === 'vxlan' && data) link.vxlan = readVxlan(data);
}

function readVxlan(data: Buffer): RawVxlan {
  const v: RawVxlan = { vni: 0, port: 0, local: '', linkIndex: 0, learning: false };
  for (
    let at = 0, len = attrLength(data, at);
    len;
    at += (len + 3) & ~3, len = attrLength(data, at)
  ) {
    const type = attrType(data, at);
    if (type === IFLA_VXLAN_ID && len >= 8) v.vni = u32At(data, at + 4);
    else if (type === IFLA_VXLAN_LINK && len >= 8) v.linkIndex = u32At(data, at + 4);
    else if (type === IFLA_VXLAN_LEARNING && len >= 5) v.learning = data[at + 4] !== 0;
    else if (type === IFLA_VXLAN_PORT && len >= 6) v.port = data.readUInt16BE(at + 4);
    // The kernel sends one of them (the family of the local address); LOCAL wins should both come.
    else if (type === IFLA_VXLAN_LOCAL) v.local = ipAt(data, at + 4, len - 4);
    else if (type === IFLA_VXLAN_LOCAL6 && !v.local) v.local = ipAt(data, at + 4, len - 4);
  }
  return v;
}

export interface RawAddress {
  family: number;
  prefixLen: number;
  index: number;
  /** IFA_LOCAL as text; '' when absent. */
  local: string;
  /** IFA_ADDRESS as text (the peer's on a point-to-point link); '' when absent. */
  address: string;
}

/** An ifaddrmsg payload of an address dump; undefined when too short. */
export function readAddress(data: Buffer): RawAddress | undefined {
  if (data.length < 8) return undefined;
  const a: RawAddress = {
    family: data[0]!,
    prefixLen: data[1]!,
    index: data.readUInt32LE(4),
    local: '',
    address: '',
  };
  for (
    let at = 8, len = attrLength(data, at);
    len;
    at += (len + 3) & ~3, len = attrLength(data, at)
  ) {
    const type = attrType(data, at);
    if (type === IFA_LOCAL) a.local = ipAt(data, at + 4, len - 4);
    else if (type === IFA_ADDRESS) a.address = ipAt(data, at + 4, len - 4);
  }
  return a;
}

export interface RawNeigh {
  family: number;
  ifindex: number;
  permanent: boolean;
  self: boolean;
  dst: string;
  /** Lowercase colon-separated MAC; '' when absent. */
  mac: string;
}

/** An ndmsg payload (RTM_NEWNEIGH/DELNEIGH, also FDB entries); undefined when too short. */
export function readNeigh(data: Buffer): RawNeigh | undefined {
  if (data.length < 12) return undefined;
  const n: RawNeigh = {
    family: data[0]!,
    ifindex: data.readInt32LE(4),
    permanent: (data.readUInt16LE(8) & NUD_PERMANENT) !== 0,
    self: (data[10]! & NTF_SELF) !== 0,
    dst: '',
    mac: '',
  };
  for (
    let at = 12, len = attrLength(data, at);
    len;
    at += (len + 3) & ~3, len = attrLength(data, at)
  ) {
    const type = attrType(data, at);
    if (type === NDA_DST) n.dst = ipAt(data, at + 4, len - 4);
    else if (type === NDA_LLADDR && len === 10) n.mac = macAt(data, at + 4);
  }
  return n;
}

export function macText(b: Buffer): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + HEX[b[i]!];
  return s;
}

/** Two lowercase hex digits of each byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A 6-byte MAC at `at` as text. */
const macAt = (d: Buffer, at: number): string =>
  `${HEX[d[at]!]}:${HEX[d[at + 1]!]}:${HEX[d[at + 2]!]}:${HEX[d[at + 3]!]}:${HEX[d[at + 4]!]}:${HEX[d[at + 5]!]}`;

/**
 * Calls `fn` with the type and payload of each netlink message in one datagram: the header read
 * by hand (length, type), no per-message object, as a pass's echoes come by the thousand.
 * Messages `skip` selects (by type and sender port) are passed over unread.
 */
export function eachMessage(
  buf: Buffer,
  fn: (type: number, data: Buffer) => void,
  skip?: (type: number, port: number) => boolean,
): void {
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > buf.length) return;
    const type = buf[at + 4]! | (buf[at + 5]! << 8);
    if (!skip?.(type, buf.readUInt32LE(at + 12)))
      fn(type, buf.subarray(at + NLMSG_HDRLEN, at + len));
    at += (len + 3) & ~3;
  }
}
