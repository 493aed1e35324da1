/**
 * Which namespaces the real API server accepts Events about cluster-scoped objects in: the
 * controller's and the agents' Events are all about such objects (Nodes, FlannelNetworks,
 * SubnetLeases), so --events-namespace allows exactly these (CLUSTER_EVENT_NAMESPACES).
 */
import pino from 'pino';
import { useControlPlane } from '../harness/jest.js';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import { CLUSTER_EVENT_NAMESPACES, EventRecorder } from '../../src/kube/events.js';
import { microTime } from '../../src/kube/leader.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

const cp = useControlPlane({ installCrds: false });

const event = (namespace: string, name: string) => ({
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name, namespace },
  eventTime: microTime(Date.now()),
  type: 'Normal',
  reason: 'Probe',
  action: 'Probe',
  note: 'which namespaces take Events about cluster-scoped objects',
  reportingController: 'flannel-operator',
  reportingInstance: 'test',
  regarding: { apiVersion: 'v1', kind: 'Node', name: 'events-node' },
});

describe('Events about cluster-scoped objects on a real API server', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = new KubeClient(clientNodeAuth(cp().kubeConfig));
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'flannel-system' },
    });
  });
  afterAll(() => client.close());

  it.each([...CLUSTER_EVENT_NAMESPACES])('are accepted in %s', async (ns) => {
    const created = await client.create<{ metadata: { namespace: string } }>(
      `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      event(ns, `ok-${ns}`),
    );
    expect(created.metadata.namespace).toBe(ns);
  });

  it('are rejected in any other namespace (the operator namespace, too)', async () => {
    let err: unknown;
    try {
      await client.create(
        '/apis/events.k8s.io/v1/namespaces/flannel-system/events',
        event('flannel-system', 'refused'),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as KubeApiError).message).toContain('does not match event.namespace');
  });

  it('EventRecorder writes them to its namespace', async () => {
    const recorder = new EventRecorder({
      client,
      namespace: 'kube-system',
      reportingController: 'flannel-operator',
      reportingInstance: 'test',
      logger: pino({ level: 'silent' }),
    });
    await recorder.record(
      { apiVersion: 'v1', kind: 'Node', name: 'events-node' },
      'Warning',
      'RecorderProbe',
      'Probe',
      'from the recorder',
    );
    const list = await client.list<{ reason: string }>(
      '/apis/events.k8s.io/v1/namespaces/kube-system/events',
    );
    expect(list.items.map((e) => e.reason)).toContain('RecorderProbe');
  });
});
