/**
 * Node.spec.podCIDR is immutable, so a subnet that any Node holds is never handed to another
 * node: adoption order, nodes leaving and re-joining a network, admin errors present at start
 * (two Nodes sharing a podCIDR, a podCIDR of the wrong size), and a status that does not claim
 * Ready while a selected node has no lease (kstatus, as Flux and Argo CD read it).
 * Each scenario starts the real controller against a real API server after setting the stage.
 */
import { useControlPlane } from '../harness/jest.js';
import { toolPath } from '../harness/tools.js';
import { runProcess } from '../harness/process.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { FlannelNetwork } from '../../src/api/index.js';
import {
  applyNetwork,
  checkInvariants,
  clientFor,
  condition,
  createNodes,
  getNetwork,
  labelNode,
  listEvents,
  listLeases,
  listNodes,
  nodeBody,
  startController,
  waitFor,
  type ControllerProcess,
} from './helpers.js';

const cp = useControlPlane({ tools: ['etcd', 'kube-apiserver', 'kstatus'], build: true });

/** kstatus (sigs.k8s.io/cli-utils, as Flux and kpt use it) on the live object. */
async function kstatus(name: string): Promise<{ status: string; message: string }> {
  const r = await runProcess(
    toolPath('kstatus'),
    [
      '--kubeconfig',
      cp().kubeconfigPath,
      'get',
      'network.flannel-operator.io/v1alpha1',
      'flannelnetworks',
      name,
    ],
    { timeoutMs: 30_000 },
  );
  if (r.code !== 0) throw new Error(`kstatus failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: string; message: string };
}

describe('controller: podCIDRs held by Nodes', () => {
  let client: KubeClient;
  let ctrl: ControllerProcess | undefined;
  beforeAll(() => {
    client = clientFor(cp().kubeConfig);
  });
  afterEach(async () => {
    await ctrl?.kill('SIGTERM');
    ctrl = undefined;
  });
  afterAll(() => client.close());

  const start = async (name: string): Promise<void> => {
    ctrl = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: ['--leader-elect=false'],
      name,
    });
  };
  const nodesOf = (label: string) => listNodes(client, `t=${label}`);
  const leaseOf = async (network: string, node: string) =>
    (await listLeases(client, network)).find((l) => l.spec.nodeName === node);
  /** Waits until every node with label t=`label` holds a lease and a podCIDR. */
  const settled = (network: string, label: string, count: number) =>
    waitFor(
      `${count} leases and podCIDRs in ${network}`,
      async () => {
        const nodes = await nodesOf(label);
        const leases = await listLeases(client, network);
        return nodes.length === count &&
          leases.length === count &&
          nodes.every((n) => n.spec?.podCIDR)
          ? { nodes, leases }
          : false;
      },
      20_000,
    );
  const ready = (network: string) =>
    waitFor(
      `${network} Ready`,
      async () => {
        const n = await getNetwork(client, network);
        return condition(n, 'Ready')?.status === 'True' ? n : false;
      },
      20_000,
    );

  it('adoption order: a younger node that holds a podCIDR keeps it; the older one gets another subnet', async () => {
    await applyNetwork(client, 'adopt', {
      network: '10.244.0.0/16',
      nodeSelector: { matchLabels: { t: 'adopt' } },
    });
    await client.create('/api/v1/nodes', nodeBody('m1', { t: 'adopt' }));
    await client.create('/api/v1/nodes', nodeBody('m2', { t: 'adopt' }, '10.244.1.0/24'));
    await start('adopt');
    const { nodes, leases } = await settled('adopt', 'adopt', 2);
    expect(checkInvariants(nodes, leases)).toEqual({
      duplicates: [],
      sharedPodCIDRs: [],
      missing: [],
      orphans: [],
      mismatched: [],
    });
    expect((await leaseOf('adopt', 'm2'))?.spec.subnet).toBe('10.244.1.0/24');
    expect((await leaseOf('adopt', 'm1'))?.spec.subnet).toBe('10.244.2.0/24');
    await ready('adopt');
  }, 60_000);

  it('a node that leaves the network keeps its subnet while it exists and gets its lease back on return', async () => {
    await applyNetwork(client, 'evict', {
      network: '10.245.0.0/16',
      nodeSelector: {
        matchLabels: { t: 'evict' },
        matchExpressions: [{ key: 'evict', operator: 'DoesNotExist' }],
      },
    });
    await createNodes(client, ['s1', 's2'], { t: 'evict' });
    await start('evict');
    await settled('evict', 'evict', 2);
    const s1 = (await nodesOf('evict')).find((n) => n.metadata.name === 's1')!.spec!.podCIDR!;

    await labelNode(client, 's1', { evict: 'yes' });
    await waitFor('lease of s1 released', async () => !(await leaseOf('evict', 's1')), 20_000);
    await createNodes(client, ['s3'], { t: 'evict' });
    const s3 = await waitFor('lease of s3', () => leaseOf('evict', 's3'), 20_000);
    expect(s3.spec.subnet).not.toBe(s1);

    await labelNode(client, 's1', { evict: null });
    const back = await waitFor('lease of s1 again', () => leaseOf('evict', 's1'), 20_000);
    expect(back.spec.subnet).toBe(s1);
    const { nodes, leases } = await settled('evict', 'evict', 3);
    expect(checkInvariants(nodes, leases)).toMatchObject({
      duplicates: [],
      sharedPodCIDRs: [],
      mismatched: [],
    });
    await ready('evict');
  }, 60_000);

  it('admin errors present at start (two Nodes share a podCIDR, one of the wrong size): nothing is allocated on top, condition and Events say why', async () => {
    await applyNetwork(client, 'dup', {
      network: '10.248.0.0/16',
      nodeSelector: { matchLabels: { t: 'dup' } },
    });
    await client.create('/api/v1/nodes', nodeBody('d1', { t: 'dup' }, '10.248.1.0/24'));
    await client.create('/api/v1/nodes', nodeBody('d2', { t: 'dup' }, '10.248.1.0/24'));
    await client.create('/api/v1/nodes', nodeBody('w1', { t: 'dup' }, '10.248.2.128/25'));
    // Not selected by any network, but inside this one's range: still taken.
    await client.create('/api/v1/nodes', nodeBody('x1', { t: 'other' }, '10.248.3.0/24'));
    await createNodes(client, ['f1', 'f2'], { t: 'dup' });
    await start('dup');
    const leases = await waitFor(
      '3 leases in dup',
      async () => {
        const l = await listLeases(client, 'dup');
        return l.length === 3 ? l : false;
      },
      20_000,
    );
    // .1 is d1's (d2 shares it), .2 holds w1's /25, .3 is x1's: the free nodes get .4 and .5.
    const subnetOf = new Map(leases.map((l) => [l.spec.nodeName, l.spec.subnet]));
    expect(subnetOf.get('d1')).toBe('10.248.1.0/24');
    expect([subnetOf.get('f1'), subnetOf.get('f2')].sort()).toEqual([
      '10.248.4.0/24',
      '10.248.5.0/24',
    ]);
    const net = await waitFor(
      'dup Degraded UnusablePodCIDR',
      async () => {
        const n = await getNetwork(client, 'dup');
        return condition(n, 'Degraded')?.reason === 'UnusablePodCIDR' ? n : false;
      },
      20_000,
    );
    expect(condition(net, 'Ready')?.status).toBe('False');
    expect(condition(net, 'Degraded')?.message).toMatch(/d2.*10\.248\.1\.0\/24.*d1/);
    expect(condition(net, 'Degraded')?.message).toMatch(/w1.*10\.248\.2\.128\/25.*\/24/);
    const ev = await waitFor(
      'PodCIDRConflict events for d2 and w1',
      async () => {
        const e = await listEvents(client, 'PodCIDRConflict');
        const d2 = e.find((x) => x.regarding.name === 'd2');
        const w1 = e.find((x) => x.regarding.name === 'w1');
        return d2 && w1 ? { d2, w1 } : false;
      },
      20_000,
    );
    expect(ev.d2.note).toMatch(/10\.248\.1\.0\/24.*node d1/);
    expect(ev.w1.note).toMatch(/not a \/24/);
    // Once the admin removes the broken nodes the network is Ready.
    await client.delete('/api/v1/nodes/d2');
    await client.delete('/api/v1/nodes/w1');
    await ready('dup');
  }, 60_000);

  it('honest status: not Ready while a selected node has no lease, Stalled for kstatus, Current once fixed', async () => {
    await applyNetwork(client, 'honest', {
      network: '10.246.0.0/16',
      nodeSelector: { matchLabels: { t: 'honest' } },
    });
    await client.create('/api/v1/nodes', nodeBody('h1', { t: 'honest' }));
    await client.create('/api/v1/nodes', nodeBody('h2', { t: 'honest' }, '192.168.9.0/24'));
    await applyNetwork(client, 'tiny', {
      network: '10.247.0.0/24',
      subnetLen: 26,
      nodeSelector: { matchLabels: { t: 'tiny' } },
    });
    await createNodes(client, ['y0', 'y1', 'y2', 'y3'], { t: 'tiny' });
    await start('honest');
    await waitFor('lease of h1', () => leaseOf('honest', 'h1'), 20_000);
    const gen = (n: FlannelNetwork) => n.metadata.generation;
    const settledStatus = async (name: string) =>
      waitFor(
        `${name} Degraded`,
        async () => {
          const n = await getNetwork(client, name);
          return condition(n, 'Degraded')?.status === 'True' ? n : false;
        },
        20_000,
      );

    const h = await settledStatus('honest');
    expect(condition(h, 'Ready')).toMatchObject({ status: 'False', observedGeneration: gen(h) });
    expect(condition(h, 'Degraded')).toMatchObject({
      reason: 'UnusablePodCIDR',
      observedGeneration: gen(h),
    });
    expect(condition(h, 'Degraded')?.message).toMatch(/h2.*192\.168\.9\.0\/24.*outside/);
    expect(condition(h, 'Stalled')).toMatchObject({ status: 'True', reason: 'UnusablePodCIDR' });
    expect(condition(h, 'Reconciling')?.status).toBe('False');
    expect(condition(h, 'Reconciling')?.message).not.toMatch(/all served nodes hold a lease/);
    expect(condition(h, 'Reconciling')?.message).toMatch(/1\/2 served nodes hold a lease/);
    expect((await kstatus('honest')).status).toBe('Failed');

    const t = await settledStatus('tiny');
    expect(condition(t, 'Degraded')?.reason).toBe('NetworkExhausted');
    expect(condition(t, 'Reconciling')?.message).not.toMatch(/all served nodes hold a lease/);
    expect(condition(t, 'Reconciling')?.message).toMatch(/3\/4 served nodes hold a lease.*1 wait/);
    expect((await kstatus('tiny')).status).toBe('Failed');

    await client.delete('/api/v1/nodes/h2');
    const fixed = await ready('honest');
    expect(condition(fixed, 'Reconciling')).toMatchObject({
      status: 'False',
      message: '1/1 served nodes hold a lease',
    });
    expect(condition(fixed, 'Stalled')).toBeUndefined();
    expect((await kstatus('honest')).status).toBe('Current');
  }, 60_000);
});
