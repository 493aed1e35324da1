/**
 * A minimal reader of classic pcap files (as `tcpdump -w` writes them on an Ethernet link), so
 * the WireGuard suite judges the underlay capture itself instead of trusting tcpdump's summary.
 */

export interface Packet {
  /** 4 (IPv4), 6 (IPv6) or the EtherType for anything else (ARP ...). */
  family: 4 | 6 | number;
  /** IP protocol / next header (17 UDP, 6 TCP, 1 ICMP, 58 ICMPv6). */
  proto?: number;
  src?: string;
  dst?: string;
  srcPort?: number;
  dstPort?: number;
  /** The whole frame, to search for bytes that must not travel in the clear. */
  frame: Buffer;
}

const ipv4 = (b: Buffer): string => [...b].join('.');
const ipv6 = (b: Buffer): string =>
  [...Array(8).keys()].map((i) => b.readUInt16BE(i * 2).toString(16)).join(':');

function parseFrame(frame: Buffer): Packet {
  let type = frame.readUInt16BE(12);
  let off = 14;
  if (type === 0x8100) {
    type = frame.readUInt16BE(16);
    off = 18;
  }
  if (type === 0x0800) {
    const ihl = (frame[off]! & 0x0f) * 4;
    const proto = frame[off + 9]!;
    const l4 = off + ihl;
    const ports = proto === 17 || proto === 6;
    return {
      family: 4,
      proto,
      src: ipv4(frame.subarray(off + 12, off + 16)),
      dst: ipv4(frame.subarray(off + 16, off + 20)),
      ...(ports ? { srcPort: frame.readUInt16BE(l4), dstPort: frame.readUInt16BE(l4 + 2) } : {}),
      frame,
    };
  }
  if (type === 0x86dd) {
    const proto = frame[off + 6]!;
    const l4 = off + 40;
    const ports = proto === 17 || proto === 6;
    return {
      family: 6,
      proto,
      src: ipv6(frame.subarray(off + 8, off + 24)),
      dst: ipv6(frame.subarray(off + 24, off + 40)),
      ...(ports ? { srcPort: frame.readUInt16BE(l4), dstPort: frame.readUInt16BE(l4 + 2) } : {}),
      frame,
    };
  }
  return { family: type, frame };
}

/** The packets of a pcap file (microsecond or nanosecond, either byte order; Ethernet only). */
export function readPcap(buf: Buffer): Packet[] {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error('not a pcap file');
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`pcap link type ${u32(20)} is not Ethernet`);
  const out: Packet[] = [];
  for (let off = 24; off + 16 <= buf.length;) {
    const incl = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length >= 14) out.push(parseFrame(frame));
  }
  return out;
}

/** Byte patterns of IPv4 addresses, to find them anywhere in a frame (inner headers too). */
export function addressBytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}
