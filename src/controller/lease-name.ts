import { createHash } from 'node:crypto';

/**
 * `<network>.<node>`, shortened with a hash suffix past 253 characters.
 * Local stand-in for src/api/names.ts (leaseName) until that lands; same rule.
 */
export function leaseName(network: string, node: string): string {
  const full = `${network}.${node}`;
  if (full.length <= 253) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${full.slice(0, 253 - 11).replace(/[.-]+$/, '')}-${hash}`;
}
