import ipaddr from 'ipaddr.js';

/**
 * The controller's view of one address family of one network: which per-node subnets exist
 * and which are taken. Addresses are bigints so IPv4 and IPv6 share the code.
 * (A thin local allocator; the shared src/ipam pool can replace it behind the same methods.)
 */
export class PoolConfigError extends Error {
  readonly code = 'EPOOL_CONFIG';
}

export interface Cidr {
  family: 4 | 6;
  addr: bigint;
  prefix: number;
  /** False when the text had host bits set (10.0.0.1/24). */
  exact?: boolean;
}

export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string' || !ipaddr.isValidCIDR(text))
    throw new PoolConfigError(`"${text}" is not a CIDR`);
  const [ip, prefix] = ipaddr.parseCIDR(text);
  const bytes = ip.toByteArray();
  let addr = 0n;
  for (const b of bytes) addr = (addr << 8n) | BigInt(b);
  const family = ip.kind() === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return { family, addr: addr & ~hostMask, prefix, exact: (addr & hostMask) === 0n };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddr(c.family, c.addr)}/${c.prefix}`;
}

export function formatAddr(family: 4 | 6, addr: bigint): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((addr >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const bits = a.family === 4 ? 32 : 128;
  const p = Math.min(a.prefix, b.prefix);
  const shift = BigInt(bits - p);
  return a.addr >> shift === b.addr >> shift;
}

export interface PoolSpec {
  network: string;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
  reserved?: string[];
}

export type ClaimResult = 'ok' | 'taken' | 'outside' | 'misaligned' | 'reserved';

export class SubnetPool {
  readonly network: Cidr;
  readonly subnetLen: number;
  readonly family: 4 | 6;
  private readonly first: bigint; // index of subnetMin
  private readonly last: bigint; // index of subnetMax
  private readonly reserved: Cidr[];
  private readonly used = new Map<bigint, string>(); // subnet index -> holder
  private cursor: bigint;

  constructor(spec: PoolSpec) {
    this.network = parseCidr(spec.network);
    this.family = this.network.family;
    const bits = this.family === 4 ? 32 : 128;
    const prefix = this.network.prefix;
    this.subnetLen = spec.subnetLen ?? (this.family === 6 ? 64 : prefix <= 22 ? 24 : prefix + 2);
    if (this.subnetLen < prefix || this.subnetLen > bits) {
      throw new PoolConfigError(
        `subnet length /${this.subnetLen} does not fit network ${spec.network}`,
      );
    }
    if (this.family === 4 && this.subnetLen > 30)
      throw new PoolConfigError(`subnet length /${this.subnetLen} is too small for pods (max /30)`);
    const count = 1n << BigInt(this.subnetLen - prefix);
    this.first = count > 1n ? 1n : 0n; // like flannel: skip the first subnet by default
    this.last = count - 1n;
    if (spec.subnetMin) this.first = this.indexOfAddr(spec.subnetMin, 'subnetMin');
    if (spec.subnetMax) this.last = this.indexOfAddr(spec.subnetMax, 'subnetMax');
    if (this.first > this.last)
      throw new PoolConfigError(
        `subnetMin ${spec.subnetMin ?? ''} is after subnetMax ${spec.subnetMax ?? ''}`,
      );
    this.reserved = (spec.reserved ?? []).map((r) => {
      const c = parseCidr(r);
      if (c.family !== this.family)
        throw new PoolConfigError(`reserved subnet ${r} is not in the network family`);
      return c;
    });
    this.cursor = this.first;
  }

  private indexOfAddr(text: string, what: string): bigint {
    const raw = text.includes('/') ? text : `${text}/${this.subnetLen}`;
    const c = parseCidr(raw);
    const idx = this.indexOf({ ...c, prefix: this.subnetLen });
    if (idx === undefined)
      throw new PoolConfigError(`${what} ${text} is not a subnet of ${formatCidr(this.network)}`);
    return idx;
  }

  /** Index of a /subnetLen subnet in the network, or undefined when outside. */
  private indexOf(c: Cidr): bigint | undefined {
    if (c.family !== this.family || c.prefix !== this.subnetLen) return undefined;
    if (!cidrsOverlap(c, this.network) || c.prefix < this.network.prefix) return undefined;
    const bits = this.family === 4 ? 32 : 128;
    return (c.addr - this.network.addr) >> BigInt(bits - this.subnetLen);
  }

  private subnetAt(idx: bigint): Cidr {
    const bits = this.family === 4 ? 32 : 128;
    return {
      family: this.family,
      addr: this.network.addr + (idx << BigInt(bits - this.subnetLen)),
      prefix: this.subnetLen,
    };
  }

  private isReserved(idx: bigint): boolean {
    const c = this.subnetAt(idx);
    return this.reserved.some((r) => cidrsOverlap(r, c));
  }

  /** Subnets that can be handed out. */
  get capacity(): bigint {
    let n = this.last - this.first + 1n;
    if (this.reserved.length > 0 && n <= 1_000_000n) {
      for (let i = this.first; i <= this.last; i++) if (this.isReserved(i)) n--;
    }
    return n;
  }

  get allocated(): number {
    return this.used.size;
  }

  /** Whether `cidr` lies inside the network (any prefix). */
  containsCidr(cidr: string): boolean {
    try {
      const c = parseCidr(cidr);
      return (
        c.family === this.family && c.prefix >= this.network.prefix && cidrsOverlap(c, this.network)
      );
    } catch {
      return false;
    }
  }

  holder(cidr: string): string | undefined {
    const idx = this.indexOf(parseCidr(cidr));
    return idx === undefined ? undefined : this.used.get(idx);
  }

  /**
   * Marks an existing subnet (a lease, an adopted podCIDR) as taken by `holder`.
   * Subnets outside subnetMin..Max or reserved are still accepted when inside the network
   * (they exist already); only new allocations honour the range.
   */
  claim(cidr: string, holder: string): ClaimResult {
    let c: Cidr;
    try {
      c = parseCidr(cidr);
    } catch {
      return 'misaligned';
    }
    if (
      c.family !== this.family ||
      !cidrsOverlap(c, this.network) ||
      c.prefix < this.network.prefix
    )
      return 'outside';
    if (c.prefix !== this.subnetLen || !c.exact) return 'misaligned';
    const idx = this.indexOf(c);
    if (idx === undefined) return 'outside';
    const current = this.used.get(idx);
    if (current !== undefined && current !== holder) return 'taken';
    this.used.set(idx, holder);
    return 'ok';
  }

  release(cidr: string, holder?: string): void {
    const idx = this.indexOf(parseCidr(cidr));
    if (idx === undefined) return;
    if (holder === undefined || this.used.get(idx) === holder) {
      this.used.delete(idx);
      if (idx >= this.first && idx < this.cursor) this.cursor = idx;
    }
  }

  /** Lowest free subnet in subnetMin..subnetMax (first fit; `cursor` is a lower bound of free ones), or undefined. */
  allocate(holder: string): string | undefined {
    const span = this.last - this.first + 1n;
    let idx = this.cursor < this.first ? this.first : this.cursor;
    for (let n = 0n; n < span; n++) {
      if (idx > this.last) break;
      if (!this.used.has(idx) && !this.isReserved(idx)) {
        this.used.set(idx, holder);
        this.cursor = idx + 1n;
        return formatCidr(this.subnetAt(idx));
      }
      idx++;
      if (n > BIG_SCAN && span > 1n << 32n) break;
    }
    return undefined;
  }
}
/** Give up scanning a huge (IPv6) space after this many steps. */
const BIG_SCAN = 1n << 22n;
