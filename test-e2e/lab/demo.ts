/**
 * `make lab`: control plane + 3-node netns lab + controller + agents, a FlannelNetwork, one pod
 * per node; prints leases, the pod ping matrix and iperf3 throughput, then tears everything down.
 *   --backend vxlan|host-gw|directRouting   (default vxlan)
 *   --keep                                   keep the lab running until Ctrl-C
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { startControlPlane } from '../harness/control-plane.js';
import { installCrds } from '../harness/crds.js';
import {
  API_VERSION,
  FLANNEL_NETWORK,
  LABEL_NETWORK,
  SUBNET_LEASE,
  type SubnetLease,
} from '../../src/api/index.js';
import { collectionPath } from '../../src/kube/resources.js';
import { REPO, createLab, labUnavailable, type Lab } from './lab.js';
import { waitFor } from '../harness/process.js';

const NET = 'demo';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, keep: { type: 'boolean' } },
  });
  const backend = values.backend ?? 'vxlan';
  if (!['vxlan', 'host-gw', 'directRouting'].includes(backend)) {
    process.stderr.write(`--backend: expected vxlan, host-gw or directRouting, got "${backend}"\n`);
    return 2;
  }
  const why = labUnavailable();
  if (why) {
    process.stderr.write(`lab unavailable: ${why}\n`);
    return 1;
  }
  const say = (s: string): boolean => process.stdout.write(`${s}\n`);
  say('starting kube-apiserver + etcd ...');
  const cp = await startControlPlane({ installCrds: false });
  let lab: Lab | undefined;
  try {
    // Compiled into dist-bench, the harness cannot find crds/ by itself: point it at the repo's.
    await installCrds(cp, join(REPO, 'crds'));
    // host-gw needs one L2 segment; the others put n3 behind a router to show vxlan across it.
    const n3Segment = backend === 'host-gw' ? 0 : 1;
    lab = await createLab({
      controlPlane: cp,
      nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3', segment: n3Segment }],
    });
    say(`lab ${lab.prefix} (namespaces ${lab.prefix}*), API ${cp.server}`);
    lab.startController();
    const spec = {
      network: '10.244.0.0/16',
      backend:
        backend === 'host-gw'
          ? { type: 'host-gw' }
          : { type: 'vxlan', directRouting: backend === 'directRouting' },
    };
    await waitFor(
      'FlannelNetwork accepted',
      async () =>
        !!(await lab!.client.apply(
          { apiVersion: API_VERSION, kind: FLANNEL_NETWORK.kind, metadata: { name: NET }, spec },
          { fieldManager: 'demo', force: true },
        )),
      30_000,
      250,
    );
    for (const n of lab.nodes.keys()) lab.startAgent(n, NET);
    for (const n of lab.nodes.keys()) {
      await waitFor(
        `agent ${n} ready`,
        async () => (await lab!.httpGet(n, 9102, '/readyz')).status === 200,
        60_000,
        250,
      );
    }
    const { items } = await lab.client.listAll<SubnetLease>(
      collectionPath(API_VERSION, SUBNET_LEASE.plural),
      {
        labelSelector: `${LABEL_NETWORK}=${NET}`,
      },
    );
    say(`\nFlannelNetwork ${NET}: ${backend}\n`);
    say('| node | node IP | subnet | vtep MAC | Ready |\n|---|---|---|---|---|');
    for (const l of items.sort((a, b) => a.spec.nodeName.localeCompare(b.spec.nodeName))) {
      const ready = l.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '-';
      say(
        `| ${l.spec.nodeName} | ${l.status?.publicIP ?? '-'} | ${l.spec.subnet} | ${l.status?.backend?.vtepMAC ?? '-'} | ${ready} |`,
      );
    }
    for (const n of lab.nodes.keys()) await lab.addPod(n, `pod-${n}`);
    const pods = [...lab.pods.values()];
    say('\nping matrix (row pings column)\n');
    say(`| from \\ to | ${pods.map((p) => `${p.name} (${p.ip})`).join(' | ')} |`);
    say(`|---|${pods.map(() => '---').join('|')}|`);
    const matrix = await lab.pingMatrix();
    let failures = 0;
    for (const a of pods) {
      const cells = pods.map((b) => {
        if (a === b) return '-';
        const ok = matrix.find((m) => m.from === a.name && m.to === b.name)?.ok;
        if (!ok) failures++;
        return ok ? 'ok' : 'FAIL';
      });
      say(`| ${a.name} | ${cells.join(' | ')} |`);
    }
    say('\niperf3 (pod to pod, 3 s)\n');
    for (const [a, b] of [
      ['pod-n1', 'pod-n2'],
      ['pod-n1', 'pod-n3'],
    ] as const) {
      if (!matrix.find((m) => m.from === a && m.to === b)?.ok) continue;
      const bps = await lab.iperf(a, b, 3);
      say(`${a} -> ${b}: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    }
    say(`\nroutes on n1:\n${(await lab.exec('n1', 'ip', ['route'])).stdout}`);
    if (values.keep) {
      say(
        `lab kept. Try: ip netns exec ${lab.node('n1').ns} ip route; kubeconfig: ${cp.kubeconfigPath}`,
      );
      say('Ctrl-C tears it down (or run test-e2e/lab/teardown.sh).');
      await new Promise<void>((res) => {
        process.once('SIGINT', () => res());
        process.once('SIGTERM', () => res());
      });
    }
    return failures === 0 ? 0 : 1;
  } finally {
    say('tearing down ...');
    await lab?.destroy().catch(() => undefined);
    await cp.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
