/**
 * The controller benchmark's floor as a process of its own, so that it starts, loads a kubeconfig
 * and learns the nodes from the API like the controller does (no process start on one side only):
 *
 *   node dist-bench/bench/controller-floor.js <kubeconfig> <label selector> <network> <concurrency>
 *
 * Lists the selected Nodes, then for each one allocates a subnet, creates its SubnetLease and
 * patches the Node's podCIDR, <concurrency> at a time. No informer, queue, events or status.
 * Prints {"requests", "nodes", "cpuSeconds"} and exits. Imports only the client, the credential
 * loader the controller uses and the pool, nothing of the controller.
 */
import { KubeClient } from '../src/kube/client.js';
import { loadKubeAuthWithPlugins } from '../src/kube/load-auth.js';
import { LeasePool } from '../src/controller/pool.js';

const LEASES = '/apis/network.flannel-operator.io/v1alpha1/subnetleases';

async function limited<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: n }, worker));
}

async function main(): Promise<void> {
  const [kubeconfig, selector, network, concurrency] = process.argv.slice(2);
  const client = new KubeClient(await loadKubeAuthWithPlugins({ kubeconfig }), {
    userAgent: 'bench-floor',
  });
  const { items } = await client.listAll<{ metadata: { name: string } }>('/api/v1/nodes', {
    labelSelector: selector,
  });
  const pool = new LeasePool({ network: network!, subnetLen: 24 });
  await limited(items, Number(concurrency), async (n) => {
    const node = n.metadata.name;
    const subnet = pool.allocate(node)!;
    await client.create(LEASES, {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'SubnetLease',
      metadata: {
        name: `floor.${node}`,
        labels: { 'network.flannel-operator.io/network': 'floor' },
      },
      spec: { nodeName: node, networkName: 'floor', subnet },
    });
    await client.patch(`/api/v1/nodes/${node}`, { spec: { podCIDR: subnet, podCIDRs: [subnet] } });
  });
  const cpu = process.cpuUsage();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(
    `${JSON.stringify({ requests: client.requestCount, nodes: items.length, cpuSeconds })}\n`,
  );
  client.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
