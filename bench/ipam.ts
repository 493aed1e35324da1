/**
 * IPAM benchmark: SubnetPool against naive floors measured in the same run.
 * - fill: 65,536 IPv4 /32s out of a /16, and 65,536 IPv6 /64s out of a /32 (2^32 subnets);
 *   floor = a plain Set + next-fit cursor (the least work that can hand out unique subnets).
 * - churn: on a full /16, release 512 random holders and reallocate lowest-first, 8 rounds;
 *   floor = owner map + a min-heap of freed indices + the never-used cursor (the least work that
 *   hands out the lowest free index; identical results, checked in the run).
 * Both sides format CIDR strings with the same formatter (SubnetLayout, index -> text, as the pool
 * does), so the ratio shows the cost of the pool's bookkeeping and not two ways of writing text.
 * Times are CPU ms, best of several alternating runs, each after a full GC.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { SubnetPool } from '../src/ipam/pool.js';
import { SubnetLayout } from '../src/ipam/layout.js';
import { mulberry32 } from '../test-e2e/harness/random.js';
import type { BenchResult } from './types.js';

const N = 65_536;
const CHURN_ROUNDS = 8;
const CHURN_RELEASES = 512;

/** A full GC before each timed run, so neither side pays for the other's garbage. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/**
 * CPU time (user + system) of one run, ms: on a shared machine, wall time also counts the
 * moments other processes held the core, which made single runs of either side 2x off.
 */
function time(fn: () => void): number {
  collectGarbage();
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

/**
 * Best of `n` runs of each, alternating so both see the same machine load; ms. A first,
 * untimed run of each warms the JIT up; `check` sees every pair of results.
 */
function bestOf<T>(
  n: number,
  a: () => T,
  b: () => T,
  check: (ra: T, rb: T) => void = () => undefined,
): [number, number] {
  check(a(), b());
  let minA = Infinity;
  let minB = Infinity;
  for (let i = 0; i < n; i++) {
    let ra: T | undefined;
    let rb: T | undefined;
    minA = Math.min(
      minA,
      time(() => (ra = a())),
    );
    minB = Math.min(
      minB,
      time(() => (rb = b())),
    );
    check(ra!, rb!);
  }
  return [minA, minB];
}

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

/** Pool fill; the subnets are kept, as a caller would (unused strings get optimised away). */
function fillV4(): { pool: SubnetPool; out: string[] } {
  const pool = poolV4();
  const out: string[] = [];
  for (let i = 0; i < N; i++) out.push(pool.allocate(`node-${i}`));
  return { pool, out };
}

function floorFillV4(): { byOwner: Map<string, number>; out: string[] } {
  const used = new Set<number>();
  const byOwner = new Map<string, number>();
  const out: string[] = [];
  let cursor = 0;
  const layout = new SubnetLayout('10.0.0.0/16', 32);
  for (let i = 0; i < N; i++) {
    while (used.has(cursor)) cursor++;
    used.add(cursor);
    byOwner.set(`node-${i}`, cursor);
    out.push(layout.format(cursor));
  }
  return { byOwner, out };
}

function fillV6(): { pool: SubnetPool; out: string[] } {
  const pool = new SubnetPool({
    family: 6,
    network: 'fd00::/32',
    subnetLen: 64,
    subnetMin: 'fd00:0:0:1::',
    subnetMax: 'fd00:0:ffff:ffff::',
    reserved: [],
  });
  const out: string[] = [];
  for (let i = 0; i < N; i++) out.push(pool.allocate(`node-${i}`));
  return { pool, out };
}

/** fd00::/32 has 2^32 /64s: their indices are plain numbers (subnet 0 is below subnetMin). */
function floorFillV6(): { byOwner: Map<string, number>; out: string[] } {
  const used = new Set<number>();
  const byOwner = new Map<string, number>();
  const out: string[] = [];
  const layout = new SubnetLayout('fd00::/32', 64);
  let cursor = 1;
  for (let i = 0; i < N; i++) {
    while (used.has(cursor)) cursor++;
    used.add(cursor);
    byOwner.set(`node-${i}`, cursor);
    out.push(layout.format(cursor));
  }
  return { byOwner, out };
}

/** Both sides must hand every owner the same subnet, or the comparison means nothing. */
function checkSame(what: string, pool: { out: string[] }, floor: { out: string[] }): void {
  if (pool.out.length !== N || pool.out.join() !== floor.out.join())
    throw new Error(`ipam bench: pool and floor disagree on ${what}`);
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

/** A plain binary min-heap of numbers, written out here so the floor shares no code with the pool. */
class NumberHeap {
  readonly a: number[] = [];
  push(v: number): void {
    const a = this.a;
    let i = a.length;
    a.push(v);
    while (i > 0 && a[(i - 1) >> 1]! > v) {
      a[i] = a[(i - 1) >> 1]!;
      i = (i - 1) >> 1;
    }
    a[i] = v;
  }
  pop(): number | undefined {
    const a = this.a;
    if (a.length <= 1) return a.pop();
    const top = a[0]!;
    const v = a.pop()!;
    let i = 0;
    for (let c = 1; c < a.length; c = 2 * i + 1) {
      if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= v) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = v;
    return top;
  }
}

interface FloorState {
  byOwner: Map<string, number>;
  freed: NumberHeap;
  cursor: number;
}

/**
 * Lowest-first reallocation with the least bookkeeping: freed indices go to a min-heap, and
 * indices at or past the cursor were never handed out. Every index is held, in the heap, or
 * >= cursor, so the heap's minimum (else the cursor) is the lowest free index.
 */
function churnFloor(st: FloorState, plan: number[][]): string[] {
  const layout = new SubnetLayout('10.0.0.0/16', 32);
  const out: string[] = [];
  for (const round of plan) {
    for (const k of round) {
      const owner = `node-${k}`;
      st.freed.push(st.byOwner.get(owner)!);
      st.byOwner.delete(owner);
    }
    for (const k of round) {
      const i = st.freed.pop() ?? st.cursor++;
      st.byOwner.set(`node-${k}`, i);
      out.push(layout.format(i));
    }
  }
  return out;
}

const CHURN_BLOCKS = 7;
const CHURNS_PER_BLOCK = 5;

/**
 * Churn in steady state: both sides filled once and warmed up, then blocks of churns timed in
 * turn (a single churn takes milliseconds: too short to time alone, and the first ones pay for
 * the JIT). Every churn's allocations are compared. Returns ms per churn, pool and floor.
 */
function measureChurn(): [number, number] {
  const plan = churnPlan();
  const { pool } = fillV4();
  const floor: FloorState = { byOwner: floorFillV4().byOwner, freed: new NumberHeap(), cursor: N };
  let poolOut: string[][] = [];
  let floorOut: string[][] = [];
  const block = (fn: () => string[]) => () => Array.from({ length: CHURNS_PER_BLOCK }, fn);
  const [pool0, floor0] = bestOf(
    CHURN_BLOCKS,
    block(() => churnPool(pool, plan)),
    block(() => churnFloor(floor, plan)),
    (a, b) => {
      poolOut = a;
      floorOut = b;
      if (poolOut.flat().join() !== floorOut.flat().join())
        throw new Error('ipam bench: pool and floor disagree on churn results');
    },
  );
  return [pool0 / CHURNS_PER_BLOCK, floor0 / CHURNS_PER_BLOCK];
}

/** Heap retained by the value `make` returns, measured around full GCs. */
function retainedBytes(make: () => unknown): number {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const kept = make();
  collectGarbage();
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

  checkSame('the IPv4 fill', fillV4(), floorFillV4());
  const [fill4, fill4Floor] = bestOf(
    7,
    () => void fillV4(),
    () => void floorFillV4(),
  );
  results.push(
    result(
      'ipam: allocate 65,536 IPv4 /32 from a /16',
      fill4,
      fill4Floor,
      `${Math.round((N / fill4) * 1000)} allocations/s; floor = Set + next-fit cursor, text by the same formatter as the pool; identical subnets checked`,
    ),
  );

  checkSame('the IPv6 fill', fillV6(), floorFillV6());
  const heapDelta = retainedBytes(() => fillV6().pool);
  const [fill6, fill6Floor] = bestOf(
    5,
    () => void fillV6(),
    () => void floorFillV6(),
  );
  results.push(
    result(
      'ipam: allocate 65,536 IPv6 /64 from a /32 (2^32 subnets)',
      fill6,
      fill6Floor,
      `${Math.round((N / fill6) * 1000)} allocations/s; floor = Set<number> + next-fit cursor, text by the same formatter as the pool; identical subnets checked`,
    ),
    {
      name: 'ipam: heap growth holding 65,536 IPv6 subnets',
      value: round3(heapDelta / 1024 / 1024),
      unit: 'MiB',
      notes: 'after full GC; proportional to holders, not to the 2^32-subnet range',
    },
  );

  const [churn, churnF] = measureChurn();
  results.push(
    result(
      `ipam: churn ${CHURN_ROUNDS}x(release ${CHURN_RELEASES} + reallocate lowest-first) on a full /16`,
      churn,
      churnF,
      `steady state, per churn (best of ${CHURN_BLOCKS} blocks of ${CHURNS_PER_BLOCK}); floor = owner map + min-heap of freed indices + never-used cursor, text by the same formatter; identical allocations checked`,
    ),
  );
  return results;
}

// `node dist-bench/bench/ipam.js` runs this module alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
