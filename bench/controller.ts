/**
 * Controller benchmark: time and API requests to lease subnets to 1,000 and 5,000 nodes, and
 * the controller's RSS, against a floor measured in the same run: a bare client process doing
 * the minimal writes (list nodes, then create lease + patch node per node) with no informer,
 * queue or status (controller-floor.ts). Both sides are timed from spawning their process to
 * the moment a watch in this process sees every node's podCIDR set (the same signal for both; the
 * measured processes are not polled). Each side gets a fresh control plane holding only its own n
 * Nodes (like with like: same list size, same etcd history), and both load credentials with the
 * same loader. BENCH_CONTROLLER_RUNS pairs per size; rows report the median pair.
 */
import { spawn } from 'node:child_process';
import { startControlPlane } from '../test-e2e/harness/control-plane.js';
import { KubeClient, type WatchEvent } from '../src/kube/client.js';
import {
  applyNetwork,
  createNodes,
  listLeases,
  listNodes,
  startController,
  type NodeObj,
} from '../test-e2e/controller/helpers.js';
import type { BenchResult } from './types.js';
import { clientNodeAuth } from '../src/kube/client-node-auth.js';

const SIZES = (process.env.BENCH_CONTROLLER_SIZES ?? '1000,5000').split(',').map(Number);
const CONCURRENCY = 16;
/** Floor/controller pairs per size (BENCH_CONTROLLER_RUNS); rows report the median pair. */
const RUNS = Math.max(1, Number(process.env.BENCH_CONTROLLER_RUNS ?? 3));
const NODES = '/api/v1/nodes';
/** Node options for both measured processes, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * Watches the selected Nodes from the bench process and resolves with the time at which every
 * one has a podCIDR: the same done signal for floor and controller, with no polling lag and no
 * scrapes of the measured process.
 */
async function allPodCIDRsSet(
  client: KubeClient,
  selector: string,
  n: number,
): Promise<{ done: Promise<number>; stop(): void }> {
  const { items, resourceVersion } = await client.listAll<NodeObj>(NODES, {
    labelSelector: selector,
  });
  const set = new Set(items.filter((x) => x.spec?.podCIDR).map((x) => x.metadata.name));
  const abort = new AbortController();
  const done = new Promise<number>((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (!abort.signal.aborted) reject(err instanceof Error ? err : new Error(String(err)));
    };
    const query = { labelSelector: selector, resourceVersion, timeoutSeconds: 3600 };
    const onEvent = (ev: WatchEvent<NodeObj>): boolean | undefined => {
      if (ev.type === 'ERROR')
        return (fail(new Error(`node watch: ${JSON.stringify(ev.object)}`)), false);
      if (ev.object.spec?.podCIDR) set.add(ev.object.metadata.name);
      if (set.size < n) return undefined;
      resolve(performance.now());
      return false;
    };
    if (set.size >= n) return resolve(performance.now());
    client
      .watch<NodeObj>(NODES, query, onEvent, { signal: abort.signal })
      .then(() => fail(new Error('node watch ended before all podCIDRs were set')), fail);
  });
  return { done, stop: () => abort.abort() };
}

async function floorRun(
  client: KubeClient,
  kubeconfigPath: string,
  n: number,
): Promise<{ seconds: number; requests: number; cpu: number }> {
  // The same FlannelNetwork as the controller side; no controller runs here, the floor reads it.
  await applyNetwork(client, 'floor', {
    network: '10.0.0.0/10',
    subnetLen: 24,
    nodeSelector: { matchLabels: { bench: 'floor' } },
  });
  const names = Array.from({ length: n }, (_, i) => `floor-${i}`);
  await createNodes(client, names, { bench: 'floor' }, 32);
  const script = new URL('./controller-floor.js', import.meta.url).pathname;
  const watch = await allPodCIDRsSet(client, 'bench=floor', n);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, script, kubeconfigPath, 'bench=floor', 'floor', String(CONCURRENCY)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((res) => child.on('exit', res));
  let seconds: number;
  try {
    if (code !== 0) throw new Error(`controller floor exited with ${code}`);
    // Its last patch is answered before the watch may show it: give the event a moment.
    const late = new Promise<never>((_, rej) =>
      setTimeout(
        () => rej(new Error('floor exited, watch never saw all podCIDRs')),
        60_000,
      ).unref(),
    );
    seconds = ((await Promise.race([watch.done, late])) - t0) / 1000;
  } finally {
    watch.stop();
  }
  const { requests, nodes, cpuSeconds } = JSON.parse(out) as {
    requests: number;
    nodes: number;
    cpuSeconds: number;
  };
  if (nodes !== n) throw new Error(`controller floor saw ${nodes}/${n} nodes`);
  const done = (await listNodes(client, 'bench=floor')).filter((x) => x.spec?.podCIDR);
  if (done.length !== n)
    throw new Error(`controller floor: ${done.length}/${n} nodes have a podCIDR`);
  return { seconds, requests, cpu: cpuSeconds };
}

async function controllerRun(
  client: KubeClient,
  kubeconfigPath: string,
  n: number,
): Promise<{ seconds: number; requests: number; rss: number; breakdown: string; cpu: number }> {
  await applyNetwork(client, 'bench', {
    network: '10.64.0.0/10',
    subnetLen: 24,
    nodeSelector: { matchLabels: { bench: 'ctrl' } },
  });
  await createNodes(
    client,
    Array.from({ length: n }, (_, i) => `ctrl-${i}`),
    { bench: 'ctrl' },
    32,
  );
  const watch = await allPodCIDRsSet(client, 'bench=ctrl', n);
  const t0 = performance.now();
  const ctrl = await startController({
    kubeconfigPath,
    args: ['--leader-elect=false', `--write-concurrency=${CONCURRENCY}`, '--log-level=warn'],
    name: `bench-${n}`,
    nodeArgs: NODE_ARGS,
  });
  try {
    const exited = ctrl.exited.then((c) => Promise.reject(new Error(`controller exited (${c})`)));
    const seconds = ((await Promise.race([watch.done, exited])) - t0) / 1000;
    const requests = await ctrl.metric('flannel_operator_controller_api_requests_total');
    const breakdown = (await ctrl.metrics())
      .split('\n')
      .filter((l) => l.startsWith('flannel_operator_controller_api_requests_total{'))
      .map((l) => l.replace('flannel_operator_controller_api_requests_total', ''))
      .join(' ');
    const rss = ctrl.rss();
    const cpu = ctrl.cpuSeconds();
    const leases = await listLeases(client, 'bench');
    const nodes = (await listNodes(client, 'bench=ctrl')).filter((x) => x.spec?.podCIDR);
    if (leases.length !== n || new Set(leases.map((l) => l.spec.subnet)).size !== n) {
      throw new Error(`controller bench: expected ${n} unique leases, got ${leases.length}`);
    }
    if (nodes.length !== n)
      throw new Error(`controller bench: ${nodes.length}/${n} nodes have a podCIDR`);
    return { seconds, requests, rss, breakdown, cpu };
  } finally {
    watch.stop();
    await ctrl.kill('SIGTERM');
  }
}

/** Runs `fn` against a control plane of its own, stopped afterwards. */
async function onFreshControlPlane<T>(
  fn: (client: KubeClient, kubeconfigPath: string) => Promise<T>,
): Promise<T> {
  const cp = await startControlPlane({ installCrds: true });
  const client = new KubeClient(clientNodeAuth(cp.kubeConfig), { userAgent: 'bench' });
  try {
    return await fn(client, cp.kubeconfigPath);
  } finally {
    client.close();
    await cp.stop();
  }
}

type FloorRun = Awaited<ReturnType<typeof floorRun>>;
type ControllerRun = Awaited<ReturnType<typeof controllerRun>>;

/**
 * RUNS floor/controller pairs, each side right after the other (order alternating, so a load
 * trend hits both alike): on a shared, busy machine one pair can be off by 2x either way; the
 * pair with the median ratio is what the row reports.
 */
async function pairs(n: number): Promise<Array<{ floor: FloorRun; ctrl: ControllerRun }>> {
  const out: Array<{ floor: FloorRun; ctrl: ControllerRun }> = [];
  const floorSide = (): Promise<FloorRun> =>
    onFreshControlPlane((client, path) => floorRun(client, path, n));
  const ctrlSide = (): Promise<ControllerRun> =>
    onFreshControlPlane((client, path) => controllerRun(client, path, n));
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      const floor = await floorSide();
      out.push({ floor, ctrl: await ctrlSide() });
    } else {
      const ctrl = await ctrlSide();
      out.push({ floor: await floorSide(), ctrl });
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median pair by ratio (value, floor and ratio all from it); every pair's ratio for the notes. */
function pairedRow(
  ps: Array<{ floor: FloorRun; ctrl: ControllerRun }>,
  pick: (r: FloorRun | ControllerRun) => number,
): { value: number; floor: number; ratio: number; ratios: string } {
  const ratios = ps.map((p) => pick(p.ctrl) / pick(p.floor));
  const mid = [...ps].sort((a, b) => pick(a.ctrl) / pick(a.floor) - pick(b.ctrl) / pick(b.floor))[
    Math.floor(ps.length / 2)
  ]!;
  return {
    value: round(pick(mid.ctrl)),
    floor: round(pick(mid.floor)),
    ratio: round(pick(mid.ctrl) / pick(mid.floor)),
    ratios: ratios.map((r) => r.toFixed(2)).join(', '),
  };
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const n of SIZES) {
    const ps = await pairs(n);
    const wall = pairedRow(ps, (r) => r.seconds);
    const cpu = pairedRow(ps, (r) => r.cpu);
    const first = ps[0]!;
    results.push(
      {
        name: `lease ${n} nodes (wall time)`,
        value: wall.value,
        unit: 's',
        floor: wall.floor,
        ratio: wall.ratio,
        notes: `from process start: list+watch, plan, create lease + patch node; floor = bare client process from its start: get the network, list nodes, ${CONCURRENCY} parallel writes of the same lease object (labels, owner references) and Node patch; both done when the bench's node watch sees every podCIDR; each side on a fresh control plane; the median of ${ps.length} pairs by ratio (ratios ${wall.ratios})`,
      },
      {
        name: `lease ${n} nodes (API requests)`,
        value: first.ctrl.requests,
        unit: 'requests',
        floor: first.floor.requests,
        ratio: round(first.ctrl.requests / first.floor.requests),
        notes: `all requests the controller sent (lists, watches, writes, status, events): ${first.ctrl.breakdown}`,
      },
      {
        name: `controller RSS after ${n} nodes`,
        value: round(median(ps.map((p) => p.ctrl.rss)) / 1024 / 1024),
        unit: 'MiB',
        notes: `VmRSS of the controller process, median of ${ps.length} runs`,
      },
      {
        name: `controller CPU to lease ${n} nodes`,
        value: cpu.value,
        unit: 's',
        floor: cpu.floor,
        ratio: cpu.ratio,
        notes: `user+system CPU of the controller process to done (start, lists, watch decoding, planning, writes); floor = the floor process to its exit; the median of ${ps.length} pairs by ratio (ratios ${cpu.ratios})`,
      },
    );
  }
  return results;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
