/**
 * The controller binary against a real API server: allocation at scale, release and reuse,
 * adoption, exhaustion, overlap, kstatus conditions, `kubectl wait`, and no GitOps drift.
 */
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { itNeeds, useControlPlane } from '../harness/jest.js';
import { toolPath } from '../harness/tools.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { SubnetLease } from '../../src/api/index.js';
import {
  applyNetwork,
  checkInvariants,
  clientFor,
  condition,
  createNodes,
  getNetwork,
  listEvents,
  listLeases,
  listNodes,
  nodeBody,
  startController,
  waitFor,
  NETWORKS,
  LEASES,
  type ControllerProcess,
  type EventObj,
} from './helpers.js';

const run = promisify(execFile);
const cp = useControlPlane({ build: true });

describe('controller: allocation', () => {
  let client: KubeClient;
  let ctrl: ControllerProcess;
  const dir = mkdtempSync(join(tmpdir(), 'fo-alloc-'));

  beforeAll(async () => {
    client = clientFor(cp().kubeConfig);
    ctrl = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: ['--leader-elect=false'],
      logDir: dir,
    });
  });
  afterAll(async () => {
    const code = await ctrl?.kill('SIGTERM');
    client?.close();
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0); // graceful SIGTERM
  });

  const events = (reason: string): Promise<EventObj[]> => listEvents(client, reason);

  it('gives 200 nodes unique subnets and sets their podCIDR', async () => {
    await applyNetwork(client, 'net-a', {
      network: '10.244.0.0/16',
      nodeSelector: { matchLabels: { pool: 'a' } },
    });
    const names = Array.from({ length: 200 }, (_, i) => `a-${String(i).padStart(3, '0')}`);
    await createNodes(client, names, { pool: 'a' });
    await waitFor(
      '200 leases',
      async () => (await listLeases(client, 'net-a')).length === 200,
      60_000,
    );
    await waitFor(
      'podCIDRs',
      async () => (await listNodes(client, 'pool=a')).every((n) => n.spec?.podCIDR),
      30_000,
    );
    const leases = await listLeases(client, 'net-a');
    const inv = checkInvariants(await listNodes(client, 'pool=a'), leases);
    expect(inv).toEqual({
      duplicates: [],
      sharedPodCIDRs: [],
      missing: [],
      orphans: [],
      mismatched: [],
    });
    const l = leases.find((x) => x.spec.nodeName === 'a-000')!;
    expect(l.metadata.name).toBe('net-a.a-000');
    expect(l.metadata.labels).toMatchObject({
      'network.flannel-operator.io/network': 'net-a',
      'network.flannel-operator.io/node': 'a-000',
    });
    expect(
      l.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}/${o.controller ?? false}`).sort(),
    ).toEqual(['FlannelNetwork/net-a/true', 'Node/a-000/false']);
    const net = await waitFor(
      'net-a Ready',
      async () => {
        const n = await getNetwork(client, 'net-a');
        return condition(n, 'Ready')?.status === 'True' && n.status?.allocated === 200 ? n : false;
      },
      20_000,
    );
    expect(net.status).toMatchObject({
      observedGeneration: 1,
      capacity: 255,
      allocated: 200,
      free: 55,
      effective: { subnetLen: 24 },
    });
    expect(condition(net, 'Reconciling')?.status).toBe('False');
    expect(condition(net, 'Degraded')?.status).toBe('False');
    expect(await ctrl.metric('flannel_operator_controller_allocations_total')).toBe(200);
  }, 120_000); // its waits allow 90 s: the 5 s default failed it on a busy machine

  itNeeds(
    { tools: ['kubectl'] },
    '`kubectl wait --for=condition=Ready` works',
    async () => {
      const kubectl = toolPath('kubectl');
      const { stdout } = await run(kubectl, [
        '--kubeconfig',
        cp().kubeconfigPath,
        'wait',
        '--for=condition=Ready',
        'flannelnetwork/net-a',
        '--timeout=30s',
      ]);
      expect(stdout).toMatch(/condition met/);
    },
    60_000,
  );

  itNeeds(
    { tools: ['kubectl'] },
    'shows no drift to the user: status only via the status subresource, spec owned by the user alone',
    async () => {
      const net = await getNetwork(client, 'net-a');
      const managers = (
        net.metadata as {
          managedFields?: Array<{
            manager: string;
            subresource?: string;
            fieldsV1?: Record<string, unknown>;
          }>;
        }
      ).managedFields!;
      const specOwners = managers
        .filter((m) => JSON.stringify(m.fieldsV1 ?? {}).includes('"f:spec"'))
        .map((m) => m.manager);
      expect(specOwners).toEqual(['kubectl']);
      const ctrlEntry = managers.find((m) => m.manager === 'flannel-operator-controller');
      expect(ctrlEntry?.subresource).toBe('status');
      expect(net.metadata.finalizers ?? []).toEqual([]);
      expect(net.metadata.generation).toBe(1);
      // Re-applying the same manifest changes nothing.
      const kubectl = toolPath('kubectl');
      {
        const file = join(dir, 'net-a.yaml');
        writeFileSync(
          file,
          JSON.stringify({
            apiVersion: 'network.flannel-operator.io/v1alpha1',
            kind: 'FlannelNetwork',
            metadata: { name: 'net-a' },
            spec: { network: '10.244.0.0/16', nodeSelector: { matchLabels: { pool: 'a' } } },
          }),
        );
        const r = await run(kubectl, [
          '--kubeconfig',
          cp().kubeconfigPath,
          'diff',
          '--server-side',
          '--field-manager=kubectl',
          '-f',
          file,
        ]).then(
          () => 0,
          (e: { code?: number; stdout?: string }) => {
            console.error(e.stdout);
            return e.code ?? 1;
          },
        );
        expect(r).toBe(0);
      }
      const again = await applyNetwork(client, 'net-a', {
        network: '10.244.0.0/16',
        nodeSelector: { matchLabels: { pool: 'a' } },
      });
      expect(again.metadata.generation).toBe(1);
    },
  );

  it('frees the subnet of a deleted node and reuses it', async () => {
    const victim = (await listLeases(client, 'net-a')).find((l) => l.spec.nodeName === 'a-050')!;
    const subnet = victim.spec.subnet!;
    await client.delete('/api/v1/nodes/a-050');
    await waitFor(
      'lease release',
      async () => !(await listLeases(client, 'net-a')).some((l) => l.spec.nodeName === 'a-050'),
      20_000,
    );
    await createNodes(client, ['a-new'], { pool: 'a' });
    const l = await waitFor(
      'lease for a-new',
      async () => (await listLeases(client, 'net-a')).find((x) => x.spec.nodeName === 'a-new'),
      20_000,
    );
    expect(l.spec.subnet).toBe(subnet);
    expect(await ctrl.metric('flannel_operator_controller_releases_total')).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('adopts podCIDRs already set inside the network and skips ones outside with an event', async () => {
    await client.create('/api/v1/nodes', nodeBody('adopt-1', { pool: 'a' }, '10.244.250.0/24'));
    await client.create('/api/v1/nodes', nodeBody('alien-1', { pool: 'a' }, '192.168.7.0/24'));
    const l = await waitFor(
      'adopted lease',
      async () => (await listLeases(client, 'net-a')).find((x) => x.spec.nodeName === 'adopt-1'),
      20_000,
    );
    expect(l.spec.subnet).toBe('10.244.250.0/24');
    const ev = await waitFor(
      'outside event',
      async () =>
        (await events('PodCIDROutsideNetwork')).find((e) => e.regarding.name === 'alien-1'),
      20_000,
    );
    expect(ev).toMatchObject({ type: 'Warning', reportingController: 'flannel-operator' });
    expect(ev.note).toMatch(/192\.168\.7\.0\/24.*outside/);
    expect((await listLeases(client, 'net-a')).some((x) => x.spec.nodeName === 'alien-1')).toBe(
      false,
    );
    // A selected node without a lease keeps the network from Ready until the admin acts.
    const net = await waitFor(
      'net-a Degraded UnusablePodCIDR',
      async () => {
        const n = await getNetwork(client, 'net-a');
        return condition(n, 'Degraded')?.reason === 'UnusablePodCIDR' ? n : false;
      },
      20_000,
    );
    expect(condition(net, 'Ready')?.status).toBe('False');
    expect(condition(net, 'Degraded')?.message).toMatch(/alien-1: .*192\.168\.7\.0\/24.*outside/);
    await client.delete('/api/v1/nodes/alien-1');
    await waitFor(
      'net-a Ready after the node is gone',
      async () => condition(await getNetwork(client, 'net-a'), 'Ready')?.status === 'True',
      20_000,
    );
  });

  it('surfaces exhaustion as Degraded + Event while other networks keep working', async () => {
    await applyNetwork(client, 'net-small', {
      network: '10.99.0.0/24',
      subnetLen: 26,
      nodeSelector: { matchLabels: { pool: 'small' } },
    });
    await createNodes(client, ['s-0', 's-1', 's-2', 's-3', 's-4'], { pool: 'small' });
    const net = await waitFor(
      'NetworkExhausted',
      async () => {
        const n = await getNetwork(client, 'net-small');
        return condition(n, 'Degraded')?.reason === 'NetworkExhausted' ? n : false;
      },
      20_000,
    );
    expect(condition(net, 'Degraded')?.status).toBe('True');
    expect(condition(net, 'Ready')?.status).toBe('False');
    expect(net.status).toMatchObject({ capacity: 3, allocated: 3, free: 0 });
    expect((await listLeases(client, 'net-small')).length).toBe(3);
    await waitFor(
      'exhaustion event',
      async () =>
        (await events('NetworkExhausted')).some(
          (e) => e.regarding.name === 'net-small' && e.type === 'Warning',
        ),
      10_000,
    );
    // The other network still allocates.
    await createNodes(client, ['a-after'], { pool: 'a' });
    await waitFor(
      'net-a still allocating',
      async () => (await listLeases(client, 'net-a')).some((x) => x.spec.nodeName === 'a-after'),
      20_000,
    );
    expect(condition(await getNetwork(client, 'net-a'), 'Ready')?.status).toBe('True');
  });

  it('refuses an overlapping newer network; the older keeps its nodes', async () => {
    await applyNetwork(client, 'net-ovl', {
      network: '10.244.128.0/17',
      nodeSelector: { matchLabels: { pool: 'ovl' } },
    });
    await createNodes(client, ['o-0'], { pool: 'ovl' });
    const n = await waitFor(
      'OverlappingNetwork',
      async () => {
        const x = await getNetwork(client, 'net-ovl');
        return condition(x, 'Degraded')?.reason === 'OverlappingNetwork' ? x : false;
      },
      20_000,
    );
    expect(condition(n, 'Degraded')?.message).toMatch(/net-a/);
    expect(await listLeases(client, 'net-ovl')).toHaveLength(0);
    expect(condition(await getNetwork(client, 'net-a'), 'Degraded')?.status).toBe('False');
  });

  it('gives a node selected by two networks to the older one, with an event', async () => {
    await applyNetwork(client, 'net-b', {
      network: '10.50.0.0/16',
      nodeSelector: { matchExpressions: [{ key: 'pool', operator: 'In', values: ['a', 'b'] }] },
    });
    await createNodes(client, ['b-0'], { pool: 'b' });
    await waitFor(
      'net-b lease',
      async () => (await listLeases(client, 'net-b')).some((x) => x.spec.nodeName === 'b-0'),
      20_000,
    );
    const ev = await waitFor(
      'contested event',
      async () =>
        (await events('NodeSelectedByMultipleNetworks')).find((e) => e.regarding.name === 'a-000'),
      20_000,
    );
    expect(ev.note).toMatch(/net-a/);
    expect((await listLeases(client, 'net-b')).map((l) => l.spec.nodeName)).toEqual(['b-0']);
  });

  it('on start, keeps the older of two leases with one subnet and flags the newer', async () => {
    const older = (await listLeases(client, 'net-a')).find((l) => l.spec.nodeName === 'a-002')!;
    expect(await ctrl.kill('SIGTERM')).toBe(0);
    // While no controller runs, a second lease claims a-002's subnet (a bad manual edit or migration).
    await client.create('/api/v1/nodes', nodeBody('dup-1', { pool: 'a' }));
    await client.create(LEASES, {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'SubnetLease',
      metadata: {
        name: 'net-a.dup-1',
        labels: {
          'network.flannel-operator.io/network': 'net-a',
          'network.flannel-operator.io/node': 'dup-1',
        },
      },
      spec: { nodeName: 'dup-1', networkName: 'net-a', subnet: older.spec.subnet },
    });
    ctrl = await startController({
      kubeconfigPath: cp().kubeconfigPath,
      args: ['--leader-elect=false'],
      logDir: dir,
      name: 'restarted',
    });
    const net = await waitFor(
      'SubnetConflict',
      async () => {
        const n = await getNetwork(client, 'net-a');
        return condition(n, 'Degraded')?.reason === 'SubnetConflict' ? n : false;
      },
      20_000,
    );
    expect(condition(net, 'Degraded')?.message).toMatch(/net-a\.dup-1/);
    const flagged = await waitFor(
      'lease condition',
      async () => {
        const l = await client.get<SubnetLease>(`${LEASES}/net-a.dup-1`);
        return l.status?.conditions?.find((c) => c.type === 'SubnetConflict' && c.status === 'True')
          ? l
          : false;
      },
      20_000,
    );
    expect(flagged.status?.conditions?.[0]?.message).toMatch(/net-a\.a-002/);
    await waitFor(
      'conflict event',
      async () => (await events('SubnetConflict')).some((e) => e.regarding.name === 'net-a.dup-1'),
      10_000,
    );
    // The older lease and its node are untouched; the newer node got no podCIDR from the clash.
    expect((await client.get<SubnetLease>(`${LEASES}/net-a.a-002`)).spec.subnet).toBe(
      older.spec.subnet,
    );
    expect(
      (await listNodes(client, 'pool=a')).find((n) => n.metadata.name === 'dup-1')?.spec?.podCIDR,
    ).toBeUndefined();
    // Resolving it (deleting the bad lease) heals: dup-1 gets a fresh subnet, the network is Ready again.
    await client.delete(`${LEASES}/net-a.dup-1`);
    const fresh = await waitFor(
      'fresh lease',
      async () => (await listLeases(client, 'net-a')).find((l) => l.spec.nodeName === 'dup-1'),
      20_000,
    );
    expect(fresh.spec.subnet).not.toBe(older.spec.subnet);
    await waitFor(
      'Ready again',
      async () => condition(await getNetwork(client, 'net-a'), 'Ready')?.status === 'True',
      20_000,
    );
  });

  it('releases all leases when a network is deleted (no finalizer needed)', async () => {
    await client.delete(`${NETWORKS}/net-small`);
    await waitFor(
      'leases of net-small gone',
      async () => (await listLeases(client, 'net-small')).length === 0,
      20_000,
    );
  });
});
