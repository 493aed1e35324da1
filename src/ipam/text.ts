import {
  bitsOf,
  formatCidr,
  formatIp,
  maskAddr,
  maskIpv4,
  tryParseCidr,
  tryParseIp,
  tryParseIpv4,
  type Family,
  type ParsedCidr,
} from './cidr.js';
import { IpamError } from './errors.js';

/**
 * CIDR and address text as the rest of the operator holds it (CR fields, kernel dumps, net-conf):
 * one strict parser (cidr.ts) behind every reader, one wording for text it refuses.
 */

const EXAMPLE: Record<Family | 'any', string> = {
  4: 'an IPv4 CIDR such as 10.244.0.0/16',
  6: 'an IPv6 CIDR such as fd00:10:244::/56',
  any: 'an IPv4 or IPv6 CIDR such as 10.244.0.0/16',
};

/**
 * The one message for CIDR text that does not parse (or is of the wrong family). Admission says
 * it without the value (CEL messages are static); runtime readers append what they were given.
 */
export function invalidCidrMessage(field: string, family?: Family, text?: unknown): string {
  const got = text === undefined ? '' : `, got ${JSON.stringify(String(text).slice(0, 80))}`;
  return `${field} must be ${EXAMPLE[family ?? 'any']}${got}`;
}

/** Parses CIDR text of a named field (host bits may be set); throws IpamError EIPAM_INVALID_CIDR. */
export function parseCidrField(text: unknown, field: string, family?: Family): ParsedCidr {
  const c = tryParseCidr(text);
  if (!c || (family !== undefined && c.family !== family))
    throw new IpamError('EIPAM_INVALID_CIDR', invalidCidrMessage(field, family, text));
  return c;
}

/** "10.244.1.7/24" -> "10.244.1.0/24" (RFC 5952 for IPv6); throws IpamError on garbage. */
export function canonicalCidr(text: string, field = 'CIDR', family?: Family): string {
  const c = parseCidrField(text, field, family);
  // Canonical text is its own formatting: skip printing it again (every peer, every pass).
  return c.canonical ? text : formatCidr(c);
}

/** Canonical text when `text` parses, else undefined (for comparisons of untrusted values). */
export function tryCanonicalCidr(text: unknown): string | undefined {
  const c = tryParseCidr(text);
  return c ? (c.canonical ? (text as string) : formatCidr(c)) : undefined;
}

/** Network address of a CIDR ("10.244.1.0/24" -> "10.244.1.0"). */
export function networkAddress(text: string, field = 'CIDR'): string {
  const c = parseCidrField(text, field);
  return formatIp(c.family, c.addr);
}

/** First address after the network address, with the prefix: what FLANNEL_SUBNET carries. */
export function firstUsable(text: string, field = 'CIDR'): string {
  const c = parseCidrField(text, field);
  const next = (c.addr + 1n) & ((1n << BigInt(bitsOf(c.family))) - 1n);
  return `${formatIp(c.family, next)}/${c.prefix}`;
}

/** RFC 5952 / dotted-quad text of an address; undefined when it does not parse. */
export function tryCanonicalIp(text: unknown): string | undefined {
  const ip = tryParseIp(text);
  return ip ? formatIp(ip.family, ip.addr) : undefined;
}

/** cidrContainsIp with the CIDR parsed once: the agent asks it of every peer's address. */
export function cidrMatcher(cidrText: string | undefined): (ipText: string) => boolean {
  const c = tryParseCidr(cidrText);
  if (!c) return () => false;
  if (c.family === 4) {
    // In numbers: asked of every peer's publicIP on every pass.
    const net = Number(c.addr);
    return (ipText) => {
      const n = tryParseIpv4(ipText);
      return n !== undefined && maskIpv4(n, c.prefix) === net;
    };
  }
  return (ipText) => {
    const ip = tryParseIp(ipText);
    return !!ip && ip.family === c.family && maskAddr(c.family, ip.addr, c.prefix) === c.addr;
  };
}

export function cidrContainsIp(cidrText: string, ipText: string): boolean {
  return cidrMatcher(cidrText)(ipText);
}

export function cidrContainsCidr(outerText: string, innerText: string): boolean {
  const outer = tryParseCidr(outerText);
  const inner = tryParseCidr(innerText);
  if (!outer || !inner || outer.family !== inner.family || outer.prefix > inner.prefix)
    return false;
  return maskAddr(outer.family, inner.addr, outer.prefix) === outer.addr;
}

/** Same network and prefix once host bits are cleared; false when either does not parse. */
export function sameCidr(a: unknown, b: unknown): boolean {
  const x = tryParseCidr(a);
  const y = tryParseCidr(b);
  return !!x && !!y && x.family === y.family && x.addr === y.addr && x.prefix === y.prefix;
}

/** Whether two CIDR texts share any address; false when either does not parse. */
export function cidrTextsOverlap(a: unknown, b: unknown): boolean {
  const x = tryParseCidr(a);
  const y = tryParseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  const p = Math.min(x.prefix, y.prefix);
  return maskAddr(x.family, x.addr, p) === maskAddr(y.family, y.addr, p);
}
