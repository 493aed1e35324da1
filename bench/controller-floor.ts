/**
 * The controller benchmark's floor as a process of its own, so that it starts, loads a kubeconfig
 * and learns the nodes from the API like the controller does (no process start on one side only):
 *
 *   node dist-bench/bench/controller-floor.js <kubeconfig> <label selector> <FlannelNetwork> <concurrency>
 *
 * Reads the FlannelNetwork (its CIDR and uid) and lists the selected Nodes, then for each one
 * allocates a subnet, creates its SubnetLease and patches the Node's podCIDR, <concurrency> at a
 * time. No informer, queue, events or status. The lease is the object the controller writes
 * (both labels, owned by the network and the Node so it is collected with them, the same field
 * manager): a floor whose writes carry less would be weaker, not faster.
 * Prints {"requests", "nodes", "cpuSeconds"} and exits. Imports only the client, the credential
 * loader the controller uses, the pool and the API's names, nothing of the controller.
 */
import { KubeClient } from '../src/kube/client.js';
import { loadKubeAuthWithPlugins } from '../src/kube/load-auth.js';
import { LeasePool } from '../src/controller/pool.js';
import {
  API_VERSION,
  FIELD_MANAGER_CONTROLLER,
  LABEL_NETWORK,
  LABEL_NODE,
} from '../src/api/group.js';

const LEASES = `/apis/${API_VERSION}/subnetleases`;

interface Obj {
  metadata: { name: string; uid: string };
}

async function limited<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: n }, worker));
}

async function main(): Promise<void> {
  const [kubeconfig, selector, networkName, concurrency] = process.argv.slice(2);
  const client = new KubeClient(await loadKubeAuthWithPlugins({ kubeconfig }), {
    userAgent: 'bench-floor',
  });
  const network = await client.get<Obj & { spec: { network: string; subnetLen?: number } }>(
    `/apis/${API_VERSION}/flannelnetworks/${networkName}`,
  );
  const { items } = await client.listAll<Obj>('/api/v1/nodes', { labelSelector: selector });
  const pool = new LeasePool({
    network: network.spec.network,
    subnetLen: network.spec.subnetLen ?? 24,
  });
  const fieldManager = FIELD_MANAGER_CONTROLLER;
  const networkOwner = {
    apiVersion: API_VERSION,
    kind: 'FlannelNetwork',
    name: networkName!,
    uid: network.metadata.uid,
    controller: true,
  };
  await limited(items, Number(concurrency), async (n) => {
    const node = n.metadata.name;
    const subnet = pool.allocate(node)!;
    const lease = {
      apiVersion: API_VERSION,
      kind: 'SubnetLease',
      metadata: {
        name: `${networkName}.${node}`,
        labels: { [LABEL_NETWORK]: networkName, [LABEL_NODE]: node },
        ownerReferences: [
          networkOwner,
          { apiVersion: 'v1', kind: 'Node', name: node, uid: n.metadata.uid },
        ],
      },
      spec: { nodeName: node, networkName, subnet },
    };
    await client.create(LEASES, lease, { fieldManager });
    await client.patch(
      `/api/v1/nodes/${node}`,
      { spec: { podCIDR: subnet, podCIDRs: [subnet] } },
      { fieldManager },
    );
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
