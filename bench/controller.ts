/**
 * Controller benchmark: time and API requests to lease subnets to 1,000 and 5,000 nodes, and
 * the controller's RSS, against a floor measured in the same run: a bare client process doing
 * the minimal writes (list nodes, then create lease + patch node per node) with no informer,
 * queue or status (controller-floor.ts). Both sides are timed from spawning their process: the
 * floor to its exit, the controller to the poll that sees every node's podCIDR set.
 */
import { spawn } from 'node:child_process';
import { startControlPlane } from '../test-e2e/harness/control-plane.js';
import { KubeClient } from '../src/kube/client.js';
import {
  applyNetwork,
  deleteAll,
  createNodes,
  listLeases,
  listNodes,
  startController,
  waitFor,
  LEASES,
} from '../test-e2e/controller/helpers.js';
import type { BenchResult } from './types.js';
import { clientNodeAuth } from '../src/kube/client-node-auth.js';

const SIZES = (process.env.BENCH_CONTROLLER_SIZES ?? '1000,5000').split(',').map(Number);
const CONCURRENCY = 16;

async function floorRun(
  client: KubeClient,
  kubeconfigPath: string,
  n: number,
): Promise<{ seconds: number; requests: number }> {
  const names = Array.from({ length: n }, (_, i) => `floor-${i}`);
  await createNodes(client, names, { bench: 'floor' }, 32);
  const script = new URL('./controller-floor.js', import.meta.url).pathname;
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [script, kubeconfigPath, 'bench=floor', '10.0.0.0/10', String(CONCURRENCY)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((res) => child.on('exit', res));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`controller floor exited with ${code}`);
  const { requests, nodes } = JSON.parse(out) as { requests: number; nodes: number };
  if (nodes !== n) throw new Error(`controller floor saw ${nodes}/${n} nodes`);
  const done = (await listNodes(client, 'bench=floor')).filter((x) => x.spec?.podCIDR);
  if (done.length !== n)
    throw new Error(`controller floor: ${done.length}/${n} nodes have a podCIDR`);
  return { seconds, requests };
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
  const t0 = performance.now();
  const ctrl = await startController({
    kubeconfigPath,
    args: ['--leader-elect=false', `--write-concurrency=${CONCURRENCY}`, '--log-level=warn'],
    name: `bench-${n}`,
  });
  try {
    await waitFor(
      `${n} allocations`,
      async () => (await ctrl.metric('flannel_operator_controller_allocations_total')) >= n,
      600_000,
      100,
    );
    // Node patches follow each lease create; wait until the last one landed.
    await waitFor(
      'condition',
      async () => (await ctrl.metric('flannel_operator_controller_node_podcidrs_set_total')) >= n,
      60_000,
      50,
    );
    const seconds = (performance.now() - t0) / 1000;
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
    await ctrl.kill('SIGTERM');
  }
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const n of SIZES) {
    const cp = await startControlPlane({ installCrds: true });
    const client = new KubeClient(clientNodeAuth(cp.kubeConfig), { userAgent: 'bench' });
    try {
      const floor = await floorRun(client, cp.kubeconfigPath, n);
      // The floor's leases name no FlannelNetwork; the controller would (rightly) release them.
      await deleteAll(client, LEASES, 'network.flannel-operator.io/network=floor');
      const ctrl = await controllerRun(client, cp.kubeconfigPath, n);
      results.push(
        {
          name: `lease ${n} nodes (wall time)`,
          value: round(ctrl.seconds),
          unit: 's',
          floor: round(floor.seconds),
          ratio: round(ctrl.seconds / floor.seconds),
          notes: `from process start: list+watch, plan, create lease + patch node, status; floor = bare client process from its start: list nodes, ${CONCURRENCY} parallel writes (controller done = the 50-100 ms metrics poll that sees all podCIDRs, floor done = its exit)`,
        },
        {
          name: `lease ${n} nodes (API requests)`,
          value: ctrl.requests,
          unit: 'requests',
          floor: floor.requests,
          ratio: round(ctrl.requests / floor.requests),
          notes: `all requests the controller sent (lists, watches, writes, status, events): ${ctrl.breakdown}`,
        },
        {
          name: `controller RSS after ${n} nodes`,
          value: round(ctrl.rss / 1024 / 1024),
          unit: 'MiB',
          notes: 'VmRSS of the controller process',
        },
        {
          name: `controller CPU to lease ${n} nodes`,
          value: round(ctrl.cpu),
          unit: 's',
          notes:
            'user+system CPU of the controller process (start, lists, watch decoding, planning, writes)',
        },
      );
    } finally {
      client.close();
      await cp.stop();
    }
  }
  return results;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
