/**
 * createDataplaneRollout against a REAL kube-apiserver: server-side apply of the agent DaemonSet,
 * no write when nothing changed, a new template (and config hash) when the network's agent config
 * changes, status read back, change notifications, removal.
 */
import { jest } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { V1DaemonSet } from '@kubernetes/client-node';
import { useControlPlane } from '../harness/jest.js';
import { KubeClient } from '../../src/kube/client.js';
import type { FlannelNetwork } from '../../src/api/index.js';
import {
  CONFIG_HASH_ANNOTATION,
  createDataplaneRollout,
} from '../../src/controller/dataplane/index.js';
import { waitFor } from './helpers.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

jest.setTimeout(120_000);

const NS = 'dataplane-test';
const NETWORKS = '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks';
const DS = `/apis/apps/v1/namespaces/${NS}/daemonsets/flannel-agent-blue`;

const cp = useControlPlane();

describe('dataplane rollout', () => {
  let client: KubeClient;
  afterAll(() => client?.close());

  it('applies, leaves an unchanged DaemonSet alone, rolls on config change, reports, removes', async () => {
    client = new KubeClient(clientNodeAuth(cp().kubeConfig));
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    let net = await client.create<FlannelNetwork>(NETWORKS, {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'FlannelNetwork',
      metadata: { name: 'blue' },
      spec: { network: '10.30.0.0/16', backend: { type: 'vxlan' } },
    });
    const registry = new Registry();
    const rollout = createDataplaneRollout(
      { client, logger: pino({ level: 'silent' }), registry },
      {
        namespace: NS,
        agentImage: 'example.org/flannel-operator:1',
        pod: { cniBinDir: '/opt/cni/bin' },
      },
    );

    const first = await rollout.reconcile(net);
    // No DaemonSet controller here: nothing scheduled yet.
    expect(first).toMatchObject({ desired: 0, ready: 0, updated: 0 });
    const live1 = await client.get<V1DaemonSet>(DS);
    expect(live1.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]).toBe(
      first.configHash,
    );
    expect(live1.metadata!.ownerReferences![0]).toMatchObject({
      kind: 'FlannelNetwork',
      name: 'blue',
      uid: net.metadata.uid,
    });

    // Same input: server-side apply is a no-op (no new resourceVersion, no new generation).
    const again = await rollout.reconcile(net);
    const live2 = await client.get<V1DaemonSet>(DS);
    expect(again.configHash).toBe(first.configHash);
    expect(live2.metadata!.resourceVersion).toBe(live1.metadata!.resourceVersion);

    // Status changes are reported by network name.
    const changed: string[] = [];
    const stop = await rollout.watch!((n) => changed.push(n));
    await client.patch(
      `${DS}/status`,
      {
        status: {
          observedGeneration: live2.metadata!.generation,
          desiredNumberScheduled: 3,
          currentNumberScheduled: 3,
          numberMisscheduled: 0,
          numberReady: 2,
          updatedNumberScheduled: 3,
        },
      },
      { type: 'merge' },
    );
    await waitFor('change notification', async () => changed.includes('blue'));
    expect(await rollout.reconcile(net)).toEqual({
      desired: 3,
      ready: 2,
      updated: 3,
      configHash: first.configHash,
    });

    // Agent config changed: new hash, new generation, pods count as not updated until observed.
    net = await client.patch<FlannelNetwork>(
      `${NETWORKS}/blue`,
      { spec: { backend: { type: 'vxlan', vni: 7 } } },
      { type: 'merge' },
    );
    const rolled = await rollout.reconcile(net);
    expect(rolled.configHash).not.toBe(first.configHash);
    expect(rolled.updated).toBe(0);
    const live3 = await client.get<V1DaemonSet>(DS);
    expect(live3.metadata!.generation).toBe(live2.metadata!.generation! + 1);

    // Someone deletes it: the next reconcile puts it back.
    await client.delete(DS);
    await rollout.reconcile(net);
    expect((await client.get<V1DaemonSet>(DS)).metadata!.annotations![CONFIG_HASH_ANNOTATION]).toBe(
      rolled.configHash,
    );

    await rollout.remove('blue');
    expect(await client.getOrUndefined(DS)).toBeUndefined();
    await rollout.remove('blue'); // already gone: fine
    stop();
    expect(await registry.metrics()).toMatch(
      /flannel_operator_dataplane_applies_total\{result="ok"\} 5/,
    );
  });
});
