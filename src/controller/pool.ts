import {
  SubnetPool,
  IpamError,
  formatCidr,
  overlaps,
  resolvePoolConfig,
  parseCidrField,
  tryParseCidr,
  type Cidr as IpamCidr,
  type PoolConfig,
} from '../ipam/index.js';
import { FlannelOperatorError } from '../errors.js';

/**
 * The controller's view of one address family of one network: which per-node subnets exist
 * and which are taken: an adapter over the src/ipam pool that speaks the planner's terms
 * (claim results instead of exceptions). Addresses are bigints so IPv4 and IPv6 share the code.
 */
export class PoolConfigError extends FlannelOperatorError {
  readonly code = 'EPOOL_CONFIG';
}

export interface Cidr extends IpamCidr {
  /** False when the text had host bits set (10.0.0.1/24). */
  exact?: boolean;
}

/**
 * Unlike ipam's `parseCidr` (canonical text only), accepts host bits and says so in `exact`;
 * text that does not parse throws ipam's IpamError EIPAM_INVALID_CIDR.
 */
export function parseCidrLenient(text: string, field = 'CIDR'): Cidr {
  const c = parseCidrField(text, field);
  return { family: c.family, addr: c.addr, prefix: c.prefix, exact: c.ip === c.addr };
}

export { formatCidr, overlaps as cidrsOverlap };

/**
 * The part of `cidr` that lies inside `network`, as one CIDR text (the network itself when
 * `cidr` is wider), or undefined when they do not overlap or `cidr` is malformed.
 */
export function clipToNetwork(cidr: string, network: Cidr): string | undefined {
  const c = tryParseCidr(cidr);
  if (!c || c.family !== network.family || !overlaps(c, network)) return undefined;
  return formatCidr(c.prefix <= network.prefix ? network : c);
}

export interface PoolSpec {
  network: string;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
  reserved?: string[];
}

export type ClaimResult = 'ok' | 'taken' | 'outside' | 'misaligned' | 'reserved';

/** Resolves one family's settings with the shared IPAM defaults and checks. */
export function poolConfig(spec: PoolSpec): PoolConfig {
  let family: 4 | 6;
  try {
    family = parseCidrLenient(spec.network, 'network').family;
  } catch (e) {
    throw new PoolConfigError((e as Error).message);
  }
  try {
    const resolved = resolvePoolConfig(
      family === 4
        ? {
            network: spec.network,
            subnetLen: spec.subnetLen,
            subnetMin: spec.subnetMin,
            subnetMax: spec.subnetMax,
            reservedSubnets: spec.reserved,
          }
        : {
            ipv6Network: spec.network,
            ipv6SubnetLen: spec.subnetLen,
            ipv6SubnetMin: spec.subnetMin,
            ipv6SubnetMax: spec.subnetMax,
            reservedSubnets: spec.reserved,
          },
    );
    return (family === 4 ? resolved.ipv4 : resolved.ipv6)!;
  } catch (e) {
    throw new PoolConfigError((e as Error).message);
  }
}

/**
 * The controller's pool of one family of one network: src/ipam's SubnetPool (one subnet per
 * holder, lowest free first, O(log n)), seen through the claim/allocate/release calls the
 * planner makes. Holders are lease names.
 */
export class LeasePool {
  readonly network: Cidr;
  readonly subnetLen: number;
  readonly family: 4 | 6;
  readonly config: PoolConfig;
  private readonly pool: SubnetPool;

  constructor(spec: PoolSpec | PoolConfig) {
    this.config = 'family' in spec ? spec : poolConfig(spec);
    try {
      this.pool = new SubnetPool(this.config);
    } catch (e) {
      throw new PoolConfigError((e as Error).message);
    }
    this.network = parseCidrLenient(this.config.network);
    this.family = this.network.family;
    this.subnetLen = this.pool.subnetLen;
  }

  /** Subnets that can be handed out. */
  get capacity(): bigint {
    return this.pool.capacity;
  }

  get allocated(): number {
    return this.pool.allocated;
  }

  /** Subnets in subnetMin..subnetMax still unheld (holders outside that range do not use up capacity). */
  get free(): bigint {
    return this.pool.free;
  }

  /** Whether `cidr` lies inside the network (any prefix). */
  containsCidr(cidr: string): boolean {
    try {
      const c = parseCidrLenient(cidr);
      return (
        c.family === this.family && c.prefix >= this.network.prefix && overlaps(c, this.network)
      );
    } catch {
      return false;
    }
  }

  holder(cidr: string): string | undefined {
    try {
      return this.pool.ownerOf(cidr);
    } catch {
      return undefined;
    }
  }

  /** Marks an existing subnet (a lease, an adopted podCIDR) as held by `holder`. */
  claim(cidr: string, holder: string): ClaimResult {
    let c: Cidr;
    try {
      c = parseCidrLenient(cidr);
    } catch {
      return 'misaligned';
    }
    if (c.family !== this.family || !overlaps(c, this.network) || c.prefix < this.network.prefix)
      return 'outside';
    if (c.prefix !== this.subnetLen || !c.exact) return 'misaligned';
    const text = formatCidr(c);
    // The common clash (a lease's subnet is also its node's podCIDR) without an exception.
    const owner = this.pool.ownerOf(text);
    if (owner !== undefined && owner !== holder) return 'taken';
    try {
      this.pool.adopt(holder, text);
      return 'ok';
    } catch (e) {
      const code = e instanceof IpamError ? e.code : '';
      if (code === 'EIPAM_RESERVED') return 'reserved';
      if (code === 'EIPAM_OUT_OF_RANGE') return 'outside';
      if (code === 'EIPAM_MISALIGNED' || code === 'EIPAM_INVALID_CIDR') return 'misaligned';
      return 'taken';
    }
  }

  release(cidr: string, holder?: string): void {
    const owner = this.holder(cidr);
    if (owner !== undefined && (holder === undefined || owner === holder)) this.pool.release(owner);
  }

  /** Lowest free subnet in subnetMin..subnetMax, or undefined when exhausted. */
  allocate(holder: string): string | undefined {
    try {
      return this.pool.allocate(holder);
    } catch (e) {
      if (e instanceof IpamError && e.code === 'EIPAM_EXHAUSTED') return undefined;
      throw e;
    }
  }
}
