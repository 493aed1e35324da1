import pino from 'pino';
import { useControlPlane } from '../harness/jest.js';
import { KubeClient } from '../../src/kube/client.js';
import { LeaderElector, type LeaseObject } from '../../src/kube/leader.js';
import { waitFor } from './helpers.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const cp = useControlPlane();
const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 };

function candidate(client: KubeClient, identity: string, name: string, log: string[]) {
  const ac = new AbortController();
  const elector = new LeaderElector({
    client,
    namespace: 'default',
    name,
    identity,
    logger,
    ...timings,
    onStartedLeading: () => void log.push(`start ${identity}`),
    onStoppedLeading: () => void log.push(`stop ${identity}`),
  });
  const done = elector.run(ac.signal);
  return { elector, ac, done };
}

describe('LeaderElector against a real API server', () => {
  let client: KubeClient;
  beforeAll(() => {
    client = new KubeClient(clientNodeAuth(cp().kubeConfig));
  });
  afterAll(() => client.close());

  it('elects exactly one leader, hands over on release, never two at once', async () => {
    const log: string[] = [];
    const a = candidate(client, 'a', 'le-1', log);
    const b = candidate(client, 'b', 'le-1', log);
    let both = 0;
    const sampler = setInterval(() => {
      if (a.elector.isLeader() && b.elector.isLeader()) both++;
    }, 20);
    try {
      await waitFor('a leader', () => a.elector.isLeader() || b.elector.isLeader(), 10_000);
      const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
      // The follower stays a follower while the leader renews.
      await new Promise((r) => setTimeout(r, 4 * timings.retryPeriodMs + timings.leaseDurationMs));
      expect(follower.elector.isLeader()).toBe(false);
      const lease = await client.get<LeaseObject>(
        '/apis/coordination.k8s.io/v1/namespaces/default/leases/le-1',
      );
      expect(lease.spec?.holderIdentity).toBe(leader === a ? 'a' : 'b');
      const transitions = lease.spec?.leaseTransitions ?? 0;
      // Graceful stop releases the lease: the follower takes over well before the lease would expire.
      const t0 = Date.now();
      leader.ac.abort();
      await leader.done;
      await waitFor('hand over', () => follower.elector.isLeader(), 10_000);
      expect(Date.now() - t0).toBeLessThan(timings.leaseDurationMs);
      const after = await client.get<LeaseObject>(
        '/apis/coordination.k8s.io/v1/namespaces/default/leases/le-1',
      );
      expect(after.spec?.holderIdentity).toBe(follower === a ? 'a' : 'b');
      expect(after.spec?.leaseTransitions).toBe(transitions + 1);
      expect(both).toBe(0);
    } finally {
      clearInterval(sampler);
      a.ac.abort();
      b.ac.abort();
      await Promise.all([a.done, b.done]);
    }
    expect(log.filter((l) => l.startsWith('start'))).toHaveLength(2);
  }, 30_000);

  it('waits out a crashed holder until the lease expires', async () => {
    // A holder that vanished without releasing: a lease renewed "now" by someone else.
    await client.create('/apis/coordination.k8s.io/v1/namespaces/default/leases', {
      metadata: { name: 'le-2' },
      spec: {
        holderIdentity: 'ghost',
        leaseDurationSeconds: 3,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
        leaseTransitions: 0,
      },
    });
    const log: string[] = [];
    const c = candidate(client, 'c', 'le-2', log);
    const t0 = Date.now();
    try {
      await waitFor('takeover', () => c.elector.isLeader(), 15_000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
      const lease = await client.get<LeaseObject>(
        '/apis/coordination.k8s.io/v1/namespaces/default/leases/le-2',
      );
      expect(lease.spec).toMatchObject({ holderIdentity: 'c', leaseTransitions: 1 });
    } finally {
      c.ac.abort();
      await c.done;
    }
  }, 30_000);
});
