/**
 * IPAM benchmark: SubnetPool against naive floors measured in the same run.
 * - fill: 65,536 IPv4 /32s out of a /16, and 65,536 IPv6 /64s out of a /32 (2^32 subnets);
 *   floor = a plain Set + next-fit cursor (the least work that can hand out unique subnets).
 * - churn: on a full /16, release 512 random holders and reallocate lowest-first, 8 rounds;
 *   floor = a plain Set + linear scan from subnetMin (same lowest-first result, checked).
 * Both sides format CIDR strings, so the ratio shows the cost of the pool's bookkeeping.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { SubnetPool } from '../src/ipam/pool.js';
import { mulberry32 } from '../test-e2e/harness/random.js';
import type { BenchResult } from './types.js';

const N = 65_536;
const CHURN_ROUNDS = 8;
const CHURN_RELEASES = 512;

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Best of `n` runs, ms (first runs warm the JIT up). */
function best(n: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < n; i++) min = Math.min(min, time(fn));
  return min;
}

const v4Text = (base: number, i: number) => {
  const a = (base + i) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`;
};

function poolV4(): SubnetPool {
  return new SubnetPool({
    family: 4,
    network: '10.0.0.0/16',
    subnetLen: 32,
    subnetMin: '10.0.0.0',
    subnetMax: '10.0.255.255',
    reserved: [],
  });
}

function fillV4(): SubnetPool {
  const p = poolV4();
  for (let i = 0; i < N; i++) p.allocate(`node-${i}`);
  return p;
}

function floorFillV4(): Map<string, number> {
  const used = new Set<number>();
  const byOwner = new Map<string, number>();
  let cursor = 0;
  const base = (10 << 24) >>> 0;
  for (let i = 0; i < N; i++) {
    while (used.has(cursor)) cursor++;
    used.add(cursor);
    byOwner.set(`node-${i}`, cursor);
    v4Text(base, cursor);
  }
  return byOwner;
}

function fillV6(): SubnetPool {
  const p = new SubnetPool({
    family: 6,
    network: 'fd00::/32',
    subnetLen: 64,
    subnetMin: 'fd00:0:0:1::',
    subnetMax: 'fd00:0:ffff:ffff::',
    reserved: [],
  });
  for (let i = 0; i < N; i++) p.allocate(`node-${i}`);
  return p;
}

function floorFillV6(): void {
  const used = new Set<bigint>();
  const byOwner = new Map<string, bigint>();
  let cursor = 1n;
  const base = 0xfd000000n << 96n;
  for (let i = 0; i < N; i++) {
    while (used.has(cursor)) cursor++;
    used.add(cursor);
    byOwner.set(`node-${i}`, cursor);
    const addr = base + (cursor << 64n);
    // Minimal text form (no RFC 5952 compression): eight hex groups.
    const groups: string[] = [];
    for (let g = 7; g >= 0; g--) groups.push(((addr >> BigInt(g * 16)) & 0xffffn).toString(16));
    void `${groups.join(':')}/64`;
  }
}

function churnPlan(): number[][] {
  const rnd = mulberry32(42);
  return Array.from({ length: CHURN_ROUNDS }, () => {
    const picked = new Set<number>();
    while (picked.size < CHURN_RELEASES) picked.add(Math.floor(rnd() * N));
    return [...picked];
  });
}

function churnPool(p: SubnetPool, plan: number[][]): string[] {
  const out: string[] = [];
  for (const round of plan) {
    for (const k of round) p.release(`node-${k}`);
    for (const k of round) out.push(p.allocate(`node-${k}`));
  }
  return out;
}

function churnFloor(byOwner: Map<string, number>, plan: number[][]): string[] {
  const used = new Set<number>(byOwner.values());
  const base = (10 << 24) >>> 0;
  const out: string[] = [];
  for (const round of plan) {
    for (const k of round) {
      const owner = `node-${k}`;
      used.delete(byOwner.get(owner)!);
      byOwner.delete(owner);
    }
    for (const k of round) {
      let i = 0;
      while (used.has(i)) i++; // lowest free, scanning from subnetMin
      used.add(i);
      byOwner.set(`node-${k}`, i);
      out.push(v4Text(base, i));
    }
  }
  return out;
}

/** Heap retained by the value `make` returns, measured around full GCs. */
function retainedBytes(make: () => unknown): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = make();
  gc();
  const after = process.memoryUsage().heapUsed;
  void kept;
  return after - before;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function result(name: string, ms: number, floorMs: number, notes: string): BenchResult {
  return {
    name,
    value: round3(ms),
    unit: 'ms',
    floor: round3(floorMs),
    ratio: round3(ms / floorMs),
    notes,
  };
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];

  const fill4 = best(5, () => void fillV4());
  const fill4Floor = best(5, () => void floorFillV4());
  results.push(
    result(
      'ipam: allocate 65,536 IPv4 /32 from a /16',
      fill4,
      fill4Floor,
      `${Math.round((N / fill4) * 1000)} allocations/s; floor = Set + next-fit cursor`,
    ),
  );

  const heapDelta = retainedBytes(() => fillV6());
  const fill6 = best(5, () => void fillV6());
  const fill6Floor = best(5, () => floorFillV6());
  results.push(
    result(
      'ipam: allocate 65,536 IPv6 /64 from a /32 (2^32 subnets)',
      fill6,
      fill6Floor,
      `${Math.round((N / fill6) * 1000)} allocations/s; floor = Set<bigint> + next-fit cursor`,
    ),
    {
      name: 'ipam: heap growth holding 65,536 IPv6 subnets',
      value: round3(heapDelta / 1024 / 1024),
      unit: 'MiB',
      notes: 'after full GC; proportional to holders, not to the 2^32-subnet range',
    },
  );

  const plan = churnPlan();
  let poolOut: string[] = [];
  let floorOut: string[] = [];
  let churn = Infinity;
  let churnF = Infinity;
  for (let i = 0; i < 3; i++) {
    const p = fillV4();
    churn = Math.min(
      churn,
      time(() => (poolOut = churnPool(p, plan))),
    );
    const owners = floorFillV4();
    churnF = Math.min(
      churnF,
      time(() => (floorOut = churnFloor(owners, plan))),
    );
  }
  if (poolOut.join() !== floorOut.join())
    throw new Error('ipam bench: pool and floor disagree on churn results');
  results.push(
    result(
      `ipam: churn ${CHURN_ROUNDS}x(release ${CHURN_RELEASES} + reallocate lowest-first) on a full /16`,
      churn,
      churnF,
      'floor = Set + linear scan from subnetMin; identical allocations checked',
    ),
  );
  return results;
}

// `node dist-bench/bench/ipam.js` runs this module alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
