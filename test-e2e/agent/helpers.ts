/** Shared setup of the agent E2E tests: control plane + netns lab + controller + agents + pods. */
import {
  API_VERSION,
  FLANNEL_NETWORK,
  SUBNET_LEASE,
  LABEL_NETWORK,
  type SubnetLease,
} from '../../src/api/index.js';
import { collectionPath } from '../../src/kube/resources.js';
import {
  createLab,
  labUnavailable,
  waitUntil,
  type Lab,
  type ControlPlaneLike,
} from '../lab/lab.js';

export const NETWORKS = collectionPath(API_VERSION, FLANNEL_NETWORK.plural);
export const LEASES = collectionPath(API_VERSION, SUBNET_LEASE.plural);

/** Skip (with a reason) only outside CI; under CI=true missing prerequisites fail. */
export function prerequisites(): string | undefined {
  const why = labUnavailable();
  if (why && process.env.CI === 'true')
    throw new Error(`netns lab prerequisites missing under CI: ${why}`);
  return why;
}

export interface NetworkSpec {
  network?: string;
  backend?: {
    type?: 'vxlan' | 'host-gw';
    vni?: number;
    port?: number;
    directRouting?: boolean;
    mtu?: number;
  };
  ipMasq?: boolean;
}

export async function applyNetwork(lab: Lab, name: string, spec: NetworkSpec): Promise<void> {
  await lab.client.apply(
    {
      apiVersion: API_VERSION,
      kind: FLANNEL_NETWORK.kind,
      metadata: { name },
      spec: { network: '10.244.0.0/16', ...spec },
    },
    { fieldManager: 'e2e', force: true },
  );
}

export async function leases(lab: Lab, network: string): Promise<SubnetLease[]> {
  const { items } = await lab.client.listAll<SubnetLease>(LEASES, {
    labelSelector: `${LABEL_NETWORK}=${network}`,
  });
  return items;
}

/** Control plane, lab of 3 nodes (n3 on another L2 segment), controller, network, agents ready. */
export async function bootLab(
  cp: ControlPlaneLike,
  network: string,
  spec: NetworkSpec,
): Promise<Lab> {
  const lab = await createLab({
    controlPlane: cp,
    nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3', segment: 1 }],
  });
  try {
    lab.startController();
    await applyNetwork(lab, network, spec);
    for (const n of lab.nodes.keys()) lab.startAgent(n, network, ['--resync-period', '5s']);
    await waitAgentsReady(lab);
    return lab;
  } catch (e) {
    for (const p of lab.processes)
      process.stderr.write(`--- ${p.name}\n${p.logs().slice(-4000)}\n`);
    await lab.destroy();
    throw e;
  }
}

export async function waitAgentsReady(lab: Lab, timeoutMs = 60_000): Promise<void> {
  for (const n of lab.nodes.keys()) {
    await waitUntil(
      `agent ${n} ready`,
      async () => (await lab.httpGet(n, 9102, '/readyz')).status === 200,
      timeoutMs,
      250,
    );
  }
}

export function describeLab(name: string, fn: () => void): void {
  const why = prerequisites();
  if (why) {
    describe.skip(`${name} (skipped: ${why})`, fn);
     
    console.warn(`SKIP ${name}: ${why}`);
  } else describe(name, fn);
}
