/**
 * Crash safety: SIGKILL the controller at random points of a 500-node allocation, restart,
 * repeat; the API must never show a duplicate subnet, and at the end every node holds
 * exactly one lease matching its podCIDR (no leaks).
 */
import { useControlPlane } from '../harness/jest.js';
import type { KubeClient } from '../../src/kube/client.js';
import {
  applyNetwork,
  checkInvariants,
  clientFor,
  createNodes,
  listLeases,
  listNodes,
  startController,
  waitFor,
} from './helpers.js';

const cp = useControlPlane();
const N = 500;

describe('controller: crash safety', () => {
  let client: KubeClient;
  beforeAll(() => {
    client = clientFor(cp().kubeConfig);
  });
  afterAll(() => client.close());

  it('survives SIGKILL at random points without duplicates or leaks', async () => {
    await applyNetwork(client, 'crash', { network: '10.128.0.0/14' });
    const names = Array.from({ length: N }, (_, i) => `c-${String(i).padStart(3, '0')}`);
    // Half the nodes exist before the first start, the rest arrive while it is being killed.
    await createNodes(client, names.slice(0, N / 2));
    const kills: Array<{ atMs: number; leases: number }> = [];
    let pending = names.slice(N / 2);
    for (let round = 0; round < 4; round++) {
      const ctrl = await startController({
        kubeconfigPath: cp().kubeconfigPath,
        args: ['--leader-elect=false'],
        name: `crash-${round}`,
      });
      const batch = pending.slice(0, 60);
      pending = pending.slice(60);
      const creating = createNodes(client, batch);
      const atMs = 100 + Math.floor(Math.random() * 900);
      await new Promise((r) => setTimeout(r, atMs));
      await ctrl.kill('SIGKILL');
      await creating;
      const leases = await listLeases(client, 'crash');
      kills.push({ atMs, leases: leases.length });
      const inv = checkInvariants([], leases);
      expect(inv.duplicates).toEqual([]);
    }
    await createNodes(client, pending);
    const ctrl = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: ['--leader-elect=false'],
      name: 'crash-final',
    });
    try {
      await waitFor(
        async () => {
          const nodes = await listNodes(client);
          const leases = await listLeases(client, 'crash');
          return leases.length === N && nodes.every((n) => n.spec?.podCIDR);
        },
        { timeoutMs: 90_000, intervalMs: 500, what: `${N} leases and podCIDRs` },
      );
      const inv = checkInvariants(await listNodes(client), await listLeases(client, 'crash'));
      expect(inv).toEqual({ duplicates: [], missing: [], orphans: [], mismatched: [] });
      console.log(
        `crash test: kills at ${kills.map((k) => `${k.atMs}ms->${k.leases} leases`).join(', ')}`,
      );
      // Some kill landed mid-allocation (otherwise the test proves nothing).
      expect(kills.some((k) => k.leases > 0 && k.leases < N)).toBe(true);
    } finally {
      await ctrl.kill('SIGTERM');
    }
  }, 240_000);
});
