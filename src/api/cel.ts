import { bitsOf, maskAddr, tryParseCidr, tryParseIp, type Family } from '../ipam/cidr.js';
import {
  SPECIAL_RANGES,
  WIDEST_PREFIX,
  isGlobalUnicast,
  specialRangesOverlapped,
} from '../ipam/special.js';
import type { Rule } from './rules.js';

/**
 * Small builders for the CEL rules (Kubernetes CEL with the ip/cidr libraries) and their JS
 * twins. Every builder returns text that is safe to evaluate on any input: invalid values make
 * the guarded rules pass, so only the rule about validity itself fails and the user gets one
 * clear message instead of a cascade of evaluation errors.
 */

/** CEL: `expr` (a string) is a CIDR of the family. */
export function celIsCidrOf(expr: string, family: Family): string {
  return `(isCIDR(${expr}) && cidr(${expr}).ip().family() == ${family})`;
}

/** CEL: `expr` (a string) is an IP address of the family. */
export function celIsIpOf(expr: string, family: Family): string {
  return `(isIP(${expr}) && ip(${expr}).family() == ${family})`;
}

/** CEL: the CIDR text is in canonical form (host bits zero; RFC 5952 text for IPv6). */
export function celIsCanonicalCidr(expr: string): string {
  return `string(cidr(${expr}).masked()) == ${expr}`;
}

/**
 * CEL: the list literal ['/0', '/1', ..., '/bits']. Indexing it turns a prefix length into text
 * of known size; `'/' + string(n)` has an unbounded size estimate and blows the cost budget.
 */
export function celPrefixSuffixes(family: Family): string {
  return `[${Array.from({ length: bitsOf(family) + 1 }, (_, i) => `'/${i}'`).join(', ')}]`;
}

/** CEL: the CIDR `ip`/`len` (text expressions: an address string and an int). */
export function celCidrOf(ip: string, len: string, family: Family): string {
  return `cidr(${ip} + ${celPrefixSuffixes(family)}[${len}])`;
}

/**
 * CEL: address `a` <= address `b` (both valid, same family). The ip library has no ordering, so
 * compare bit by bit through prefixes: at the first bit where the two differ, `a` must have 0.
 */
export function celIpLessOrEqual(a: string, b: string, family: Family): string {
  const bits = Array.from({ length: bitsOf(family) }, (_, i) => i + 1).join(', ');
  const pre = (n: string) => celCidrOf(a, n, family);
  return (
    `[${bits}].all(j, !${pre('j - 1')}.containsIP(${b}) || ${pre('j')}.containsIP(${b})` +
    ` || ${pre('j - 1')}.masked().ip() == ${pre('j')}.masked().ip())`
  );
}

// JS twins.

export function isCidrOf(text: unknown, family: Family): boolean {
  return tryParseCidr(text)?.family === family;
}

export function isCanonicalCidr(text: unknown): boolean {
  return tryParseCidr(text)?.canonical === true;
}

export function isIpOf(text: unknown, family: Family): boolean {
  return tryParseIp(text)?.family === family;
}

export function prefixOf(text: string): number {
  return tryParseCidr(text)!.prefix;
}

/** `ip` is the first address of a block of /len (any family). */
export function isAligned(ip: string, len: number): boolean {
  const p = tryParseIp(ip)!;
  return maskAddr(p.family, p.addr, len) === p.addr;
}

export function ipLessOrEqual(a: string, b: string): boolean {
  return tryParseIp(a)!.addr <= tryParseIp(b)!.addr;
}

// Containment lives with the parser, in src/ipam.
export { cidrContainsCidr, cidrContainsIp } from '../ipam/text.js';

/**
 * Rules for a CIDR field (network or lease subnet): not wider than WIDEST_PREFIX, and no overlap
 * with a special-purpose range (loopback, link-local, multicast, ...), one message per range.
 */
export function cidrRangeRules(field: string, family: Family): Rule<string>[] {
  const valid = celIsCidrOf('self', family);
  const widest = WIDEST_PREFIX[family];
  return [
    {
      rule: `!${valid} || cidr(self).prefixLength() >= ${widest}`,
      message: `${field} must not be wider than /${widest}`,
      check: (s) => !isCidrOf(s, family) || prefixOf(s) >= widest,
    },
    ...SPECIAL_RANGES[family].map((r): Rule<string> => ({
      rule: `!${valid} || !(cidr(self).containsCIDR('${r.cidr}') || cidr('${r.cidr}').containsCIDR(self))`,
      message: `${field} must not overlap ${r.cidr} (${r.what})`,
      check: (s) => !specialRangesOverlapped(s).some((o) => o.cidr === r.cidr),
    })),
  ];
}

/** Rule for an address peers send to: a unicast address (CEL isGlobalUnicast, Go semantics). */
export function unicastRule(field: string, family: Family): Rule<string> {
  return {
    rule: `!${celIsIpOf('self', family)} || ip(self).isGlobalUnicast()`,
    message: `${field} must be a unicast address (not unspecified, loopback, link-local, multicast or broadcast)`,
    check: (s) => !isIpOf(s, family) || isGlobalUnicast(s),
  };
}
