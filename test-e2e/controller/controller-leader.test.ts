/**
 * Two controller replicas with leader election: only the Lease holder allocates; on SIGTERM
 * it releases the Lease and the other takes over at once; after SIGKILL the other waits for
 * expiry, then continues without duplicates.
 */
import { useControlPlane } from '../harness/jest.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { LeaseObject } from '../../src/kube/leader.js';
import {
  applyNetwork,
  checkInvariants,
  clientFor,
  createNodes,
  listLeases,
  listNodes,
  startController,
  waitFor,
  type ControllerProcess,
} from './helpers.js';

const cp = useControlPlane({ build: true });
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/default/leases/flannel-operator-controller';
const fast = [
  '--leader-elect-lease-duration=4s',
  '--leader-elect-renew-deadline=3s',
  '--leader-elect-retry-period=500ms',
];

describe('controller: leader election', () => {
  let client: KubeClient;
  const procs: ControllerProcess[] = [];
  beforeAll(() => {
    client = clientFor(cp().kubeConfig);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    client.close();
  });

  const leaderOf = async (ps: ControllerProcess[]): Promise<ControllerProcess | undefined> => {
    for (const p of ps)
      if ((await p.metric('flannel_operator_controller_leader').catch(() => 0)) === 1) return p;
    return undefined;
  };

  it('lets only the leader allocate and hands over on SIGTERM and SIGKILL', async () => {
    await applyNetwork(client, 'le', { network: '10.60.0.0/16' });
    const a = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: fast,
      name: 'rep-a',
    });
    const b = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: fast,
      name: 'rep-b',
    });
    procs.push(a, b);
    const leader = await waitFor('a leader', () => leaderOf([a, b]), 15_000);
    const follower = leader === a ? b : a;
    await createNodes(
      client,
      Array.from({ length: 100 }, (_, i) => `l-${i}`),
    );
    await waitFor(
      '100 leases',
      async () => (await listLeases(client, 'le')).length === 100,
      30_000,
    );
    expect(await leader.metric('flannel_operator_controller_allocations_total')).toBe(100);
    expect(await follower.metric('flannel_operator_controller_allocations_total')).toBe(0);
    // The follower never wrote: its only writes are lease-election attempts (none succeed while held).
    expect(await follower.metric('flannel_operator_controller_leader')).toBe(0);
    const lease = await client.get<LeaseObject>(LEASE);
    expect(lease.spec?.holderIdentity).toBeTruthy();
    expect(leader.logs()).toContain(lease.spec!.holderIdentity!);
    expect(follower.logs()).not.toMatch(/"msg":"became leader"/);

    // Graceful stop: lease released, follower takes over well before the 4 s expiry.
    const t0 = Date.now();
    expect(await leader.kill('SIGTERM')).toBe(0);
    await waitFor(
      'takeover',
      async () => (await follower.metric('flannel_operator_controller_leader')) === 1,
      10_000,
    );
    expect(Date.now() - t0).toBeLessThan(4000);
    await createNodes(
      client,
      Array.from({ length: 20 }, (_, i) => `l2-${i}`),
    );
    await waitFor(
      '120 leases',
      async () => (await listLeases(client, 'le')).length === 120,
      30_000,
    );

    // Crash: a fresh replica waits for the lease to expire, then carries on.
    const c = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: fast,
      name: 'rep-c',
    });
    procs.push(c);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await c.metric('flannel_operator_controller_leader')).toBe(0);
    await follower.kill('SIGKILL');
    await createNodes(
      client,
      Array.from({ length: 20 }, (_, i) => `l3-${i}`),
    );
    await waitFor(
      '140 leases',
      async () => (await listLeases(client, 'le')).length === 140,
      30_000,
    );
    expect(await c.metric('flannel_operator_controller_leader')).toBe(1);
    const inv = checkInvariants(await listNodes(client), await listLeases(client, 'le'));
    expect(inv).toEqual({
      duplicates: [],
      sharedPodCIDRs: [],
      missing: [],
      orphans: [],
      mismatched: [],
    });
    const after = await client.get<LeaseObject>(LEASE);
    expect(after.spec?.leaseTransitions).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
