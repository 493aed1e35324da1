import {
  bitsOf,
  containsAddr,
  containsCidr,
  formatCidr,
  formatIp,
  maskAddr,
  parseCidr,
  tryParseIp,
  type Cidr,
  type Family,
} from './cidr.js';
import { IpamError } from './errors.js';

/**
 * Effective pool settings of one address family, with upstream flannel's defaults:
 * - IPv4 subnetLen 24 when the network is /22 or larger, else network prefix + 2;
 *   IPv6 subnetLen 64 when the network is /62 or larger, else network prefix + 2.
 * - subnetMin = the second subnet (the first stays unused, as upstream), subnetMax = the last.
 * - A network holds at least 4 subnets; subnets are at most /30 (IPv4) or /126 (IPv6).
 * The same rules are enforced at admission by the CRD (src/api/flannel-network.ts).
 */
export interface PoolConfig {
  family: Family;
  network: string;
  subnetLen: number;
  subnetMin: string;
  subnetMax: string;
  /** Reserved CIDRs of this family (inside the network). */
  reserved: string[];
}

/** The fields resolvePoolConfig reads (a FlannelNetwork spec fits). */
export interface PoolSpec {
  network?: string | undefined;
  subnetLen?: number | undefined;
  subnetMin?: string | undefined;
  subnetMax?: string | undefined;
  ipv6Network?: string | undefined;
  ipv6SubnetLen?: number | undefined;
  ipv6SubnetMin?: string | undefined;
  ipv6SubnetMax?: string | undefined;
  reservedSubnets?: string[] | undefined;
}

export const MAX_SUBNET_LEN: Record<Family, number> = { 4: 30, 6: 126 };
const DEFAULT_SUBNET_LEN: Record<Family, number> = { 4: 24, 6: 64 };
/** A network must hold at least 2^MIN_SUBNET_BITS subnets. */
export const MIN_SUBNET_BITS = 2;

export function defaultSubnetLen(family: Family, networkPrefix: number): number {
  const d = DEFAULT_SUBNET_LEN[family];
  return networkPrefix <= d - MIN_SUBNET_BITS ? d : networkPrefix + MIN_SUBNET_BITS;
}

export interface ResolvedPools {
  ipv4?: PoolConfig;
  ipv6?: PoolConfig;
}

export function resolvePoolConfig(spec: PoolSpec): ResolvedPools {
  if (spec.network === undefined && spec.ipv6Network === undefined) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      'at least one of network or ipv6Network must be set',
    );
  }
  const out: ResolvedPools = {};
  const reserved = spec.reservedSubnets ?? [];
  const parsedReserved = reserved.map((r) => {
    try {
      return parseCidr(r, 'reserved subnet');
    } catch (e) {
      throw new IpamError('EIPAM_INVALID_CONFIG', (e as Error).message);
    }
  });
  if (spec.network !== undefined) {
    out.ipv4 = resolveFamily(
      4,
      spec.network,
      spec.subnetLen,
      spec.subnetMin,
      spec.subnetMax,
      parsedReserved,
    );
  } else if (spec.subnetLen ?? spec.subnetMin ?? spec.subnetMax) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      'subnetLen, subnetMin and subnetMax require network',
    );
  }
  if (spec.ipv6Network !== undefined) {
    out.ipv6 = resolveFamily(
      6,
      spec.ipv6Network,
      spec.ipv6SubnetLen,
      spec.ipv6SubnetMin,
      spec.ipv6SubnetMax,
      parsedReserved,
    );
  } else if (spec.ipv6SubnetLen ?? spec.ipv6SubnetMin ?? spec.ipv6SubnetMax) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      'ipv6SubnetLen, ipv6SubnetMin and ipv6SubnetMax require ipv6Network',
    );
  }
  for (const r of parsedReserved) {
    const pool = r.family === 4 ? out.ipv4 : out.ipv6;
    if (!pool || !containsCidr(parseCidr(pool.network), r)) {
      throw new IpamError(
        'EIPAM_OUT_OF_RANGE',
        `reserved subnet ${formatCidr(r)} is not inside ${pool ? pool.network : `an IPv${r.family} network`}`,
      );
    }
  }
  return out;
}

function resolveFamily(
  family: Family,
  networkText: string,
  subnetLen: number | undefined,
  minText: string | undefined,
  maxText: string | undefined,
  reserved: Cidr[],
): PoolConfig {
  const names =
    family === 4
      ? { net: 'network', len: 'subnetLen', min: 'subnetMin', max: 'subnetMax' }
      : { net: 'ipv6Network', len: 'ipv6SubnetLen', min: 'ipv6SubnetMin', max: 'ipv6SubnetMax' };
  let network: Cidr;
  try {
    network = parseCidr(networkText, names.net);
  } catch (e) {
    throw new IpamError('EIPAM_INVALID_CONFIG', (e as Error).message);
  }
  if (network.family !== family) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      `${names.net} ${networkText} is not an IPv${family} CIDR`,
    );
  }
  const maxLen = MAX_SUBNET_LEN[family];
  if (network.prefix > maxLen - MIN_SUBNET_BITS) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      `${names.net} ${networkText} is too small: it must be /${maxLen - MIN_SUBNET_BITS} or larger`,
    );
  }
  const len = subnetLen ?? defaultSubnetLen(family, network.prefix);
  if (!Number.isInteger(len) || len < network.prefix + MIN_SUBNET_BITS || len > maxLen) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      `${names.len} /${len} does not fit ${networkText}: it must be between /${network.prefix + MIN_SUBNET_BITS} and /${maxLen}`,
    );
  }
  const step = 1n << BigInt(bitsOf(family) - len);
  const lastSubnet = network.addr + (1n << BigInt(bitsOf(family) - network.prefix)) - step;
  const bound = (text: string | undefined, what: string, fallback: bigint): bigint => {
    if (text === undefined) return fallback;
    const ip = tryParseIp(text);
    if (!ip || ip.family !== family) {
      throw new IpamError(
        'EIPAM_INVALID_CONFIG',
        `${what} "${text}" is not an IPv${family} address`,
      );
    }
    if (!containsAddr(network, family, ip.addr)) {
      throw new IpamError('EIPAM_OUT_OF_RANGE', `${what} ${text} is not inside ${networkText}`);
    }
    if (maskAddr(family, ip.addr, len) !== ip.addr) {
      throw new IpamError(
        'EIPAM_MISALIGNED',
        `${what} ${text} is not the first address of a /${len} subnet`,
      );
    }
    return ip.addr;
  };
  const min = bound(minText, names.min, network.addr + step);
  const max = bound(maxText, names.max, lastSubnet);
  if (min > max) {
    throw new IpamError(
      'EIPAM_INVALID_CONFIG',
      `${names.min} ${formatIp(family, min)} is greater than ${names.max} ${formatIp(family, max)}`,
    );
  }
  return {
    family,
    network: formatCidr(network),
    subnetLen: len,
    subnetMin: formatIp(family, min),
    subnetMax: formatIp(family, max),
    reserved: reserved.filter((r) => r.family === family).map(formatCidr),
  };
}
