import type { Rule } from './rules.js';

/**
 * A WireGuard key as `wg` prints it: 32 bytes in standard base64, so 43 characters and one '='.
 * The 43rd character carries only 2 data bits (the remaining 4 must be zero), hence its short
 * alphabet: any other text would not round-trip through base64 and is refused.
 */
export const WIREGUARD_KEY_PATTERN = '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$';
const KEY_RE = new RegExp(WIREGUARD_KEY_PATTERN);

/** All-zero bytes: a public key WireGuard cannot handshake with (no shared secret). */
export const ZERO_WIREGUARD_KEY = `${'A'.repeat(43)}=`;

export function isWireguardKey(s: unknown): boolean {
  return typeof s === 'string' && KEY_RE.test(s);
}

export function wireguardKeyRules(field: string): Rule<string>[] {
  return [
    {
      rule: `self.matches('${WIREGUARD_KEY_PATTERN}') && self != '${ZERO_WIREGUARD_KEY}'`,
      message: `${field} must be a WireGuard public key: 32 bytes in base64 (44 characters ending in '='), not all zero`,
      check: (s) => isWireguardKey(s) && s !== ZERO_WIREGUARD_KEY,
    },
  ];
}
