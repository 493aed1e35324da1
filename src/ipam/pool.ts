import {
  bitsOf,
  formatCidr,
  formatIPv4,
  lastAddr,
  parseCidr,
  type Cidr,
  type Family,
} from './cidr.js';
import { type PoolConfig } from './config.js';
import { IpamError } from './errors.js';
import { MinHeap } from './heap.js';

/**
 * The per-node subnets of one address family of one network, and who holds them.
 *
 * Subnets are numbered by index (0 = the network's first subnet). Allocation is deterministic:
 * the preferred subnet when it is free and allocatable, else the lowest free index in
 * [subnetMin, subnetMax] outside the reservations. Adoption (taking over a subnet that already
 * exists, e.g. a Node's podCIDR or an existing lease) is accepted anywhere in the network as long
 * as the subnet has the pool's size, is aligned and is not reserved: refusing it would strand a
 * running node, while new allocations still respect subnetMin/subnetMax.
 *
 * Memory is proportional to the number of holders, never to the size of the range (an IPv6
 * network has up to 2^124 subnets): a cursor marks the high-water mark of the lowest-first scan,
 * freed indices below it go to a min-heap (entries re-checked lazily on pop), and reservations
 * are a sorted list of disjoint index intervals. Every operation is O(log n) amortized.
 *
 * Indices are numbers while they are safe integers (every IPv4 pool, IPv6 pools up to 2^53
 * subnets) and bigints beyond: bigint Map keys and arithmetic made allocation several times
 * slower than a plain Set<number> (see `make bench`, ipam churn).
 */
export interface AllocateOptions {
  /** A subnet (CIDR text) to hand out when it is free and allocatable (e.g. the node's old one). */
  preferred?: string | undefined;
}

export interface PoolEntry {
  owner: string;
  subnet: string;
}

export interface PoolStats {
  /** Allocatable subnets: [subnetMin, subnetMax] minus reservations. */
  capacity: bigint;
  /** Holders, including adopted subnets outside [subnetMin, subnetMax]. */
  allocated: number;
  /** Holders outside [subnetMin, subnetMax]. */
  outOfRange: number;
  /** capacity - holders inside the range. */
  free: bigint;
}

/** A subnet index: a number when it is a safe integer, else a bigint (one form per value). */
type Idx = number | bigint;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
function toIdx(i: bigint): Idx {
  return i <= MAX_SAFE ? Number(i) : i;
}
function toBig(i: Idx): bigint {
  return typeof i === 'bigint' ? i : BigInt(i);
}
function nextIdx(i: Idx): Idx {
  return typeof i === 'number' && i < Number.MAX_SAFE_INTEGER ? i + 1 : toBig(i) + 1n;
}

interface Interval<T extends Idx = Idx> {
  start: T;
  end: T; // inclusive
}

export class SubnetPool {
  readonly family: Family;
  readonly network: Cidr;
  readonly subnetLen: number;
  readonly config: Readonly<PoolConfig>;
  private readonly shift: bigint;
  private readonly count: bigint; // subnets in the network
  private readonly minBig: bigint;
  private readonly maxBig: bigint;
  private readonly min: Idx;
  private readonly max: Idx;
  /** IPv4 only: the network address and the subnet size as numbers, for formatting without bigints. */
  private readonly v4Base: number;
  private readonly v4Step: number;
  /** `/<subnetLen>`, appended to every subnet's address. */
  private readonly suffix: string;
  /** Disjoint, sorted, clipped to [0, count). */
  private readonly reserved: Interval[];
  private readonly reservedInRange: bigint;
  /**
   * Holder of each index. A freed index waiting in `holes` keeps its entry, set to undefined:
   * overwriting an entry in place is much cheaper than a delete and a re-insert into a large Map.
   */
  private readonly byIndex = new Map<Idx, string | undefined>();
  private readonly byOwner = new Map<string, Idx>();
  /**
   * Every free allocatable index below the cursor is in `holes`, exactly once. An index taken
   * out of order (preferred, adopt) while queued stays in the heap and is listed in `retaken`
   * until it is popped (skipped) or released (queued again as it is); so the common path
   * (release, allocate lowest) costs one heap operation and no set lookups.
   */
  private readonly holes = new MinHeap<Idx>();
  private readonly retaken = new Set<Idx>();
  private cursor: Idx;
  private inRange = 0;

  constructor(config: PoolConfig) {
    this.config = { ...config, reserved: [...config.reserved] };
    this.network = parseCidr(config.network, 'network');
    this.family = this.network.family;
    this.subnetLen = config.subnetLen;
    const bits = bitsOf(this.family);
    if (this.subnetLen < this.network.prefix || this.subnetLen > bits) {
      throw new IpamError(
        'EIPAM_INVALID_CONFIG',
        `subnet length /${this.subnetLen} does not fit ${config.network}`,
      );
    }
    this.shift = BigInt(bits - this.subnetLen);
    this.count = 1n << BigInt(this.subnetLen - this.network.prefix);
    this.minBig = this.indexOfAddr(config.subnetMin, 'subnetMin');
    this.maxBig = this.indexOfAddr(config.subnetMax, 'subnetMax');
    if (this.minBig > this.maxBig) {
      throw new IpamError('EIPAM_INVALID_CONFIG', 'subnetMin is greater than subnetMax');
    }
    this.min = toIdx(this.minBig);
    this.max = toIdx(this.maxBig);
    this.v4Base = this.family === 4 ? Number(this.network.addr) : 0;
    this.v4Step = this.family === 4 ? 2 ** (bits - this.subnetLen) : 0;
    this.suffix = `/${this.subnetLen}`;
    const reserved = mergeIntervals(
      config.reserved.map((r) => this.intervalOf(parseCidr(r, 'reserved subnet'))),
    );
    this.reservedInRange = reserved.reduce((sum, iv) => {
      const s = iv.start > this.minBig ? iv.start : this.minBig;
      const e = iv.end < this.maxBig ? iv.end : this.maxBig;
      return e >= s ? sum + (e - s + 1n) : sum;
    }, 0n);
    this.reserved = reserved.map((iv) => ({ start: toIdx(iv.start), end: toIdx(iv.end) }));
    this.cursor = this.min;
  }

  /** Hands `owner` a subnet (its current one when it already holds one). */
  allocate(owner: string, opts?: AllocateOptions): string {
    const held = this.byOwner.get(owner);
    if (held !== undefined) return this.format(held);
    if (opts?.preferred !== undefined) {
      const idx = this.tryIndexOfCidr(opts.preferred);
      if (idx !== undefined && this.isAllocatable(idx) && this.byIndex.get(idx) === undefined) {
        this.takeOutOfOrder(owner, idx);
        return this.format(idx);
      }
    }
    const idx = this.lowestFree();
    if (idx === undefined) {
      throw new IpamError(
        'EIPAM_EXHAUSTED',
        `no free /${this.subnetLen} left in ${this.config.network} between ${this.config.subnetMin} and ${this.config.subnetMax} (${this.byOwner.size} held)`,
      );
    }
    this.take(owner, idx);
    return this.format(idx);
  }

  /**
   * Records that `owner` holds `subnet` (already in use outside this pool). Idempotent for the
   * same pair. Throws EIPAM_CONFLICT when another owner holds it or `owner` holds another one.
   */
  adopt(owner: string, subnet: string): void {
    const idx = this.indexOfCidr(subnet);
    const holder = this.byIndex.get(idx);
    if (holder === owner) return;
    if (holder !== undefined) {
      throw new IpamError('EIPAM_CONFLICT', `${subnet} is already held by ${holder}`);
    }
    const current = this.byOwner.get(owner);
    if (current !== undefined) {
      throw new IpamError(
        'EIPAM_CONFLICT',
        `${owner} already holds ${this.format(current)}; release it before adopting ${subnet}`,
      );
    }
    if (this.isReserved(idx)) {
      throw new IpamError('EIPAM_RESERVED', `${subnet} is reserved in ${this.config.network}`);
    }
    this.takeOutOfOrder(owner, idx);
  }

  /** Frees the subnet of `owner`; returns it, or undefined when the owner held none. */
  release(owner: string): string | undefined {
    const idx = this.byOwner.get(owner);
    if (idx === undefined) return undefined;
    this.byOwner.delete(owner);
    const inRange = this.inAllocRange(idx);
    if (inRange) this.inRange--;
    if (inRange && idx < this.cursor) {
      this.byIndex.set(idx, undefined);
      // Queue it, unless it never left the heap (taken out of order).
      if (!(this.retaken.size > 0 && this.retaken.delete(idx))) this.holes.push(idx);
    } else {
      this.byIndex.delete(idx);
    }
    return this.format(idx);
  }

  ownerOf(subnet: string): string | undefined {
    const idx = this.tryIndexOfCidr(subnet);
    return idx === undefined ? undefined : this.byIndex.get(idx);
  }

  subnetOf(owner: string): string | undefined {
    const idx = this.byOwner.get(owner);
    return idx === undefined ? undefined : this.format(idx);
  }

  has(owner: string): boolean {
    return this.byOwner.has(owner);
  }

  /** Why `subnet` could not be adopted, or undefined when it could. */
  checkAdoptable(subnet: string, owner?: string): IpamError | undefined {
    try {
      const idx = this.indexOfCidr(subnet);
      const holder = this.byIndex.get(idx);
      if (holder !== undefined && holder !== owner) {
        return new IpamError('EIPAM_CONFLICT', `${subnet} is already held by ${holder}`);
      }
      if (this.isReserved(idx)) {
        return new IpamError('EIPAM_RESERVED', `${subnet} is reserved in ${this.config.network}`);
      }
      return undefined;
    } catch (e) {
      return e as IpamError;
    }
  }

  get capacity(): bigint {
    return this.maxBig - this.minBig + 1n - this.reservedInRange;
  }

  get allocated(): number {
    return this.byOwner.size;
  }

  get free(): bigint {
    return this.capacity - BigInt(this.inRange);
  }

  stats(): PoolStats {
    return {
      capacity: this.capacity,
      allocated: this.byOwner.size,
      outOfRange: this.byOwner.size - this.inRange,
      free: this.free,
    };
  }

  /** Holders sorted by subnet address. */
  snapshot(): PoolEntry[] {
    const held: Array<[Idx, string]> = [];
    for (const [idx, owner] of this.byIndex) if (owner !== undefined) held.push([idx, owner]);
    return held
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([idx, owner]) => ({ owner, subnet: this.format(idx) }));
  }

  // --- internals ---

  private take(owner: string, idx: Idx): void {
    this.byOwner.set(owner, idx);
    this.byIndex.set(idx, owner);
    if (this.inAllocRange(idx)) this.inRange++;
  }

  /** A free index taken other than by lowestFree: below the cursor it is still in the heap. */
  private takeOutOfOrder(owner: string, idx: Idx): void {
    this.take(owner, idx);
    if (idx < this.cursor && this.inAllocRange(idx)) this.retaken.add(idx);
  }

  private lowestFree(): Idx | undefined {
    // Freed indices below the cursor first; skip entries taken again since (lazy deletion).
    while (this.holes.size > 0) {
      const idx = this.holes.pop()!;
      if (!(this.retaken.size > 0 && this.retaken.delete(idx))) return idx;
    }
    while (this.cursor <= this.max) {
      const r = this.reservationAt(this.cursor);
      if (r) {
        this.cursor = nextIdx(r.end);
        continue;
      }
      const idx = this.cursor;
      this.cursor = nextIdx(idx);
      if (this.byIndex.get(idx) === undefined) return idx;
    }
    return undefined;
  }

  private inAllocRange(idx: Idx): boolean {
    return idx >= this.min && idx <= this.max;
  }

  private isAllocatable(idx: Idx): boolean {
    return this.inAllocRange(idx) && !this.isReserved(idx);
  }

  private isReserved(idx: Idx): boolean {
    return this.reservationAt(idx) !== undefined;
  }

  /** Binary search for the reservation interval containing idx. */
  private reservationAt(idx: Idx): Interval | undefined {
    let lo = 0;
    let hi = this.reserved.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const iv = this.reserved[mid]!;
      if (idx < iv.start) hi = mid - 1;
      else if (idx > iv.end) lo = mid + 1;
      else return iv;
    }
    return undefined;
  }

  private format(idx: Idx): string {
    if (this.family === 4) {
      return formatIPv4(this.v4Base + (idx as number) * this.v4Step) + this.suffix;
    }
    return formatCidr({
      family: this.family,
      addr: this.network.addr + (toBig(idx) << this.shift),
      prefix: this.subnetLen,
    });
  }

  private indexOfAddr(text: string, what: string): bigint {
    const c = parseCidr(`${text}/${this.subnetLen}`, what);
    if (c.addr < this.network.addr || c.addr > lastAddr(this.network)) {
      throw new IpamError(
        'EIPAM_OUT_OF_RANGE',
        `${what} ${text} is not inside ${this.config.network}`,
      );
    }
    return (c.addr - this.network.addr) >> this.shift;
  }

  private tryIndexOfCidr(subnet: string): Idx | undefined {
    try {
      return this.indexOfCidr(subnet);
    } catch {
      return undefined;
    }
  }

  private indexOfCidr(subnet: string): Idx {
    let c: Cidr;
    try {
      c = parseCidr(subnet, 'subnet');
    } catch (e) {
      if ((e as IpamError).message.includes('canonical')) {
        throw new IpamError('EIPAM_MISALIGNED', (e as IpamError).message);
      }
      throw e;
    }
    if (
      c.family !== this.family ||
      c.addr < this.network.addr ||
      lastAddr(c) > lastAddr(this.network)
    ) {
      throw new IpamError('EIPAM_OUT_OF_RANGE', `${subnet} is not inside ${this.config.network}`);
    }
    if (c.prefix !== this.subnetLen) {
      throw new IpamError(
        'EIPAM_MISALIGNED',
        `${subnet} is not a /${this.subnetLen} subnet of ${this.config.network}`,
      );
    }
    return toIdx((c.addr - this.network.addr) >> this.shift);
  }

  /** Subnet indices a reserved CIDR touches, clipped to the network. */
  private intervalOf(r: Cidr): Interval<bigint> {
    const first = r.addr < this.network.addr ? this.network.addr : r.addr;
    const lastR = lastAddr(r);
    const lastN = lastAddr(this.network);
    const last = lastR > lastN ? lastN : lastR;
    if (r.family !== this.family || first > last) {
      throw new IpamError(
        'EIPAM_OUT_OF_RANGE',
        `reserved ${formatCidr(r)} is not inside ${this.config.network}`,
      );
    }
    return {
      start: (first - this.network.addr) >> this.shift,
      end: (last - this.network.addr) >> this.shift,
    };
  }
}

function mergeIntervals(list: Interval<bigint>[]): Interval<bigint>[] {
  const sorted = [...list].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Interval<bigint>[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.start <= last.end + 1n) {
      if (iv.end > last.end) last.end = iv.end;
    } else out.push({ ...iv });
  }
  return out;
}

/** Convenience: a pool per family from a resolved config. */
export function poolsFor(config: { ipv4?: PoolConfig; ipv6?: PoolConfig }): {
  ipv4?: SubnetPool;
  ipv6?: SubnetPool;
} {
  return {
    ...(config.ipv4 ? { ipv4: new SubnetPool(config.ipv4) } : {}),
    ...(config.ipv6 ? { ipv6: new SubnetPool(config.ipv6) } : {}),
  };
}

/** bigint -> number, clamped to Number.MAX_SAFE_INTEGER (for status fields and metrics). */
export function toSafeNumber(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
