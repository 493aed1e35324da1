import { parseCidr, type Cidr, type Family } from './cidr.js';
import { type PoolConfig } from './config.js';
import { IpamError } from './errors.js';
import { MinHeap } from './heap.js';
import { nextIdx, SubnetLayout, toIdx, type Idx, type Interval } from './layout.js';

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
 * freed indices below it wait in a min-heap, and reservations are a sorted list of disjoint
 * index intervals. Every operation is O(log n) amortized. Index <-> text is SubnetLayout's.
 *
 * Allocation does little beyond a Set and a cursor (see `make bench`, ipam): no bigints below
 * 2^53, no parsing, two map writes for a fresh index, and for a reused one no text formatting
 * and no index-map write (its Cell keeps both).
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

/**
 * An index freed at least once (always below the cursor, inside [subnetMin, subnetMax]): its
 * text and holder, reused in place. Lowest-first allocation keeps reusing freed indices, so
 * churn formats no text and writes no index-map entry; an index never freed needs no record.
 */
interface Cell {
  readonly idx: Idx;
  readonly subnet: string;
  owner: string | undefined;
}

/** What the maps hold for a subnet: its index while it was never freed, else its cell. */
type Held = Idx | Cell;

export class SubnetPool {
  readonly family: Family;
  readonly network: Cidr;
  readonly subnetLen: number;
  readonly config: Readonly<PoolConfig>;
  private readonly layout: SubnetLayout;
  private readonly minBig: bigint;
  private readonly maxBig: bigint;
  private readonly min: Idx;
  private readonly max: Idx;
  /** Disjoint, sorted, clipped to the network. */
  private readonly reserved: Interval[];
  private readonly reservedInRange: bigint;
  private readonly byOwner = new Map<string, Held>();
  /** The owner of each index never freed, and the cell of each index freed before. */
  private readonly byIndex = new Map<Idx, string | Cell>();
  /** The cell of every free allocatable index below the cursor, lowest first. */
  private readonly holes = new MinHeap<Cell>((c) => c.idx);
  /**
   * Cells taken out of order (preferred, adopt) while queued in `holes`: they stay there until
   * popped (skipped) or released (still queued), so the common path needs no heap removal.
   */
  private readonly retaken = new Set<Cell>();
  /** Next index of the lowest-first scan; nothing at or past it in [min, max] was ever freed. */
  private cursor: Idx;
  /** Holders in [cursor, max] (taken out of order): the scan looks indices up only while any exist. */
  private ahead = 0;
  private inRange = 0;

  constructor(config: PoolConfig) {
    this.config = { ...config, reserved: [...config.reserved] };
    this.layout = new SubnetLayout(config.network, config.subnetLen);
    this.network = this.layout.network;
    this.family = this.layout.family;
    this.subnetLen = config.subnetLen;
    this.minBig = this.layout.indexOfAddr(config.subnetMin, 'subnetMin');
    this.maxBig = this.layout.indexOfAddr(config.subnetMax, 'subnetMax');
    if (this.minBig > this.maxBig) {
      throw new IpamError('EIPAM_INVALID_CONFIG', 'subnetMin is greater than subnetMax');
    }
    this.min = toIdx(this.minBig);
    this.max = toIdx(this.maxBig);
    const reserved = mergeIntervals(
      config.reserved.map((r) =>
        this.layout.intervalOf(parseCidr(r, 'reserved subnet'), 'reserved'),
      ),
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
    if (held !== undefined) return this.subnetText(held);
    if (opts?.preferred !== undefined) {
      const idx = this.layout.tryIndexOfCidr(opts.preferred);
      if (idx !== undefined && this.isAllocatable(idx) && this.ownerAt(idx) === undefined) {
        return this.takeOutOfOrder(owner, idx);
      }
    }
    const cell = this.reusableCell();
    if (cell !== undefined) {
      this.holdCell(cell, owner);
      return cell.subnet;
    }
    const idx = this.scanFree();
    if (idx === undefined) {
      throw new IpamError(
        'EIPAM_EXHAUSTED',
        `no free /${this.subnetLen} left in ${this.config.network} between ${this.config.subnetMin} and ${this.config.subnetMax} (${this.byOwner.size} held)`,
      );
    }
    this.holdFresh(idx, owner);
    return this.layout.format(idx);
  }

  /**
   * Records that `owner` holds `subnet` (already in use outside this pool). Idempotent for the
   * same pair. Throws EIPAM_CONFLICT when another owner holds it or `owner` holds another one.
   */
  adopt(owner: string, subnet: string): void {
    const idx = this.layout.indexOfCidr(subnet);
    const holder = this.ownerAt(idx);
    if (holder === owner) return;
    if (holder !== undefined) {
      throw new IpamError('EIPAM_CONFLICT', `${subnet} is already held by ${holder}`);
    }
    const current = this.byOwner.get(owner);
    if (current !== undefined) {
      throw new IpamError(
        'EIPAM_CONFLICT',
        `${owner} already holds ${this.subnetText(current)}; release it before adopting ${subnet}`,
      );
    }
    if (this.isReserved(idx)) {
      throw new IpamError('EIPAM_RESERVED', `${subnet} is reserved in ${this.config.network}`);
    }
    this.takeOutOfOrder(owner, idx);
  }

  /** Frees the subnet of `owner`; returns it, or undefined when the owner held none. */
  release(owner: string): string | undefined {
    const held = this.byOwner.get(owner);
    if (held === undefined) return undefined;
    this.byOwner.delete(owner);
    if (typeof held === 'object') {
      held.owner = undefined;
      this.inRange--;
      // Queue it again, unless it never left the heap (taken out of order).
      if (!(this.retaken.size > 0 && this.retaken.delete(held))) this.holes.push(held);
      return held.subnet;
    }
    const subnet = this.layout.format(held);
    if (this.inAllocRange(held)) {
      this.inRange--;
      if (held < this.cursor) {
        const cell: Cell = { idx: held, subnet, owner: undefined };
        this.byIndex.set(held, cell);
        this.holes.push(cell);
        return subnet;
      }
      this.ahead--;
    }
    this.byIndex.delete(held);
    return subnet;
  }

  ownerOf(subnet: string): string | undefined {
    const idx = this.layout.tryIndexOfCidr(subnet);
    return idx === undefined ? undefined : this.ownerAt(idx);
  }

  subnetOf(owner: string): string | undefined {
    const held = this.byOwner.get(owner);
    return held === undefined ? undefined : this.subnetText(held);
  }

  has(owner: string): boolean {
    return this.byOwner.has(owner);
  }

  /** Why `subnet` could not be adopted, or undefined when it could. */
  checkAdoptable(subnet: string, owner?: string): IpamError | undefined {
    try {
      const idx = this.layout.indexOfCidr(subnet);
      const holder = this.ownerAt(idx);
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
    return [...this.byOwner]
      .map(([owner, held]) => ({ owner, idx: indexOf(held), subnet: this.subnetText(held) }))
      .sort((a, b) => (a.idx < b.idx ? -1 : a.idx > b.idx ? 1 : 0))
      .map(({ owner, subnet }) => ({ owner, subnet }));
  }

  // --- internals ---

  private ownerAt(idx: Idx): string | undefined {
    const entry = this.byIndex.get(idx);
    return typeof entry === 'object' ? entry.owner : entry;
  }

  private subnetText(held: Held): string {
    return typeof held === 'object' ? held.subnet : this.layout.format(held);
  }

  /** `owner` takes an index that was never freed (no cell yet). */
  private holdFresh(idx: Idx, owner: string): void {
    this.byIndex.set(idx, owner);
    this.byOwner.set(owner, idx);
    if (this.inAllocRange(idx)) this.inRange++;
  }

  private holdCell(cell: Cell, owner: string): void {
    cell.owner = owner;
    this.byOwner.set(owner, cell);
    this.inRange++;
  }

  /**
   * A free index taken other than from the heap or the scan; returns its text. Below the
   * cursor (in range) it has a cell, which stays queued and is skipped when popped; in
   * [cursor, max] the scan must skip it later.
   */
  private takeOutOfOrder(owner: string, idx: Idx): string {
    const entry = this.byIndex.get(idx);
    if (typeof entry === 'object') {
      this.retaken.add(entry);
      this.holdCell(entry, owner);
      return entry.subnet;
    }
    if (this.inAllocRange(idx)) this.ahead++;
    this.holdFresh(idx, owner);
    return this.layout.format(idx);
  }

  /** The cell of the lowest freed index below the cursor, skipping ones taken out of order since. */
  private reusableCell(): Cell | undefined {
    for (let cell = this.holes.pop(); cell !== undefined; cell = this.holes.pop()) {
      if (!(this.retaken.size > 0 && this.retaken.delete(cell))) return cell;
    }
    return undefined;
  }

  /** Advances the cursor to the next index never handed out, past reservations and holders. */
  private scanFree(): Idx | undefined {
    while (this.cursor <= this.max) {
      const r = this.reserved.length > 0 ? this.reservationAt(this.cursor) : undefined;
      if (r) {
        this.cursor = nextIdx(r.end);
        continue;
      }
      const idx = this.cursor;
      this.cursor = nextIdx(idx);
      if (this.ahead > 0 && this.byIndex.has(idx)) {
        this.ahead--; // held, taken out of order; from now on below the cursor
        continue;
      }
      return idx;
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
}

function indexOf(held: Held): Idx {
  return typeof held === 'object' ? held.idx : held;
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
