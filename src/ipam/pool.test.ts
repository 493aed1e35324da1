import fc from 'fast-check';
import { bitsOf, formatCidr, parseCidr, type Family } from './cidr.js';
import { resolvePoolConfig, type PoolConfig } from './config.js';
import { IpamError } from './errors.js';
import { SubnetPool, toSafeNumber } from './pool.js';

const v4 = (spec: Parameters<typeof resolvePoolConfig>[0]) =>
  new SubnetPool(resolvePoolConfig(spec).ipv4!);
const v6 = (spec: Parameters<typeof resolvePoolConfig>[0]) =>
  new SubnetPool(resolvePoolConfig(spec).ipv6!);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IpamError);
    return (e as IpamError).code;
  }
  return undefined;
}

describe('SubnetPool examples', () => {
  it('hands out the lowest free subnet from subnetMin, skipping reservations', () => {
    const p = v4({ network: '10.244.0.0/16', reservedSubnets: ['10.244.2.0/23'] });
    expect(['a', 'b', 'c'].map((o) => p.allocate(o))).toEqual([
      '10.244.1.0/24',
      '10.244.4.0/24',
      '10.244.5.0/24',
    ]);
    expect(p.allocate('a')).toBe('10.244.1.0/24'); // idempotent
    expect(p.stats()).toEqual({ capacity: 253n, allocated: 3, outOfRange: 0, free: 250n });
  });

  it('honours a free preferred subnet and ignores a taken or invalid one', () => {
    const p = v4({ network: '10.244.0.0/16' });
    expect(p.allocate('a', { preferred: '10.244.7.0/24' })).toBe('10.244.7.0/24');
    expect(p.allocate('b', { preferred: '10.244.7.0/24' })).toBe('10.244.1.0/24');
    expect(p.allocate('c', { preferred: '10.244.0.0/24' })).toBe('10.244.2.0/24'); // below subnetMin
    expect(p.allocate('d', { preferred: 'garbage' })).toBe('10.244.3.0/24');
  });

  it('reuses released subnets lowest first', () => {
    const p = v4({ network: '10.0.0.0/24', subnetLen: 28 });
    for (let i = 0; i < 15; i++) p.allocate(`n${i}`);
    expect(codeOf(() => p.allocate('x'))).toBe('EIPAM_EXHAUSTED');
    expect(p.release('n9')).toBe('10.0.0.160/28');
    expect(p.release('n3')).toBe('10.0.0.64/28');
    expect(p.release('nobody')).toBeUndefined();
    expect(p.allocate('x')).toBe('10.0.0.64/28');
    expect(p.allocate('y')).toBe('10.0.0.160/28');
    expect(p.free).toBe(0n);
  });

  it('keeps owners right for subnets freed and taken again, by reuse, preference or adoption', () => {
    const p = v4({ network: '10.0.0.0/24', subnetLen: 28 });
    for (let i = 0; i < 6; i++) p.allocate(`n${i}`); // 10.0.0.16 .. 10.0.0.96
    expect(p.release('n1')).toBe('10.0.0.32/28');
    expect(p.release('n2')).toBe('10.0.0.48/28');
    expect(p.ownerOf('10.0.0.32/28')).toBeUndefined();
    p.adopt('a', '10.0.0.48/28'); // freed, queued: taken out of order
    expect(p.allocate('b', { preferred: '10.0.0.32/28' })).toBe('10.0.0.32/28');
    expect(p.allocate('c')).toBe('10.0.0.112/28'); // both queued ones are taken: skipped
    expect(p.release('a')).toBe('10.0.0.48/28'); // still queued once
    expect(p.release('b')).toBe('10.0.0.32/28');
    expect([p.allocate('d'), p.allocate('e'), p.allocate('f')]).toEqual([
      '10.0.0.32/28',
      '10.0.0.48/28',
      '10.0.0.128/28',
    ]);
    expect(p.ownerOf('10.0.0.32/28')).toBe('d');
    expect(p.subnetOf('e')).toBe('10.0.0.48/28');
    expect(p.snapshot().map((e) => e.owner)).toEqual(['n0', 'd', 'e', 'n3', 'n4', 'n5', 'c', 'f']);
    expect(p.release('d')).toBe('10.0.0.32/28');
    expect(p.checkAdoptable('10.0.0.32/28')).toBeUndefined();
    expect(p.stats()).toEqual({ capacity: 15n, allocated: 7, outOfRange: 0, free: 8n });
  });

  it('skips subnets adopted ahead of the scan, and hands them out once released', () => {
    const p = v4({ network: '10.0.0.0/24', subnetLen: 28 });
    p.adopt('x', '10.0.0.32/28');
    p.adopt('y', '10.0.0.64/28');
    expect(p.release('y')).toBe('10.0.0.64/28'); // released before the scan reached it
    expect([p.allocate('a'), p.allocate('b'), p.allocate('c'), p.allocate('d')]).toEqual([
      '10.0.0.16/28',
      '10.0.0.48/28',
      '10.0.0.64/28',
      '10.0.0.80/28',
    ]);
    expect(p.release('x')).toBe('10.0.0.32/28');
    expect(p.allocate('e')).toBe('10.0.0.32/28');
  });

  it('adopts existing subnets anywhere in the network that are aligned and not reserved', () => {
    const p = v4({
      network: '10.244.0.0/16',
      subnetMax: '10.244.9.0',
      reservedSubnets: ['10.244.5.0/24'],
    });
    p.adopt('first', '10.244.0.0/24'); // below subnetMin: still adoptable
    p.adopt('high', '10.244.200.0/24'); // above subnetMax
    p.adopt('mid', '10.244.1.0/24');
    p.adopt('mid', '10.244.1.0/24'); // idempotent
    expect(codeOf(() => p.adopt('other', '10.244.1.0/24'))).toBe('EIPAM_CONFLICT');
    expect(codeOf(() => p.adopt('mid', '10.244.2.0/24'))).toBe('EIPAM_CONFLICT');
    expect(codeOf(() => p.adopt('r', '10.244.5.0/24'))).toBe('EIPAM_RESERVED');
    expect(codeOf(() => p.adopt('r', '10.245.0.0/24'))).toBe('EIPAM_OUT_OF_RANGE');
    expect(codeOf(() => p.adopt('r', '10.244.3.0/25'))).toBe('EIPAM_MISALIGNED');
    expect(codeOf(() => p.adopt('r', '10.244.3.1/24'))).toBe('EIPAM_MISALIGNED');
    expect(codeOf(() => p.adopt('r', 'fd00::/64'))).toBe('EIPAM_OUT_OF_RANGE');
    expect(p.checkAdoptable('10.244.1.0/24', 'mid')).toBeUndefined();
    expect(p.checkAdoptable('10.244.1.0/24')?.code).toBe('EIPAM_CONFLICT');
    expect(p.allocate('new')).toBe('10.244.2.0/24');
    expect(p.ownerOf('10.244.200.0/24')).toBe('high');
    expect(p.subnetOf('first')).toBe('10.244.0.0/24');
    expect(p.stats()).toEqual({ capacity: 8n, allocated: 4, outOfRange: 2, free: 6n });
    expect(p.snapshot().map((e) => e.owner)).toEqual(['first', 'mid', 'new', 'high']);
    p.release('first');
    expect(p.allocate('again')).toBe('10.244.3.0/24'); // first subnet is never handed out
  });

  it('handles IPv6 ranges of 2^64 subnets without materialising them', () => {
    const p = v6({ ipv6Network: 'fd00::/32', ipv6SubnetLen: 96 });
    expect(p.capacity).toBe((1n << 64n) - 1n);
    expect(p.allocate('a')).toBe('fd00::1:0:0/96');
    p.adopt('b', 'fd00:0:ffff:ffff:ffff:ffff::/96');
    expect(p.allocate('c', { preferred: 'fd00:0:8000::/96' })).toBe('fd00:0:8000::/96');
    expect(p.free).toBe((1n << 64n) - 4n);
    expect(toSafeNumber(p.free)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('allocates lowest-first across index 2^53, where indices turn from numbers into bigints', () => {
    const net = parseCidr('fd00::/32');
    const at = (i: bigint) => formatCidr({ family: 6, addr: net.addr + (i << 32n), prefix: 96 });
    const addr = (i: bigint) => at(i).split('/')[0]!;
    const edge = 1n << 53n; // Number.MAX_SAFE_INTEGER + 1
    const p = new SubnetPool({
      family: 6,
      network: 'fd00::/32',
      subnetLen: 96,
      subnetMin: addr(edge - 3n),
      subnetMax: addr(edge + 3n),
      reserved: [at(edge - 1n), at(edge)],
    });
    expect(p.capacity).toBe(5n);
    expect(['a', 'b', 'c', 'd'].map((o) => p.allocate(o))).toEqual(
      [edge - 3n, edge - 2n, edge + 1n, edge + 2n].map(at),
    );
    expect(p.release('c')).toBe(at(edge + 1n));
    expect(p.release('a')).toBe(at(edge - 3n));
    expect(p.allocate('e')).toBe(at(edge - 3n));
    expect(p.allocate('f')).toBe(at(edge + 1n));
    expect(p.allocate('g')).toBe(at(edge + 3n));
    expect(codeOf(() => p.allocate('h'))).toBe('EIPAM_EXHAUSTED');
    expect(p.ownerOf(at(edge + 1n))).toBe('f');
    expect(p.snapshot().map((e) => e.owner)).toEqual(['e', 'b', 'f', 'd', 'g']);
  });

  it('counts reservations that straddle the range only once', () => {
    const p = v4({
      network: '10.0.0.0/16',
      subnetMin: '10.0.4.0',
      subnetMax: '10.0.11.0',
      reservedSubnets: ['10.0.0.0/21', '10.0.6.0/23', '10.0.11.128/25'],
    });
    // 4..11 = 8 subnets; 4..7 reserved by the /21 (and /23 inside it), 11 by the /25.
    expect(p.capacity).toBe(3n);
    expect([p.allocate('a'), p.allocate('b'), p.allocate('c')]).toEqual([
      '10.0.8.0/24',
      '10.0.9.0/24',
      '10.0.10.0/24',
    ]);
    expect(codeOf(() => p.allocate('d'))).toBe('EIPAM_EXHAUSTED');
  });

  it('rejects inconsistent configs', () => {
    const base: PoolConfig = {
      family: 4,
      network: '10.0.0.0/16',
      subnetLen: 24,
      subnetMin: '10.0.1.0',
      subnetMax: '10.0.255.0',
      reserved: [],
    };
    expect(codeOf(() => new SubnetPool({ ...base, subnetLen: 8 }))).toBe('EIPAM_INVALID_CONFIG');
    expect(
      codeOf(() => new SubnetPool({ ...base, subnetMin: '10.0.9.0', subnetMax: '10.0.1.0' })),
    ).toBe('EIPAM_INVALID_CONFIG');
    expect(codeOf(() => new SubnetPool({ ...base, subnetMax: '10.1.0.0' }))).toBe(
      'EIPAM_OUT_OF_RANGE',
    );
    expect(codeOf(() => new SubnetPool({ ...base, reserved: ['10.9.0.0/24'] }))).toBe(
      'EIPAM_OUT_OF_RANGE',
    );
  });
});

// ---- property tests against a simple reference model ----

interface Setup {
  family: Family;
  network: string;
  subnetLen: number;
  min: bigint;
  max: bigint;
  reserved: string[];
}

const setupArb = (family: Family): fc.Arbitrary<Setup> => {
  const base =
    family === 4
      ? { network: '10.20.0.0/22', prefix: 22 }
      : { network: 'fd00:20::/32', prefix: 32 };
  const extraBits = family === 4 ? fc.integer({ min: 2, max: 6 }) : fc.constantFrom(2, 5, 32, 64);
  return extraBits.chain((bits) => {
    const count = 1n << BigInt(bits);
    const subnetLen = base.prefix + bits;
    const idx = fc.bigInt({ min: 0n, max: count - 1n });
    return fc
      .record({
        a: idx,
        b: idx,
        reserved: fc.array(
          fc.record({ at: idx, widen: fc.integer({ min: 0, max: Math.min(bits, 3) }) }),
          { maxLength: 3 },
        ),
      })
      .map(({ a, b, reserved }) => {
        const net = parseCidr(base.network);
        const shift = BigInt(bitsOf(family) - subnetLen);
        return {
          family,
          network: base.network,
          subnetLen,
          min: a < b ? a : b,
          max: a < b ? b : a,
          reserved: reserved.map(({ at, widen }) =>
            formatCidr({
              family,
              addr: net.addr + (((at >> BigInt(widen)) << BigInt(widen)) << shift),
              prefix: subnetLen - widen,
            }),
          ),
        };
      });
  });
};

type Op =
  | { kind: 'allocate'; owner: string; preferred?: bigint }
  | { kind: 'adopt'; owner: string; index: bigint }
  | { kind: 'release'; owner: string };

const opsArb = (s: Setup, length = { max: 60, min: 0 }, owners = 10): fc.Arbitrary<Op[]> => {
  const count = 1n << BigInt(s.subnetLen - parseCidr(s.network).prefix);
  const owner = fc.constantFrom(...Array.from({ length: owners }, (_, i) => `node-${i}`));
  // Indices near the edges and anywhere: the interesting places.
  const index = fc.oneof(
    fc.bigInt({ min: 0n, max: count - 1n }),
    fc.constantFrom(0n, s.min, s.max, count - 1n),
    fc.bigInt({ min: s.min, max: s.min + 6n < count ? s.min + 6n : count - 1n }),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: owner.map((o): Op => ({ kind: 'allocate', owner: o })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ o: owner, i: index })
        .map(({ o, i }): Op => ({ kind: 'allocate', owner: o, preferred: i })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ o: owner, i: index })
        .map(({ o, i }): Op => ({ kind: 'adopt', owner: o, index: i })),
    },
    { weight: 3, arbitrary: owner.map((o): Op => ({ kind: 'release', owner: o })) },
  );
  return fc.array(op, { minLength: length.min, maxLength: length.max });
};

class Model {
  readonly taken = new Map<bigint, string>();
  readonly byOwner = new Map<string, bigint>();
  constructor(
    readonly s: Setup,
    readonly reservedIv: Array<[bigint, bigint]>,
  ) {}
  reserved(i: bigint) {
    return this.reservedIv.some(([a, b]) => i >= a && i <= b);
  }
  allocatable(i: bigint) {
    return i >= this.s.min && i <= this.s.max && !this.reserved(i);
  }
  lowestFree(): bigint | undefined {
    for (let i = this.s.min; i <= this.s.max;) {
      const r = this.reservedIv.find(([a, b]) => i >= a && i <= b);
      if (r) {
        i = r[1] + 1n;
        continue;
      }
      if (!this.taken.has(i)) return i;
      i++;
    }
    return undefined;
  }
}

function run(s: Setup, ops: Op[]) {
  const net = parseCidr(s.network);
  const shift = BigInt(bitsOf(s.family) - s.subnetLen);
  const text = (i: bigint) =>
    formatCidr({ family: s.family, addr: net.addr + (i << shift), prefix: s.subnetLen });
  const addrText = (i: bigint) => text(i).split('/')[0]!;
  const pool = new SubnetPool({
    family: s.family,
    network: s.network,
    subnetLen: s.subnetLen,
    subnetMin: addrText(s.min),
    subnetMax: addrText(s.max),
    reserved: s.reserved,
  });
  const reservedIv = s.reserved.map((r): [bigint, bigint] => {
    const c = parseCidr(r);
    const first = (c.addr - net.addr) >> shift;
    const size = 1n << BigInt(s.subnetLen - c.prefix);
    return [first, first + size - 1n];
  });
  const model = new Model(s, reservedIv);
  const log: string[] = [];
  for (const op of ops) {
    if (op.kind === 'allocate') {
      let expected = model.byOwner.get(op.owner);
      if (expected === undefined) {
        if (
          op.preferred !== undefined &&
          model.allocatable(op.preferred) &&
          !model.taken.has(op.preferred)
        ) {
          expected = op.preferred;
        } else expected = model.lowestFree();
      }
      if (expected === undefined) {
        expect(() => pool.allocate(op.owner)).toThrow(
          expect.objectContaining({ code: 'EIPAM_EXHAUSTED' }),
        );
        log.push('exhausted');
        continue;
      }
      const got = pool.allocate(
        op.owner,
        op.preferred !== undefined ? { preferred: text(op.preferred) } : {},
      );
      expect(got).toBe(text(expected));
      if (!model.byOwner.has(op.owner)) {
        // Fresh allocations stay inside [min, max] and outside reservations.
        expect(model.allocatable(expected)).toBe(true);
      }
      model.taken.set(expected, op.owner);
      model.byOwner.set(op.owner, expected);
      log.push(got);
    } else if (op.kind === 'adopt') {
      const holder = model.taken.get(op.index);
      const current = model.byOwner.get(op.owner);
      let code: string | undefined;
      if (holder === op.owner) code = undefined;
      else if (holder !== undefined || current !== undefined) code = 'EIPAM_CONFLICT';
      else if (model.reserved(op.index)) code = 'EIPAM_RESERVED';
      expect(codeOf(() => pool.adopt(op.owner, text(op.index)))).toBe(code);
      if (code === undefined) {
        model.taken.set(op.index, op.owner);
        model.byOwner.set(op.owner, op.index);
      }
      log.push(`adopt:${code ?? 'ok'}`);
    } else {
      const i = model.byOwner.get(op.owner);
      expect(pool.release(op.owner)).toBe(i === undefined ? undefined : text(i));
      if (i !== undefined) {
        model.taken.delete(i);
        model.byOwner.delete(op.owner);
      }
    }
    // Invariants after every step.
    const snap = pool.snapshot();
    expect(new Set(snap.map((e) => e.subnet)).size).toBe(snap.length); // no overlap
    expect(snap.length).toBe(model.byOwner.size);
    const st = pool.stats();
    const inRange = [...model.taken.keys()].filter((i) => i >= s.min && i <= s.max).length;
    expect(st.allocated - st.outOfRange).toBe(inRange);
    expect(BigInt(inRange) + st.free).toBe(st.capacity); // allocated + free == capacity (inside the range)
    for (const [i, o] of model.taken) expect(pool.ownerOf(text(i))).toBe(o);
  }
  return { log, snapshot: pool.snapshot() };
}

describe('SubnetPool properties', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: matches the reference model (lowest free / preferred), no overlap, no leak`, () => {
      fc.assert(
        fc.property(
          setupArb(family).chain((s) => fc.tuple(fc.constant(s), opsArb(s))),
          ([s, ops]) => {
            run(s, ops);
          },
        ),
        { numRuns: 300 },
      );
    });

    it(`IPv${family}: matches the model over long churns (subnets freed and reused many times)`, () => {
      fc.assert(
        fc.property(
          setupArb(family).chain((s) =>
            fc.tuple(fc.constant(s), opsArb(s, { min: 150, max: 250 }, 6)),
          ),
          ([s, ops]) => {
            run(s, ops);
          },
        ),
        { numRuns: 10 },
      );
    });

    it(`IPv${family}: same operations give the same result`, () => {
      fc.assert(
        fc.property(
          setupArb(family).chain((s) => fc.tuple(fc.constant(s), opsArb(s))),
          ([s, ops]) => {
            expect(run(s, ops)).toEqual(run(s, ops));
          },
        ),
        { numRuns: 50 },
      );
    });
  }

  it('released subnets all become allocatable again (fill, free all, refill)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (bits, order) => {
          const p = v4({ network: '10.0.0.0/16', subnetLen: 16 + bits });
          const n = Number(p.capacity);
          const owners = Array.from({ length: n }, (_, i) => `n${i}`);
          const first = owners.map((o) => p.allocate(o));
          expect(p.free).toBe(0n);
          for (const k of order) p.release(owners[k % n]!);
          for (const o of owners) p.release(o);
          expect(p.free).toBe(p.capacity);
          expect(owners.map((o) => p.allocate(o))).toEqual(first);
        },
      ),
      { numRuns: 30 },
    );
  });
});
