import {
  bitsOf,
  formatCidr,
  formatIPv6Groups,
  lastAddr,
  parseCidr,
  type Cidr,
  type Family,
} from './cidr.js';
import { IpamError } from './errors.js';

/**
 * A subnet index (0 = the network's first subnet): a number while it is a safe integer (every
 * IPv4 pool, IPv6 pools up to 2^53 subnets), a bigint beyond; one form per value, so Map keys
 * and `===` work. Bigint keys and arithmetic made allocation several times slower.
 */
export type Idx = number | bigint;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function toIdx(i: bigint): Idx {
  return i <= MAX_SAFE ? Number(i) : i;
}

export function toBig(i: Idx): bigint {
  return typeof i === 'bigint' ? i : BigInt(i);
}

export function nextIdx(i: Idx): Idx {
  return typeof i === 'number' && i < Number.MAX_SAFE_INTEGER ? i + 1 : toBig(i) + 1n;
}

export interface Interval<T extends Idx = Idx> {
  start: T;
  end: T; // inclusive
}

/**
 * How one network is cut into subnets of one length: subnet text <-> index. Formatting is the
 * hot part (every allocation hands out text), so number indices are formatted with number
 * arithmetic only: IPv4 as one 32-bit value, IPv6 group by group.
 */
export class SubnetLayout {
  readonly family: Family;
  readonly network: Cidr;
  /** Subnets in the network. */
  readonly count: bigint;
  private readonly shift: bigint;
  /** `/<subnetLen>`, appended to every subnet's address. */
  private readonly suffix: string;
  /** IPv4: the network address and the subnet size as numbers. */
  private readonly v4Base: number;
  private readonly v4Step: number;
  /** IPv4: "c." and "d/len" for every octet value, and the last "a.b." made. */
  private readonly v4Third: string[];
  private readonly v4Fourth: string[];
  private v4Head = '';
  private v4HeadOf = -1;
  /** IPv6: the network's eight groups, and per group the factor that moves an index's bits into it. */
  private readonly v6Base: number[];
  private readonly v6Scale: number[];
  /** IPv6: the groups a number index (below 2^53) can change. */
  private readonly v6First: number;
  private readonly v6Last: number;

  constructor(
    readonly networkText: string,
    readonly subnetLen: number,
  ) {
    this.network = parseCidr(networkText, 'network');
    this.family = this.network.family;
    const bits = bitsOf(this.family);
    if (subnetLen < this.network.prefix || subnetLen > bits) {
      throw new IpamError(
        'EIPAM_INVALID_CONFIG',
        `subnet length /${subnetLen} does not fit ${networkText}`,
      );
    }
    const hostBits = bits - subnetLen;
    this.shift = BigInt(hostBits);
    this.count = 1n << BigInt(subnetLen - this.network.prefix);
    this.suffix = `/${subnetLen}`;
    this.v4Base = this.family === 4 ? Number(this.network.addr) : 0;
    this.v4Step = 2 ** hostBits;
    this.v4Third = Array.from({ length: 256 }, (_, o) => `${o}.`);
    this.v4Fourth = Array.from({ length: 256 }, (_, o) => `${o}${this.suffix}`);
    this.v6Base = Array.from({ length: 8 }, (_, g) =>
      Number((this.network.addr >> BigInt(112 - 16 * g)) & 0xffffn),
    );
    this.v6Scale = Array.from({ length: 8 }, (_, g) => 2 ** (hostBits - (112 - 16 * g)));
    const indexBits = Math.min(subnetLen - this.network.prefix, 53);
    this.v6First = 7 - Math.floor((hostBits + indexBits - 1) / 16);
    this.v6Last = indexBits > 0 ? 7 - Math.floor(hostBits / 16) : -1;
  }

  /** CIDR text of subnet `idx`. */
  format(idx: Idx): string {
    if (typeof idx === 'bigint') {
      return formatCidr({
        family: this.family,
        addr: this.network.addr + (idx << this.shift),
        prefix: this.subnetLen,
      });
    }
    if (this.family === 4) return this.formatV4(this.v4Base + idx * this.v4Step);
    // idx * 2^k is exact in a double, so floor and % 2^16 cut out exactly the group's 16 bits;
    // the network's own bits never overlap the index's.
    const groups = this.v6Base.slice();
    for (let g = this.v6First; g <= this.v6Last; g++) {
      groups[g] = this.v6Base[g]! | (Math.floor(idx * this.v6Scale[g]!) % 65536);
    }
    return formatIPv6Groups(groups, this.suffix);
  }

  /**
   * formatIPv4 with the suffix, in two concatenations instead of eight: subnets handed out
   * lowest-first share their first two octets, so "a.b." is made once per 65,536 addresses.
   */
  private formatV4(addr: number): string {
    const head = addr >>> 16;
    if (head !== this.v4HeadOf) {
      this.v4HeadOf = head;
      this.v4Head = `${head >>> 8}.${head & 255}.`;
    }
    return this.v4Head + this.v4Third[(addr >>> 8) & 255]! + this.v4Fourth[addr & 255]!;
  }

  /** Index of the subnet starting at address `text`; throws when it is outside the network. */
  indexOfAddr(text: string, what: string): bigint {
    const c = parseCidr(`${text}/${this.subnetLen}`, what);
    if (c.addr < this.network.addr || c.addr > lastAddr(this.network)) {
      throw new IpamError(
        'EIPAM_OUT_OF_RANGE',
        `${what} ${text} is not inside ${this.networkText}`,
      );
    }
    return (c.addr - this.network.addr) >> this.shift;
  }

  tryIndexOfCidr(subnet: string): Idx | undefined {
    try {
      return this.indexOfCidr(subnet);
    } catch {
      return undefined;
    }
  }

  /** Index of canonical CIDR text of one subnet; throws OUT_OF_RANGE, MISALIGNED, INVALID_CIDR. */
  indexOfCidr(subnet: string): Idx {
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
      throw new IpamError('EIPAM_OUT_OF_RANGE', `${subnet} is not inside ${this.networkText}`);
    }
    if (c.prefix !== this.subnetLen) {
      throw new IpamError(
        'EIPAM_MISALIGNED',
        `${subnet} is not a /${this.subnetLen} subnet of ${this.networkText}`,
      );
    }
    return toIdx((c.addr - this.network.addr) >> this.shift);
  }

  /** Subnet indices a CIDR touches, clipped to the network. */
  intervalOf(r: Cidr, what: string): Interval<bigint> {
    const first = r.addr < this.network.addr ? this.network.addr : r.addr;
    const lastR = lastAddr(r);
    const lastN = lastAddr(this.network);
    const last = lastR > lastN ? lastN : lastR;
    if (r.family !== this.family || first > last) {
      throw new IpamError(
        'EIPAM_OUT_OF_RANGE',
        `${what} ${formatCidr(r)} is not inside ${this.networkText}`,
      );
    }
    return {
      start: (first - this.network.addr) >> this.shift,
      end: (last - this.network.addr) >> this.shift,
    };
  }
}
