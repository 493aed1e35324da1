import { createHash } from 'node:crypto';
import { LABEL_NETWORK, LABEL_NODE } from './group.js';

/**
 * Object names and label values derived from network and node names.
 * Kubernetes limits: object names are DNS-1123 subdomains (<= 253 chars), label values <= 63 chars.
 * Long inputs are shortened with a sha256 suffix of the ORIGINAL input, so two different long
 * inputs that share a prefix still map to different names.
 */

export const MAX_NAME_LENGTH = 253;
export const MAX_LABEL_VALUE_LENGTH = 63;
/** Hex digits of sha256 kept in shortened names: 40 bits, collisions are not a practical concern. */
const HASH_LENGTH = 10;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isDnsSubdomain(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && DNS_SUBDOMAIN.test(name);
}

export function isLabelValue(value: string): boolean {
  return value.length <= MAX_LABEL_VALUE_LENGTH && LABEL_VALUE.test(value);
}

export function shortHash(input: string, length = HASH_LENGTH): string {
  return createHash('sha256').update(input).digest('hex').slice(0, length);
}

/**
 * Name of the SubnetLease of `node` in `network`: `<network>.<node>`.
 * Past 253 characters (or when the inputs are not valid names, which the API server would
 * not allow anyway) the name is made valid, cut, and suffixed with `-<sha256[:10]>` of the
 * joined name. Always a valid DNS subdomain.
 */
export function leaseName(network: string, node: string): string {
  const full = `${network}.${node}`;
  if (isDnsSubdomain(full)) return full;
  return shorten(toSubdomainChars(full), MAX_NAME_LENGTH, shortHash(full));
}

/**
 * A label value for `value`: unchanged when valid, else cut to 63 characters with a hash
 * suffix. Compare labels through this function, never with the raw name.
 */
export function labelValue(value: string): string {
  if (isLabelValue(value)) return value;
  const cleaned = value.replace(/[^-A-Za-z0-9_.]/g, '-');
  return shorten(
    cleaned,
    MAX_LABEL_VALUE_LENGTH,
    shortHash(value),
    /^[^A-Za-z0-9]+/,
    /[^A-Za-z0-9]+$/,
  );
}

/** Labels every SubnetLease carries. */
export function leaseLabels(network: string, node: string): Record<string, string> {
  return { [LABEL_NETWORK]: labelValue(network), [LABEL_NODE]: labelValue(node) };
}

/** Label selector (query string form) for all leases of one network. */
export function networkLeaseSelector(network: string): string {
  return `${LABEL_NETWORK}=${labelValue(network)}`;
}

/** Label selector (query string form) for all leases of one node. */
export function nodeLeaseSelector(node: string): string {
  return `${LABEL_NODE}=${labelValue(node)}`;
}

function toSubdomainChars(s: string): string {
  // Lowercase, map invalid characters to '-', and make every dot-separated part start and end
  // alphanumerically (empty parts disappear).
  return s
    .toLowerCase()
    .replace(/[^-a-z0-9.]/g, '-')
    .split('.')
    .map((part) => part.replace(/^-+|-+$/g, ''))
    .filter((part) => part.length > 0)
    .join('.');
}

function shorten(
  s: string,
  max: number,
  hash: string,
  leading = /^[^a-z0-9]+/,
  trailing = /[.-]+$/,
): string {
  const keep = max - hash.length - 1;
  const head = s.replace(leading, '').slice(0, keep).replace(trailing, '');
  return head.length > 0 ? `${head}-${hash}` : hash;
}
