/**
 * `helm install` of the chart into a REAL kube-apiserver, then the real controller binary run with
 * the chart's OWN controller ServiceAccount token (args and env taken from the installed
 * Deployment). It must work (leases, podCIDRs, DaemonSet, Ready) and be denied everything outside
 * its role; agent tokens bound to a node may write only that node's lease status (the chart's
 * ValidatingAdmissionPolicy, checked with its message). The release moves Events to a non-default
 * namespace (controller.eventsNamespace=kube-system) and checks they land there.
 *
 * No kubelet, scheduler or controller-manager runs: pods never start; the DaemonSet is checked as
 * an object.
 */
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { useControlPlane } from '../harness/jest.js';
import { CLI } from '../harness/prereqs.js';
import { freePort } from '../harness/process.js';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import { microTime } from '../../src/kube/leader.js';
import type { FlannelNetwork, SubnetLease } from '../../src/api/index.js';
import { CONFIG_HASH_ANNOTATION } from '../../src/controller/dataplane/index.js';
import { CHART, helm, scratchDir, waitFor } from './helpers.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

jest.setTimeout(180_000);

const NS = 'flannel-system';
const RELEASE = 'fo';
const CONTROLLER_SA = 'fo-flannel-operator-controller';
const AGENT_SA = 'fo-flannel-operator-agent';
const NETWORKS = '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks';
const LEASES = '/apis/network.flannel-operator.io/v1alpha1/subnetleases';
const NODES = ['chart-node-a', 'chart-node-b'];
/** Not `default`: the install proves the value moves the Events, not only the RBAC. */
const EVENTS_NS = 'kube-system';

const cp = useControlPlane({
  installCrds: false,
  tools: ['etcd', 'kube-apiserver', 'helm'],
  build: true,
});

const clients: KubeClient[] = [];
function track(c: KubeClient): KubeClient {
  clients.push(c);
  return c;
}
let adminClient: KubeClient | undefined;
function admin(): KubeClient {
  return (adminClient ??= track(new KubeClient(clientNodeAuth(cp().kubeConfig))));
}

async function clientForToken(token: string): Promise<KubeClient> {
  return track(new KubeClient(clientNodeAuth(cp().kubeConfigForToken(token))));
}

/** SelfSubjectAccessReview: may the client's user do this? */
async function can(
  client: KubeClient,
  attrs: {
    verb: string;
    resource: string;
    group?: string;
    namespace?: string;
    subresource?: string;
    name?: string;
  },
): Promise<boolean> {
  const r = await client.create<{ status: { allowed: boolean } }>(
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { group: '', ...attrs } },
    },
  );
  return r.status.allowed;
}

async function expectApiError(
  p: Promise<unknown>,
  status: number,
  message?: string,
): Promise<KubeApiError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KubeApiError);
  const e = err as KubeApiError;
  expect({ status: e.status, message: e.message }).toMatchObject({ status });
  if (message) expect(e.message).toContain(message);
  return e;
}

const condition = (n: FlannelNetwork | undefined, type: string) =>
  n?.status?.conditions?.find((c) => c.type === type);

let controller: ChildProcess | undefined;
let controllerLog = '';

describe('chart installed into a real API server', () => {
  beforeAll(async () => {
    const r = await helm([
      'install',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '--create-namespace',
      '--kubeconfig',
      cp().kubeconfigPath,
      '--set',
      'image.tag=test',
      '--set',
      `controller.eventsNamespace=${EVENTS_NS}`,
      '--timeout',
      '60s',
    ]);
    if (r.code !== 0) throw new Error(`helm install failed: ${r.stderr}`);
    const a = admin();
    for (const name of NODES) {
      await a.create('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/os': 'linux' } },
      });
    }
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    if (controller && controller.exitCode === null) {
      const exited = new Promise((r) => controller!.once('exit', r));
      controller.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (controller.exitCode === null) controller.kill('SIGKILL');
    }
  });

  it('helm install created the CRDs (from crds/), RBAC, policy and the default FlannelNetwork', async () => {
    const a = admin();
    for (const crd of ['flannelnetworks', 'subnetleases']) {
      const got = await a.get<{ status: { conditions: Array<{ type: string; status: string }> } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}.network.flannel-operator.io`,
      );
      expect(got.status.conditions.find((c) => c.type === 'Established')?.status).toBe('True');
    }
    const net = await a.get<FlannelNetwork>(`${NETWORKS}/default`);
    expect(net.spec.network).toBe('10.244.0.0/16');
    expect(net.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    await a.get(
      `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/fo-flannel-operator-agent-own-lease`,
    );
    const status = await helm(['status', RELEASE, '-n', NS, '--kubeconfig', cp().kubeconfigPath]);
    expect(status.stdout).toContain('STATUS: deployed');
    expect(status.stdout).toContain('kubectl wait flannelnetwork/default --for=condition=Ready');
  });

  it("runs the controller with the chart's own ServiceAccount token: leases, podCIDRs, DaemonSet, Ready", async () => {
    const a = admin();
    const token = await cp().tokenFor(NS, CONTROLLER_SA);
    const kubeconfig = await cp().kubeconfigFileForToken(token);
    // Right after `helm install` the RBAC authorizer may not see the new roles yet; a controller
    // started in that window logs 403s and backs off. Start it once the roles are in effect.
    const self = await clientForToken(token);
    await waitFor('controller RBAC in effect', async () =>
      (
        await Promise.all([
          can(self, {
            verb: 'list',
            resource: 'flannelnetworks',
            group: 'network.flannel-operator.io',
          }),
          can(self, {
            verb: 'create',
            resource: 'leases',
            group: 'coordination.k8s.io',
            namespace: NS,
          }),
          can(self, { verb: 'patch', resource: 'daemonsets', group: 'apps', namespace: NS }),
        ])
      ).every(Boolean),
    );
    // Flags and env exactly as the chart renders them, ports moved to free loopback ones.
    const dep = await a.get<V1Deployment>(
      `/apis/apps/v1/namespaces/${NS}/deployments/fo-flannel-operator-controller`,
    );
    const c = dep.spec!.template.spec!.containers[0]!;
    expect(c.args![0]).toBe('controller');
    const metricsPort = await freePort();
    const args = c
      .args!.slice(1)
      .map((x) =>
        x.startsWith('--metrics-bind-address=')
          ? `--metrics-bind-address=127.0.0.1:${metricsPort}`
          : x.startsWith('--health-probe-bind-address=')
            ? '--health-probe-bind-address=0'
            : x,
      );
    const env: NodeJS.ProcessEnv = { ...process.env, POD_NAMESPACE: NS };
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const logDir = scratchDir('controller-');
    const logFile = join(logDir, 'controller.log');
    const out = createWriteStream(logFile);
    controller = spawn(process.execPath, [CLI, 'controller', '--kubeconfig', kubeconfig, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    controller.stdout!.pipe(out);
    controller.stderr!.pipe(out);
    controller.stdout!.on('data', (d: Buffer) => (controllerLog += d.toString()));
    controller.stderr!.on('data', (d: Buffer) => (controllerLog += d.toString()));

    const exited = new Promise<never>((_, reject) =>
      controller!.once('exit', (code, sig) =>
        reject(new Error(`controller exited early (code ${code}, signal ${sig})`)),
      ),
    );
    exited.catch(() => undefined);
    try {
      // Leader election through the chart's Role (fails fast if the controller died).
      const lease = await Promise.race([
        exited,
        waitFor('leader lease', () =>
          a.getOrUndefined<{ spec: { holderIdentity?: string } }>(
            `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/fo-flannel-operator-controller`,
          ),
        ),
      ]);
      expect(lease.spec.holderIdentity).toBeTruthy();

      const leases = await waitFor('a lease per node', async () => {
        const l = await a.list<SubnetLease>(LEASES);
        return l.items.length === NODES.length ? l.items : undefined;
      });
      expect(leases.map((l) => l.spec.nodeName).sort()).toEqual([...NODES].sort());
      for (const l of leases) expect(l.spec.subnet).toMatch(/^10\.244\.\d+\.0\/24$/);
      for (const name of NODES) {
        const node = await waitFor(`podCIDR of ${name}`, async () => {
          const n = await a.get<{ spec: { podCIDR?: string } }>(`/api/v1/nodes/${name}`);
          return n.spec.podCIDR ? n : undefined;
        });
        expect(leases.find((l) => l.spec.nodeName === name)!.spec.subnet).toBe(node.spec.podCIDR);
      }

      const net = await a.get<FlannelNetwork>(`${NETWORKS}/default`);
      const ds = await waitFor('agent DaemonSet', () =>
        a.getOrUndefined<V1DaemonSet>(
          `/apis/apps/v1/namespaces/${NS}/daemonsets/flannel-agent-default`,
        ),
      );
      expect(ds.metadata!.ownerReferences).toEqual([
        expect.objectContaining({
          kind: 'FlannelNetwork',
          name: 'default',
          uid: net.metadata.uid,
          controller: true,
        }),
      ]);
      const pod = ds.spec!.template.spec!;
      expect(pod.serviceAccountName).toBe(AGENT_SA);
      expect(pod.containers[0]!.image).toBe('ghcr.io/flannel-operator/flannel-operator:test');
      expect(pod.containers[0]!.args).toContain(`--events-namespace=${EVENTS_NS}`);
      expect(pod.initContainers![0]!.image).toBe(
        'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel2',
      );
      expect((ds.metadata!.managedFields ?? []).map((m) => m.manager)).toContain(
        'flannel-operator-controller',
      );

      const ready = await waitFor('FlannelNetwork Ready', async () => {
        const n = await a.get<FlannelNetwork>(`${NETWORKS}/default`);
        return condition(n, 'Ready')?.status === 'True' ? n : undefined;
      });
      expect(ready.status!.observedGeneration).toBe(ready.metadata.generation);
      expect(ready.status!.dataplane?.configHash).toBe(
        ds.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION],
      );
      expect(controllerLog).not.toMatch(/forbidden/i);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- controller log (${logFile}) ---\n${readFileSync(logFile, 'utf8').slice(-4000)}`,
        { cause: e },
      );
    }
  });

  it('the controller token is denied everything outside its role', async () => {
    const ctl = await clientForToken(await cp().tokenFor(NS, CONTROLLER_SA));
    const G = 'network.flannel-operator.io';
    // Allowed: what it needs.
    for (const attrs of [
      { verb: 'watch', resource: 'flannelnetworks', group: G },
      { verb: 'patch', resource: 'flannelnetworks', group: G, subresource: 'status' },
      { verb: 'create', resource: 'subnetleases', group: G },
      { verb: 'delete', resource: 'subnetleases', group: G },
      { verb: 'patch', resource: 'subnetleases', group: G, subresource: 'status' },
      { verb: 'patch', resource: 'nodes' },
      { verb: 'patch', resource: 'daemonsets', group: 'apps', namespace: NS },
      { verb: 'update', resource: 'leases', group: 'coordination.k8s.io', namespace: NS },
      { verb: 'create', resource: 'events', group: 'events.k8s.io', namespace: EVENTS_NS },
    ]) {
      expect({ ...attrs, allowed: await can(ctl, attrs) }).toEqual({ ...attrs, allowed: true });
    }
    // Denied: everything else we could think of that would hurt.
    for (const attrs of [
      { verb: 'list', resource: 'secrets' },
      { verb: 'get', resource: 'secrets', namespace: NS },
      { verb: 'delete', resource: 'namespaces' },
      { verb: 'update', resource: 'flannelnetworks', group: G },
      { verb: 'patch', resource: 'flannelnetworks', group: G },
      { verb: 'create', resource: 'flannelnetworks', group: G },
      { verb: 'delete', resource: 'flannelnetworks', group: G },
      { verb: 'deletecollection', resource: 'subnetleases', group: G },
      { verb: 'create', resource: 'pods', namespace: NS },
      { verb: 'create', resource: 'daemonsets', group: 'apps', namespace: 'default' },
      { verb: 'create', resource: 'events', group: 'events.k8s.io', namespace: 'default' },
      { verb: 'create', resource: 'daemonsets', group: 'apps', namespace: 'kube-system' },
      { verb: 'patch', resource: 'nodes', subresource: 'status' },
      { verb: 'delete', resource: 'nodes' },
      { verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' },
      {
        verb: 'update',
        resource: 'leases',
        group: 'coordination.k8s.io',
        namespace: 'kube-system',
      },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: NS },
    ]) {
      expect({ ...attrs, allowed: await can(ctl, attrs) }).toEqual({ ...attrs, allowed: false });
    }
    // And the real calls fail with 403.
    await expectApiError(ctl.list('/api/v1/secrets'), 403, 'forbidden');
    await expectApiError(
      ctl.patch(`${NETWORKS}/default`, { spec: { ipMasq: false } }, { type: 'merge' }),
      403,
      'cannot patch resource "flannelnetworks"',
    );
    await expectApiError(
      ctl.delete(`/api/v1/namespaces/${NS}`),
      403,
      'cannot delete resource "namespaces"',
    );
    const net = await admin().get<FlannelNetwork>(`${NETWORKS}/default`);
    expect(net.spec.ipMasq).toBe(true);
  });

  it("an agent token bound to node A patches A's lease status; node B's is rejected by the admission policy", async () => {
    const [nodeA, nodeB] = NODES as [string, string];
    const a = admin();
    await waitFor('leases', async () => (await a.list(LEASES)).items.length === NODES.length);
    const agentA = await clientForToken(await cp().tokenFor(NS, AGENT_SA, { nodeName: nodeA }));
    const status = (node: string) => ({
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'SubnetLease',
      metadata: { name: `default.${node}` },
      status: {
        publicIP: '192.0.2.10',
        backend: { type: 'vxlan', vni: 1, vtepMAC: '0a:58:0a:f4:01:01' },
      },
    });
    // The API server loads new admission policies asynchronously: wait (with dry-run writes,
    // which are admitted like real ones but change nothing) until the chart's policy is active.
    await waitFor('admission policy active', async () => {
      try {
        await agentA.request('PATCH', `${LEASES}/default.${nodeB}/status`, {
          body: status(nodeB),
          contentType: 'application/apply-patch+yaml',
          query: { dryRun: 'All', fieldManager: 'flannel-operator-agent', force: true },
        });
        return false;
      } catch (e) {
        return (
          e instanceof KubeApiError &&
          e.status === 403 &&
          e.message.includes('ValidatingAdmissionPolicy')
        );
      }
    });
    // Own node: allowed (RBAC subnetleases/status patch + policy).
    const own = await agentA.applyStatus<SubnetLease>(status(nodeA), {
      fieldManager: 'flannel-operator-agent',
      force: true,
    });
    expect(own.status?.publicIP).toBe('192.0.2.10');

    // Another node's lease: RBAC allows the verb, the policy says no, with its message.
    const denied = await expectApiError(
      agentA.applyStatus(status(nodeB), { fieldManager: 'flannel-operator-agent', force: true }),
      403,
      `may only change the SubnetLease of its own node, not default.${nodeB}`,
    );
    expect(denied.message).toContain('ValidatingAdmissionPolicy');
    expect(denied.message).toContain(`agent on node ${nodeA}`);
    const leaseB = await a.get<SubnetLease>(`${LEASES}/default.${nodeB}`);
    expect(leaseB.status?.publicIP).toBeUndefined();

    // A token of the agent account that is not bound to a node may not write any lease.
    const unbound = await clientForToken(await cp().tokenFor(NS, AGENT_SA));
    await expectApiError(
      unbound.applyStatus(status(nodeA), { fieldManager: 'flannel-operator-agent', force: true }),
      403,
      'tokens must be bound to a node',
    );

    // RBAC: agents never write lease specs, create or delete leases, or touch other objects.
    await expectApiError(
      agentA.patch(
        `${LEASES}/default.${nodeA}`,
        { metadata: { labels: { x: 'y' } } },
        { type: 'merge' },
      ),
      403,
      'cannot patch resource "subnetleases"',
    );
    await expectApiError(agentA.delete(`${LEASES}/default.${nodeB}`), 403);
    expect(await can(agentA, { verb: 'list', resource: 'secrets' })).toBe(false);
    expect(await can(agentA, { verb: 'patch', resource: 'nodes' })).toBe(false);
    expect(
      await can(agentA, { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' }),
    ).toBe(false);
    expect(
      await can(agentA, {
        verb: 'watch',
        resource: 'subnetleases',
        group: 'network.flannel-operator.io',
      }),
    ).toBe(true);

    // Warning Events (events.k8s.io/v1, what the agent writes when programming fails) are about
    // its SubnetLease, a cluster-scoped object: the chart lets the agent write them only in
    // controller.eventsNamespace (one of the two namespaces the API server takes them in).
    const event = (namespace: string) => ({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `agent-rbac-${nodeA}.${Date.now().toString(16)}`, namespace },
      eventTime: microTime(Date.now()),
      type: 'Warning',
      reason: 'ProgramFailed',
      action: 'ProgramDataplane',
      note: 'chart RBAC test',
      reportingController: 'flannel-operator-agent',
      reportingInstance: nodeA,
      regarding: {
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'SubnetLease',
        name: `default.${nodeA}`,
      },
    });
    const created = await agentA.create<{ metadata: { namespace: string } }>(
      `/apis/events.k8s.io/v1/namespaces/${EVENTS_NS}/events`,
      event(EVENTS_NS),
    );
    expect(created.metadata.namespace).toBe(EVENTS_NS);
    expect(
      await can(agentA, {
        verb: 'patch',
        resource: 'events',
        group: 'events.k8s.io',
        namespace: EVENTS_NS,
      }),
    ).toBe(true);
    await expectApiError(
      agentA.create(`/apis/events.k8s.io/v1/namespaces/${NS}/events`, event(NS)),
      403,
      'cannot create resource "events"',
    );
    await expectApiError(
      agentA.create('/apis/events.k8s.io/v1/namespaces/default/events', event('default')),
      403,
      'cannot create resource "events"',
    );
    expect(await can(agentA, { verb: 'create', resource: 'events', namespace: NS })).toBe(false);
  });

  it('an agent writes only its own condition types (Ready, ForwardingBlocked); the controller-owned ones are off limits', async () => {
    const [nodeA] = NODES as [string, string];
    const a = admin();
    const agentA = await clientForToken(await cp().tokenFor(NS, AGENT_SA, { nodeName: nodeA }));
    const path = `${LEASES}/default.${nodeA}/status`;
    const cond = (type: string, status: string, reason = 'Test') => ({
      type,
      status,
      reason,
      message: `${type} ${status}`,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    const applyAgent = (conditions: unknown[]) =>
      agentA.applyStatus<SubnetLease>(
        {
          apiVersion: 'network.flannel-operator.io/v1alpha1',
          kind: 'SubnetLease',
          metadata: { name: `default.${nodeA}` },
          // Everything this field manager owns (server-side apply drops what it leaves out).
          status: {
            publicIP: '192.0.2.10',
            backend: { type: 'vxlan', vni: 1, vtepMAC: '0a:58:0a:f4:01:01' },
            conditions,
          },
        },
        { fieldManager: 'flannel-operator-agent', force: true },
      );
    const denial =
      'may write only the lease conditions Ready and ForwardingBlocked; the other condition types (SubnetConflict, BackendRejected, ...) are owned by the controller';
    // Upgrade from an agent that also wrote Reconciling and Degraded (as the same field manager):
    // the new agent's apply drops them, which the policy allows for these two types only.
    await a.applyStatus(
      {
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'SubnetLease',
        metadata: { name: `default.${nodeA}` },
        status: {
          publicIP: '192.0.2.10',
          backend: { type: 'vxlan', vni: 1, vtepMAC: '0a:58:0a:f4:01:01' },
          conditions: [
            cond('Ready', 'True'),
            cond('Reconciling', 'False'),
            cond('Degraded', 'False'),
          ],
        },
      },
      { fieldManager: 'flannel-operator-agent', force: true },
    );
    // Its own types: allowed.
    const own = await applyAgent([cond('Ready', 'True'), cond('ForwardingBlocked', 'False')]);
    expect(own.status?.conditions?.map((c) => c.type).sort()).toEqual([
      'ForwardingBlocked',
      'Ready',
    ]);
    // Adding a controller-owned condition: denied.
    for (const type of ['SubnetConflict', 'BackendRejected', 'Degraded', 'Anything'])
      await expectApiError(applyAgent([cond('Ready', 'True'), cond(type, 'False')]), 403, denial);
    // The controller flags the lease (its publicIP 192.0.2.10 is not an address of the Node);
    // the agent can neither clear, change nor remove the flag.
    const setAddresses = (...ips: string[]) =>
      a.patch(
        `/api/v1/nodes/${nodeA}/status`,
        { status: { addresses: ips.map((address) => ({ type: 'InternalIP', address })) } },
        { type: 'merge' },
      );
    await setAddresses('192.0.2.1');
    const flag = async () =>
      (await a.get<SubnetLease>(`${LEASES}/default.${nodeA}`)).status?.conditions?.find(
        (c) => c.type === 'BackendRejected',
      );
    await waitFor(
      'BackendRejected from the controller',
      async () => (await flag())?.status === 'True',
    );
    await expectApiError(
      applyAgent([cond('Ready', 'True'), cond('BackendRejected', 'False', 'Resolved')]),
      403,
      denial,
    );
    await expectApiError(
      agentA.patch(path, { status: { conditions: [cond('Ready', 'True')] } }, { type: 'merge' }),
      403,
      denial,
    );
    const index = (
      await a.get<SubnetLease>(`${LEASES}/default.${nodeA}`)
    ).status!.conditions!.findIndex((c) => c.type === 'BackendRejected');
    await expectApiError(
      agentA.patch(path, [{ op: 'remove', path: `/status/conditions/${index}` }], { type: 'json' }),
      403,
      denial,
    );
    expect(await flag()).toMatchObject({ status: 'True', reason: 'PublicIPNotNodeAddress' });
    // Its own conditions still change freely next to the controller's.
    const updated = await applyAgent([cond('Ready', 'False', 'Broken')]);
    expect(updated.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(updated.status?.conditions?.find((c) => c.type === 'BackendRejected')?.status).toBe(
      'True',
    );
    // The Node gets that address: the controller clears its flag.
    await setAddresses('192.0.2.10');
    await waitFor('BackendRejected cleared', async () => (await flag())?.status === 'False');
  });

  it("the controller's Events land in controller.eventsNamespace", async () => {
    const a = admin();
    // A network overlapping the (older) default one is refused with a Warning Event about it.
    await a.create(NETWORKS, {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'FlannelNetwork',
      metadata: { name: 'chart-overlap' },
      spec: { network: '10.244.0.0/16', nodeSelector: { matchLabels: { none: 'x' } } },
    });
    try {
      const ev = await waitFor('OverlappingNetwork Event', async () => {
        const all = await a.list<{
          metadata: { namespace: string };
          reason: string;
          reportingController: string;
          regarding: { name: string };
        }>('/apis/events.k8s.io/v1/events');
        return all.items.find(
          (e) => e.reason === 'OverlappingNetwork' && e.regarding.name === 'chart-overlap',
        );
      });
      expect(ev.metadata.namespace).toBe(EVENTS_NS);
      expect(ev.reportingController).toBe('flannel-operator');
    } finally {
      await a.delete(`${NETWORKS}/chart-overlap`);
    }
    expect(controllerLog).not.toMatch(/could not record event|forbidden/i);
  });

  it('helm upgrade --set netpol.enabled=true: agent RBAC grows, the controller rolls the sidecar in', async () => {
    const a = admin();
    const before = await a.get<V1DaemonSet>(
      `/apis/apps/v1/namespaces/${NS}/daemonsets/flannel-agent-default`,
    );
    const hashBefore = before.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION];
    const r = await helm([
      'upgrade',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '--kubeconfig',
      cp().kubeconfigPath,
      '--reuse-values',
      '--set',
      'netpol.enabled=true',
    ]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const agent = await clientForToken(await cp().tokenFor(NS, AGENT_SA, { nodeName: NODES[0] }));
    // The RBAC authorizer sees role changes through its informers: a moment later.
    await waitFor('netpol RBAC for the agent', () =>
      can(agent, { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' }),
    );
    expect(await can(agent, { verb: 'watch', resource: 'pods' })).toBe(true);

    const after = await waitFor('DaemonSet with the netpol sidecar', async () => {
      const ds = await a.get<V1DaemonSet>(
        `/apis/apps/v1/namespaces/${NS}/daemonsets/flannel-agent-default`,
      );
      return ds.spec!.template.spec!.containers.some((c) => c.name === 'kube-network-policies')
        ? ds
        : undefined;
    });
    expect(after.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]).not.toBe(
      hashBefore,
    );
    const np = after.spec!.template.spec!.containers.find(
      (c) => c.name === 'kube-network-policies',
    )!;
    expect(np.image).toBe('registry.k8s.io/networking/kube-network-policies:v0.8.0');
    expect(after.spec!.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(controllerLog).not.toMatch(/forbidden/i);
  });

  it('a FlannelNetwork cannot choose the image or args of the privileged netpol sidecar', async () => {
    const a = admin();
    const dsPath = `/apis/apps/v1/namespaces/${NS}/daemonsets/flannel-agent-default`;
    const before = await a.get<V1DaemonSet>(dsPath);
    const sidecar = (ds: V1DaemonSet) =>
      ds.spec!.template.spec!.containers.find((c) => c.name === 'kube-network-policies')!;
    expect(sidecar(before).image).toBe('registry.k8s.io/networking/kube-network-policies:v0.8.0');
    // Someone allowed to edit FlannelNetworks (not the operator's configuration) tries.
    const patched = await a.patch<FlannelNetwork>(
      `${NETWORKS}/default`,
      {
        spec: {
          netpol: { enabled: true, image: 'evil.example/root:latest', args: ['--evil'] },
          backend: { mtu: 1400 },
        },
      },
      { type: 'merge' },
    );
    // Not part of the API any more: the API server drops both fields.
    expect(patched.spec.netpol).toEqual({ enabled: true });
    // The controller reconciles the new generation (the MTU change rolls the agents) and the
    // sidecar keeps the operator's image and args.
    const after = await waitFor('DaemonSet for the new generation', async () => {
      const ds = await a.get<V1DaemonSet>(dsPath);
      return ds.spec!.template.spec!.containers[0]!.args!.join(' ') !==
        before.spec!.template.spec!.containers[0]!.args!.join(' ') ||
        ds.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION] !==
          before.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]
        ? ds
        : undefined;
    });
    expect(sidecar(after).image).toBe('registry.k8s.io/networking/kube-network-policies:v0.8.0');
    expect(sidecar(after).args).toEqual(sidecar(before).args);
    expect(JSON.stringify(after.spec!.template)).not.toContain('evil');
  });
});
