import {
  maskIpv4,
  overlaps,
  parseCidr,
  tryParseCidr,
  tryParseIp,
  tryParseIpv4,
  type Cidr,
  type Family,
} from './cidr.js';

/**
 * Address ranges a pod network or a peer address must never use, and the widest network the
 * operator accepts. Shared by the admission rules (src/api) and the agent's peer checks.
 */

/** Widest pod network per family: a /8 (v4) or /32 (v6) already holds 65536 /24s or /48s. */
export const WIDEST_PREFIX: Record<Family, number> = { 4: 8, 6: 32 };

export interface SpecialRange {
  cidr: string;
  what: string;
}

/** Ranges no pod network may overlap (RFC 6890 special-purpose blocks that routing breaks). */
export const SPECIAL_RANGES: Record<Family, readonly SpecialRange[]> = {
  4: [
    { cidr: '0.0.0.0/8', what: '"this network"' },
    { cidr: '127.0.0.0/8', what: 'loopback' },
    { cidr: '169.254.0.0/16', what: 'link-local' },
    { cidr: '224.0.0.0/4', what: 'multicast' },
    { cidr: '240.0.0.0/4', what: 'reserved, with the broadcast address' },
  ],
  6: [
    { cidr: '::/8', what: 'loopback, unspecified and IPv4-mapped' },
    { cidr: 'fe80::/10', what: 'link-local' },
    { cidr: 'ff00::/8', what: 'multicast' },
  ],
};

const parsedRanges = (family: Family): Array<SpecialRange & { c: Cidr }> =>
  SPECIAL_RANGES[family].map((r) => ({ ...r, c: parseCidr(r.cidr) }));
const RANGES = { 4: parsedRanges(4), 6: parsedRanges(6) };

/** The special ranges a CIDR overlaps (none for text that is no CIDR). */
export function specialRangesOverlapped(text: unknown): SpecialRange[] {
  const c = tryParseCidr(text);
  if (!c) return [];
  return RANGES[c.family].filter((r) => overlaps(r.c, c)).map(({ cidr, what }) => ({ cidr, what }));
}

const V4_BROADCAST = 0xffffffff;
/** Ranges no peer address may be in (besides unspecified and broadcast), parsed once. */
const NOT_UNICAST: Record<Family, readonly Cidr[]> = {
  4: ['127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4'].map((c) => parseCidr(c)),
  6: ['fe80::/10', 'ff00::/8'].map((c) => parseCidr(c)),
};
/** The IPv4 ones as numbers: every peer's publicIP is checked on every pass. */
const NOT_UNICAST_V4 = NOT_UNICAST[4].map((c) => ({ net: Number(c.addr), prefix: c.prefix }));
const inRange6 = (addr: bigint, c: Cidr): boolean => {
  const shift = BigInt(128 - c.prefix);
  return addr >> shift === c.addr >> shift;
};

/**
 * Go's net/netip IsGlobalUnicast, which the CEL `ip(x).isGlobalUnicast()` of the API server
 * uses: not unspecified, loopback, link-local, multicast or the IPv4 broadcast address.
 * (Private ranges such as 10/8 count as global unicast.)
 */
export function isGlobalUnicast(text: unknown): boolean {
  const v4 = typeof text === 'string' ? tryParseIpv4(text) : undefined;
  if (v4 !== undefined) {
    if (v4 === 0 || v4 === V4_BROADCAST) return false;
    for (const r of NOT_UNICAST_V4) if (maskIpv4(v4, r.prefix) === r.net) return false;
    return true;
  }
  const ip = tryParseIp(text);
  if (!ip) return false;
  if (ip.addr === 0n || ip.addr === 1n) return false;
  return !NOT_UNICAST[6].some((c) => inRange6(ip.addr, c));
}
