/**
 * Scenario c: a bounded loop of pod-to-pod HTTP requests (a new TCP connection each) running inside a
 * client pod while something disrupts the operator; counts the requests that failed.
 */
import type { KindCluster } from './cluster.js';
import { hostPort, podSh, TEST_NAMESPACE } from './workloads.js';
import { waitFor } from '../../harness/process.js';

export interface TrafficResult {
  total: number;
  failed: number;
  /** "fail <n> <time>" lines of the failed requests. */
  failures: string[];
}

/** At most this many requests: ~20 per second, so the loop ends by itself after ~8 minutes. */
const MAX_REQUESTS = 10_000;

/**
 * Starts the loop from `client` to `serverIP`, waits until requests flow, runs `disrupt`, keeps the
 * traffic going `settleMs` longer, then stops the loop and returns its counts.
 */
export async function trafficDuring(
  cluster: KindCluster,
  client: string,
  serverIP: string,
  disrupt: () => Promise<void>,
  settleMs = 5_000,
): Promise<TrafficResult> {
  const stop = '/tmp/fo-traffic-stop';
  const progress = '/tmp/fo-traffic-count';
  const script = [
    `rm -f ${stop}; n=0; f=0`,
    `while [ ! -f ${stop} ] && [ $n -lt ${MAX_REQUESTS} ]; do`,
    `  n=$((n+1))`,
    `  curl -s -m 2 -o /dev/null http://${hostPort(serverIP)}/hostname || { f=$((f+1)); echo "fail $n $(date +%T.%N)"; }`,
    `  echo $n > ${progress}; sleep 0.03`,
    `done; echo "total $n failed $f"`,
  ].join('\n');
  const loop = cluster.kubectlResult(
    ['-n', TEST_NAMESPACE, 'exec', client, '--', 'bash', '-c', script],
    {
      timeoutMs: 900_000,
    },
  );
  await waitFor(
    'traffic loop running',
    async () =>
      Number(
        (await podSh(cluster, client, `cat ${progress} 2>/dev/null || echo 0`)).stdout.trim(),
      ) >= 20,
    30_000,
    250,
  );
  try {
    await disrupt();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    await podSh(cluster, client, `touch ${stop}`);
  }
  const r = await loop;
  const summary = /total (\d+) failed (\d+)/.exec(r.stdout);
  if (!summary)
    throw new Error(
      `traffic loop gave no summary (exit ${r.code}): ${r.stdout.slice(-500)} ${r.stderr}`,
    );
  return {
    total: Number(summary[1]),
    failed: Number(summary[2]),
    failures: r.stdout.split('\n').filter((l) => l.startsWith('fail ')),
  };
}
