import { ipText } from './messages.js';

/**
 * Pure readers of the rtnetlink route and neighbour messages the agent dumps and watches: only
 * the fields it uses, read straight from the payload (a full pass reads thousands; the generic
 * parser of the npm package builds objects for every attribute and flag).
 */

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const NUD_PERMANENT = 0x80;
const NLMSG_HDRLEN = 16;
const NTF_SELF = 0x02;

/** Calls `fn` with each rtattr (type without the nested/byte-order bits, payload) from `from`. */
function eachAttr(data: Buffer, from: number, fn: (type: number, value: Buffer) => void): void {
  let at = from;
  while (at + 4 <= data.length) {
    const len = data.readUInt16LE(at);
    if (len < 4 || at + len > data.length) return;
    fn(data.readUInt16LE(at + 2) & 0x3fff, data.subarray(at + 4, at + len));
    at += (len + 3) & ~3;
  }
}

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
  eachAttr(data, 12, (type, v) => {
    if (type === RTA_DST) r.dst = ipText(v);
    else if (type === RTA_GATEWAY) r.gateway = ipText(v);
    else if (type === RTA_OIF && v.length >= 4) r.oif = v.readUInt32LE(0);
    else if (type === RTA_TABLE && v.length >= 4) r.table = v.readUInt32LE(0);
    else if (type === RTA_MULTIPATH) r.multipath = true;
  });
  return r;
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
  eachAttr(data, 12, (type, v) => {
    if (type === NDA_DST) n.dst = ipText(v);
    else if (type === NDA_LLADDR && v.length === 6) n.mac = macText(v);
  });
  return n;
}

export function macText(b: Buffer): string {
  let s = '';
  for (let i = 0; i < b.length; i++)
    s += (i ? ':' : '') + (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/**
 * Calls `fn` with the type and payload of each netlink message in one datagram: the header read
 * by hand (length, type), no per-message object, as a pass's echoes come by the thousand.
 */
export function eachMessage(buf: Buffer, fn: (type: number, data: Buffer) => void): void {
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > buf.length) return;
    fn(buf.readUInt16LE(at + 4), buf.subarray(at + NLMSG_HDRLEN, at + len));
    at += (len + 3) & ~3;
  }
}
