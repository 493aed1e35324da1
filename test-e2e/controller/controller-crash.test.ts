/**
 * Crash safety under churn: SIGKILL the controller at seeded random points of a 500-node
 * allocation while nodes arrive (some with podCIDRs already set) and nodeSelector labels take
 * nodes out of the network and back; restart, repeat. The API must never show two leases with
 * one subnet nor two Nodes with one podCIDR, and at the end every node holds exactly one lease
 * matching its podCIDR (no leaks). The seed is printed; FLOP_CHAOS_SEED=<seed> replays the
 * random choices (the timing of the API server and the controller stays real).
 */
import { useControlPlane } from '../harness/jest.js';
import { seededRandom } from '../harness/random.js';
import { runLimited } from '../../src/kube/limit.js';
import type { KubeClient } from '../../src/kube/client.js';
import {
  applyNetwork,
  checkInvariants,
  clientFor,
  condition,
  getNetwork,
  labelNode,
  listLeases,
  listNodes,
  nodeBody,
  startController,
  waitFor,
  type ControllerProcess,
} from './helpers.js';

const cp = useControlPlane({ build: true });
const rnd = seededRandom('FLOP_CHAOS_SEED');
const N = 500;
const FIRST = 160; // nodes present before the first start (the last 40 arrive before the final start)
const ROUNDS = 5;
const BACKLOG = 50; // nodes created while no controller runs, before each round
const ARRIVALS = 10; // nodes created while the controller runs (podCIDR preset in the adopt-only range)
const TOGGLES = 12; // nodes labelled out of the network per round
const PRESET_SHARE = 0.2;

/** Network 10.128.0.0/14; the controller allocates up to 10.130.255.0, 10.131.0.0/16 is adopt-only. */
const NETWORK = {
  network: '10.128.0.0/14',
  subnetMax: '10.130.255.0',
  nodeSelector: { matchExpressions: [{ key: 'evict', operator: 'DoesNotExist' }] },
};
const subnet = (i: number): string => `10.${128 + (i >> 8)}.${i & 255}.0/24`;
const adoptOnly = (i: number): string => `10.131.${i}.0/24`;

interface Kill {
  round: number;
  mode: string;
  atMs: number;
  /** Served nodes without a lease when this controller started. */
  backlog: number;
  /** Of those, the ones holding a lease right after the kill. */
  backlogLeased: number;
}

describe('controller: crash safety', () => {
  let client: KubeClient;
  let ctrl: ControllerProcess | undefined;
  beforeAll(() => {
    client = clientFor(cp().kubeConfig);
    console.log(`chaos seed ${rnd.seed} (FLOP_CHAOS_SEED=${rnd.seed} replays its choices)`);
  });
  afterAll(async () => {
    await ctrl?.kill('SIGKILL');
    client?.close();
  });

  const names = Array.from({ length: N }, (_, i) => `c-${String(i).padStart(3, '0')}`);
  let created = 0;
  /** Nodes whose create has returned (label toggles only touch these). */
  const existing: string[] = [];
  let arrivals = 0;
  const evicted = new Set<string>();

  /** Subnets of the allocation range no Node and no lease holds (only asked while no controller runs). */
  async function freeSubnets(count: number): Promise<string[]> {
    const taken = new Set<string>();
    for (const n of await listNodes(client)) if (n.spec?.podCIDR) taken.add(n.spec.podCIDR);
    for (const l of await listLeases(client)) if (l.spec.subnet) taken.add(l.spec.subnet);
    const low = Array.from({ length: N + 64 }, (_, i) => subnet(i + 1)).filter(
      (s) => !taken.has(s),
    );
    return rnd.sample(low, count);
  }

  /** Next `count` nodes; a share of them arrive with a podCIDR from `podCIDRs`. */
  async function createBatch(count: number, podCIDRs: () => Promise<string[]>): Promise<string[]> {
    const batch = names.slice(created, created + count);
    created += batch.length;
    const withCidr = rnd.sample(batch, Math.round(batch.length * PRESET_SHARE));
    const cidrs = await podCIDRs();
    const preset = new Map(withCidr.map((n, i) => [n, cidrs[i]]));
    await runLimited(batch, 16, async (n) => {
      await client.create('/api/v1/nodes', nodeBody(n, {}, preset.get(n)));
    });
    existing.push(...batch);
    return batch;
  }

  /** Takes random nodes out of the network and brings some back, with random pauses. */
  async function toggleLabels(count: number): Promise<void> {
    const out = rnd.sample(
      existing.filter((n) => !evicted.has(n)),
      count,
    );
    const back = rnd.sample([...evicted], Math.ceil(evicted.size / 2));
    const pauses = out.map(() => rnd.int(0, 400));
    await Promise.all([
      ...out.map(async (n, i) => {
        await new Promise((r) => setTimeout(r, pauses[i]));
        evicted.add(n);
        await labelNode(client, n, { evict: 'yes' });
      }),
      ...back.map(async (n) => {
        evicted.delete(n);
        await labelNode(client, n, { evict: null });
      }),
    ]);
  }

  async function assertNoDuplicates(when: string): Promise<void> {
    const inv = checkInvariants(await listNodes(client), await listLeases(client, 'crash'));
    expect({ when, duplicates: inv.duplicates, sharedPodCIDRs: inv.sharedPodCIDRs }).toEqual({
      when,
      duplicates: [],
      sharedPodCIDRs: [],
    });
  }

  /** Served nodes without a lease (asked while no controller runs). */
  async function unleased(): Promise<string[]> {
    const leased = new Set((await listLeases(client, 'crash')).map((l) => l.spec.nodeName));
    return (await listNodes(client))
      .filter((n) => !n.metadata.labels?.evict && !leased.has(n.metadata.name))
      .map((n) => n.metadata.name);
  }

  /** SIGKILL after a random delay, or once the controller created k leases in this life (k < backlog). */
  async function killLater(
    c: ControllerProcess,
    mode: 'metric' | 'delay',
    backlog: number,
  ): Promise<number> {
    const t0 = Date.now();
    if (mode === 'delay') await new Promise((r) => setTimeout(r, rnd.int(100, 1500)));
    else {
      const k = rnd.int(1, Math.max(1, Math.floor(backlog / 2)));
      await waitFor(
        `${k} allocations before the kill`,
        async () => (await c.metric('flannel_operator_controller_allocations_total')) >= k,
        30_000,
        5,
      );
    }
    await c.kill('SIGKILL');
    return Date.now() - t0;
  }

  it('survives SIGKILL amid label toggles and preset podCIDRs without duplicates or leaks', async () => {
    await applyNetwork(client, 'crash', NETWORK);
    // Before the first start, a share of the nodes already hold subnets the controller would hand out.
    await createBatch(FIRST, () => freeSubnets(FIRST));
    const kills: Kill[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await createBatch(BACKLOG, () => freeSubnets(BACKLOG));
      const backlog = await unleased();
      ctrl = await startController({
        kubeconfigPath: cp().kubeconfigPath,
        args: ['--leader-elect=false'],
        name: `crash-${round}`,
      });
      const mode = round % 2 === 0 ? 'metric' : 'delay';
      const churn = Promise.all([
        createBatch(ARRIVALS, async () =>
          Array.from({ length: ARRIVALS }, () => adoptOnly(arrivals++)),
        ),
        toggleLabels(TOGGLES),
      ]);
      const atMs = await killLater(ctrl, mode, backlog.length);
      ctrl = undefined;
      await churn;
      const leased = new Set((await listLeases(client, 'crash')).map((l) => l.spec.nodeName));
      kills.push({
        round,
        mode,
        atMs,
        backlog: backlog.length,
        backlogLeased: backlog.filter((n) => leased.has(n)).length,
      });
      await assertNoDuplicates(`after kill ${round}`);
    }
    console.log(
      `crash test (seed ${rnd.seed}): kills ${kills.map((k) => `${k.mode}@${k.atMs}ms->${k.backlogLeased}/${k.backlog}`).join(', ')}`,
    );
    // A kill landed mid-allocation: the controller had leased some, not all, of its backlog.
    expect(kills.filter((k) => k.backlogLeased > 0 && k.backlogLeased < k.backlog)).not.toEqual([]);

    // All nodes come back into the network; the rest arrive; one controller finishes the job.
    await runLimited([...evicted], 16, (n) => labelNode(client, n, { evict: null }));
    evicted.clear();
    await createBatch(N - created, () => freeSubnets(N));
    ctrl = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: ['--leader-elect=false'],
      name: 'crash-final',
    });
    await waitFor(
      `${N} leases and podCIDRs (seed ${rnd.seed})`,
      async () => {
        const nodes = await listNodes(client);
        const leases = await listLeases(client, 'crash');
        return leases.length === N && nodes.every((n) => n.spec?.podCIDR);
      },
      90_000,
      500,
    );
    const inv = checkInvariants(await listNodes(client), await listLeases(client, 'crash'));
    expect(inv).toEqual({
      duplicates: [],
      sharedPodCIDRs: [],
      missing: [],
      orphans: [],
      mismatched: [],
    });
    const net = await waitFor(
      'crash Ready',
      async () => {
        const n = await getNetwork(client, 'crash');
        return condition(n, 'Ready')?.status === 'True' ? n : false;
      },
      30_000,
    );
    expect(net.status?.allocated).toBe(N);
    await ctrl.kill('SIGTERM');
    ctrl = undefined;
  }, 300_000);
});
