/**
 * GitOps behaviour against a REAL kube-apiserver with the real controller:
 * - server-side applying a FlannelNetwork again changes nothing (`kubectl diff --server-side`
 *   exits 0, resourceVersion unchanged), before and after the controller reconciled it;
 * - kstatus (sigs.k8s.io/cli-utils, as Flux and kpt use it; hack/tools/local/kstatus) reads the
 *   reconciled network as Current, as InProgress while Reconciling=True or a generation is not
 *   yet observed, and as Failed when the network is Degraded (the controller mirrors it as Stalled);
 * - Argo CD (examples/argocd health.lua under gopher-lua) and Flux (the healthCheckExprs of
 *   examples/flux under cel-go) judge the same live objects at every step: Healthy/Current,
 *   Progressing/InProgress (unobserved generation, Reconciling), Degraded/Failed; every
 *   health_test.yaml case passes the way Argo CD's own test runs them;
 * - every example manifest is accepted by the API server, every example values block by the chart.
 */
import { jest } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1DaemonSet } from '@kubernetes/client-node';
import { useControlPlane, kubectl } from '../harness/jest.js';
import { toolPath } from '../harness/tools.js';
import { KubeClient } from '../../src/kube/client.js';
import type { FlannelNetwork, SubnetLease } from '../../src/api/index.js';
import {
  REPO,
  run,
  spawnController,
  template,
  waitFor,
  type ChildController,
} from '../chart/helpers.js';
import {
  ARGO_CHECKS,
  ARGO_CM,
  FLUX_KUSTOMIZATIONS,
  argoHealth,
  argoHealthTests,
  fluxStatus,
} from './health.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

jest.setTimeout(180_000);

const NS = 'flannel-system';
const NETWORKS = '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks';
const DS = `/apis/apps/v1/namespaces/${NS}/daemonsets/flannel-agent-default`;
const EXAMPLES = join(REPO, 'examples');
const VXLAN = join(EXAMPLES, 'flannelnetwork-vxlan.yaml');
const NODES = ['gitops-a', 'gitops-b'];

const cp = useControlPlane({
  tools: ['etcd', 'kube-apiserver', 'kubectl', 'kstatus', 'helm', 'gitops-health'],
  build: true,
});

let client: KubeClient | undefined;
const admin = (): KubeClient => (client ??= new KubeClient(clientNodeAuth(cp().kubeConfig)));
let controller: ChildController | undefined;

interface KstatusResult {
  name: string;
  status: string;
  message: string;
  error?: string;
}

async function kstatusLive(name: string): Promise<KstatusResult> {
  const r = await run(toolPath('kstatus'), [
    '--kubeconfig',
    cp().kubeconfigPath,
    'get',
    'network.flannel-operator.io/v1alpha1',
    'flannelnetworks',
    name,
  ]);
  if (r.code !== 0) throw new Error(`kstatus failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as KstatusResult;
}

/** Same judgement from YAML on stdin (`kubectl get -o yaml | kstatus -f -`). */
async function kstatusOfYaml(yamlText: string): Promise<KstatusResult[]> {
  const r = await run(toolPath('kstatus'), ['-f', '-'], { input: yamlText });
  if (r.code !== 0) throw new Error(`kstatus failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as KstatusResult);
}

async function waitKstatus(name: string, status: string): Promise<KstatusResult> {
  return waitFor(`kstatus ${status} for ${name}`, async () => {
    const r = await kstatusLive(name);
    return r.status === status ? r : undefined;
  });
}

/** Argo CD's health and Flux's status of the live network (read from the API server). */
async function gitopsHealth(name: string): Promise<{
  argo: { status: string; message: string };
  flux: string;
}> {
  const obj = await admin().get<FlannelNetwork>(`${NETWORKS}/${name}`);
  const [argo] = await argoHealth([obj]);
  const [flux] = await fluxStatus([obj]);
  expect({ argo: argo!.error, flux: flux!.error }).toEqual({ argo: undefined, flux: undefined });
  return { argo: { status: argo!.status, message: argo!.message }, flux: flux!.status };
}

const rv = async (name: string): Promise<string> =>
  (await admin().get<FlannelNetwork>(`${NETWORKS}/${name}`)).metadata.resourceVersion!;

async function applyServerSide(file: string, force = false): Promise<void> {
  const r = await kubectl(cp(), [
    'apply',
    '--server-side',
    '--field-manager=gitops',
    ...(force ? ['--force-conflicts'] : []),
    '-f',
    file,
  ]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
}

async function diffServerSide(file: string): Promise<{ code: number; stdout: string }> {
  const r = await kubectl(cp(), ['diff', '--server-side', '--field-manager=gitops', '-f', file]);
  return { code: r.code, stdout: r.stdout + r.stderr };
}

/**
 * No DaemonSet controller runs here: play its part by writing the DaemonSet status for the
 * DaemonSet's current generation.
 */
async function setDaemonSetStatus(ready: number, updated: number, desired = 2): Promise<void> {
  const ds = await waitFor('agent DaemonSet', () => admin().getOrUndefined<V1DaemonSet>(DS));
  await admin().patch(
    `${DS}/status`,
    {
      status: {
        observedGeneration: ds.metadata!.generation,
        desiredNumberScheduled: desired,
        currentNumberScheduled: desired,
        numberMisscheduled: 0,
        numberReady: ready,
        updatedNumberScheduled: updated,
      },
    },
    { type: 'merge' },
  );
}

describe('GitOps: no drift, kstatus health', () => {
  afterAll(async () => {
    await controller?.stop();
    client?.close();
  });

  it('server-side applying the same FlannelNetwork again changes nothing', async () => {
    await applyServerSide(VXLAN);
    const created = await admin().get<FlannelNetwork>(`${NETWORKS}/default`);
    expect(await diffServerSide(VXLAN)).toEqual({ code: 0, stdout: '' });
    // No controller runs yet, so nothing has stored a status: the first update persists the
    // CRD's status default ({observedGeneration: 0}, which keeps kstatus InProgress) once.
    // Spec and generation never change, and from then on a re-apply writes nothing. With the
    // controller running (next test) the status is stored already and every re-apply is a no-op.
    await applyServerSide(VXLAN);
    const reapplied = await admin().get<FlannelNetwork>(`${NETWORKS}/default`);
    expect(reapplied.metadata.generation).toBe(1);
    expect(reapplied.spec).toEqual(created.spec);
    expect(reapplied.status).toEqual({ observedGeneration: 0 });
    expect(await gitopsHealth('default')).toEqual({
      argo: {
        status: 'Progressing',
        message: 'Waiting for the controller to observe generation 1',
      },
      flux: 'InProgress',
    });
    await applyServerSide(VXLAN);
    expect(await rv('default')).toBe(reapplied.metadata.resourceVersion);
    expect(await diffServerSide(VXLAN)).toEqual({ code: 0, stdout: '' });
  });

  it('still no diff after the controller reconciled it (status only, spec untouched)', async () => {
    for (const name of NODES) {
      await admin().create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    }
    controller = await spawnController(cp().kubeconfigPath, [
      `--namespace=${NS}`,
      '--leader-elect=false',
      '--agent-image=example.org/flannel-operator:gitops',
    ]);
    await admin()
      .create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })
      .catch(() => undefined);
    const net = await waitFor('Ready network', async () => {
      const n = await admin().get<FlannelNetwork>(`${NETWORKS}/default`);
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && n.status?.allocated === NODES.length ? n : undefined;
    });
    const reconciledRv = net.metadata.resourceVersion!;
    expect(await diffServerSide(VXLAN)).toEqual({ code: 0, stdout: '' });
    await applyServerSide(VXLAN);
    expect(await rv('default')).toBe(reconciledRv);
    // Field ownership: the user's manager owns the spec, the controller only status.
    const full = await admin().get<{
      metadata: {
        managedFields: Array<{ manager: string; subresource?: string; fieldsV1: object }>;
      };
    }>(`${NETWORKS}/default`);
    const byManager = full.metadata.managedFields.map((m) => ({
      manager: m.manager,
      subresource: m.subresource,
      touchesSpec: JSON.stringify(m.fieldsV1).includes('"f:spec"'),
    }));
    expect(byManager).toEqual(
      expect.arrayContaining([
        { manager: 'gitops', subresource: undefined, touchesSpec: true },
        { manager: 'flannel-operator-controller', subresource: 'status', touchesSpec: false },
      ]),
    );
    expect(byManager.filter((m) => m.touchesSpec).map((m) => m.manager)).toEqual(['gitops']);
  });

  it('the reconciled network: kstatus Current (live and from YAML), Argo CD Healthy, Flux Current', async () => {
    const live = await waitKstatus('default', 'Current');
    expect(live.message).toBe('Resource is Ready');
    expect(await gitopsHealth('default')).toEqual({
      argo: {
        status: 'Healthy',
        message: expect.stringMatching(/^2\/2 nodes leased; 2\/\d+ subnets in use$/),
      },
      flux: 'Current',
    });
    const yaml = await kubectl(cp(), ['get', 'flannelnetwork', 'default', '-o', 'yaml']);
    expect(await kstatusOfYaml(yaml.stdout)).toEqual([
      expect.objectContaining({ name: 'default', status: 'Current' }),
    ]);
  });

  it('kstatus: InProgress while Reconciling=True (dataplane rolling out), Current again after', async () => {
    // No nudge: the controller hears DaemonSet status changes (dataplane watch).
    await setDaemonSetStatus(1, 2);
    const progressing = await waitKstatus('default', 'InProgress');
    expect(progressing.message).toContain('dataplane 1/2 ready');
    expect(await gitopsHealth('default')).toEqual({
      argo: {
        status: 'Progressing',
        message: 'DataplaneRollout: dataplane 1/2 ready, 2/2 updated',
      },
      flux: 'InProgress',
    });
    const n = await admin().get<FlannelNetwork>(`${NETWORKS}/default`);
    expect(n.status!.conditions!.find((c) => c.type === 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'DataplaneRollout',
    });
    expect(n.status!.dataplane).toMatchObject({ desired: 2, ready: 1, updated: 2 });

    await setDaemonSetStatus(2, 2);
    await waitKstatus('default', 'Current');
  });

  it('kstatus: InProgress while a new generation is not observed yet', async () => {
    await controller!.stop();
    await admin().patch(`${NETWORKS}/default`, { spec: { ipMasq: false } }, { type: 'merge' });
    const r = await kstatusLive('default');
    expect(r.status).toBe('InProgress');
    expect(r.message).toMatch(/generation is \d+, but latest observed generation is \d+/);
    expect(await gitopsHealth('default')).toEqual({
      argo: {
        status: 'Progressing',
        message: 'Waiting for the controller to observe generation 2',
      },
      flux: 'InProgress',
    });
    controller = await spawnController(cp().kubeconfigPath, [
      `--namespace=${NS}`,
      '--leader-elect=false',
      '--agent-image=example.org/flannel-operator:gitops',
    ]);
    // ipMasq is agent config: the DaemonSet template changed, so the rollout starts over.
    await waitFor('DaemonSet rolled (new generation)', async () => {
      const r = await kstatusLive('default');
      return r.status === 'InProgress' && r.message.includes('dataplane') ? r : undefined;
    });
    await setDaemonSetStatus(2, 2);
    await waitKstatus('default', 'Current');
    // Someone changed the spec by hand; Git takes it back the way Flux and Argo CD do (force).
    await applyServerSide(VXLAN, true);
    await waitFor('rollout of the restored config', async () => {
      const r = await kstatusLive('default');
      return r.status === 'InProgress' && r.message.includes('dataplane') ? r : undefined;
    });
    await setDaemonSetStatus(2, 2);
    await waitKstatus('default', 'Current');
    expect(await diffServerSide(VXLAN)).toEqual({ code: 0, stdout: '' });
  });

  it('kstatus: Failed for a Degraded network (Stalled=True), with the reason in the message', async () => {
    await admin().create(NETWORKS, {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'FlannelNetwork',
      metadata: { name: 'overlapping' },
      spec: { network: '10.244.128.0/17' },
    });
    const failed = await waitKstatus('overlapping', 'Failed');
    expect(failed.message).toContain('overlap FlannelNetwork default');
    expect(await gitopsHealth('overlapping')).toEqual({
      argo: {
        status: 'Degraded',
        message:
          'OverlappingNetwork: CIDRs overlap FlannelNetwork default (10.244.0.0/16), which is older and keeps them',
      },
      flux: 'Failed',
    });
    const n = await admin().get<FlannelNetwork>(`${NETWORKS}/overlapping`);
    const cond = Object.fromEntries(n.status!.conditions!.map((c) => [c.type, c]));
    expect(cond.Degraded).toMatchObject({ status: 'True', reason: 'OverlappingNetwork' });
    expect(cond.Stalled).toMatchObject({ status: 'True', reason: 'OverlappingNetwork' });
    expect(cond.Ready!.status).toBe('False');
    // The older network is unaffected.
    expect((await kstatusLive('default')).status).toBe('Current');

    // Fixed in Git: the overlapping network goes (a network cannot move to another CIDR), a
    // non-overlapping one comes, reads Current, and carries no Stalled condition.
    await admin().delete(`${NETWORKS}/overlapping`);
    await admin().create(NETWORKS, {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'FlannelNetwork',
      metadata: { name: 'second' },
      spec: { network: '10.250.0.0/16', nodeSelector: { matchLabels: { pool: 'none' } } },
    });
    const fixed = await waitFor('second reconciled', async () => {
      const n = await admin().get<FlannelNetwork>(`${NETWORKS}/second`);
      return n.status?.conditions?.length ? n : undefined;
    });
    await waitKstatus('second', 'Current');
    expect(fixed.status!.conditions!.map((c) => c.type).sort()).toEqual([
      'Degraded',
      'Ready',
      'Reconciling',
    ]);
    expect((await kstatusLive('default')).status).toBe('Current');
    expect(await gitopsHealth('second')).toEqual({
      argo: {
        status: 'Healthy',
        message: expect.stringMatching(/^0\/0 nodes leased; 0\/\d+ subnets in use$/),
      },
      flux: 'Current',
    });
    expect((await gitopsHealth('default')).argo.status).toBe('Healthy');
  });

  it('kstatus: a FlannelNetwork the controller has not seen yet is InProgress, not Current', async () => {
    // kstatus judges an object without status.observedGeneration and without conditions as
    // Current: a health check right after `apply` would pass before the controller did anything.
    // A CRD default of status.observedGeneration=0 makes it "generation 1, observed 0" instead.
    const crd = await admin().get<{
      spec: {
        versions: Array<{
          schema: { openAPIV3Schema: { properties: { status: { default?: unknown } } } };
        }>;
      };
    }>(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/flannelnetworks.network.flannel-operator.io',
    );
    const statusDefault = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.status.default;
    await controller!.stop();
    try {
      await admin().create(NETWORKS, {
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'FlannelNetwork',
        metadata: { name: 'unseen' },
        spec: { network: '10.251.0.0/16', nodeSelector: { matchLabels: { pool: 'none' } } },
      });
      const r = await kstatusLive('unseen');
      expect(statusDefault).toEqual({ observedGeneration: 0 });
      expect(r).toMatchObject({
        status: 'InProgress',
        message: 'FlannelNetwork generation is 1, but latest observed generation is 0',
      });
      expect(await gitopsHealth('unseen')).toEqual({
        argo: {
          status: 'Progressing',
          message: 'Waiting for the controller to observe generation 1',
        },
        flux: 'InProgress',
      });
    } finally {
      controller = await spawnController(cp().kubeconfigPath, [
        `--namespace=${NS}`,
        '--leader-elect=false',
        '--agent-image=example.org/flannel-operator:gitops',
      ]);
    }
    await waitFor('unseen reconciled', async () => {
      const n = await admin().get<FlannelNetwork>(`${NETWORKS}/unseen`);
      return n.status?.conditions?.length ? n : undefined;
    });
    await waitKstatus('unseen', 'Current');
  });

  it('Argo CD: the controller-made SubnetLeases are Progressing until an agent reports (agents: test-e2e/agent)', async () => {
    const leases = await admin().list<SubnetLease>(
      '/apis/network.flannel-operator.io/v1alpha1/subnetleases',
      { labelSelector: 'network.flannel-operator.io/network=default' },
    );
    expect(leases.items.map((l) => l.spec.nodeName).sort()).toEqual(NODES);
    expect(await argoHealth(leases.items)).toEqual(
      NODES.map((n) => ({
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'SubnetLease',
        name: `default.${n}`,
        status: 'Progressing',
        message: `Waiting for the agent on node ${n}`,
      })),
    );
  });

  it('Argo CD: every health_test.yaml case passes under gopher-lua (Healthy, Progressing incl. unobserved generation, Degraded)', async () => {
    const { code, cases } = await argoHealthTests();
    expect(cases.filter((c) => !c.pass)).toEqual([]);
    expect(code).toBe(0);
    for (const check of ['FlannelNetwork', 'SubnetLease']) {
      const mine = cases.filter((c) => c.check === `network.flannel-operator.io/${check}`);
      expect(new Set(mine.map((c) => c.want.status))).toEqual(
        new Set(['Healthy', 'Progressing', 'Degraded']),
      );
      expect(mine.map((c) => c.inputPath)).toEqual(
        expect.arrayContaining([
          'testdata/progressing_noStatus.yaml',
          'testdata/progressing_unobservedGeneration.yaml',
        ]),
      );
    }
  });

  it('Argo CD: the runner fails a wrong expectation and a script that needs a library Argo CD withholds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'argo-checks-'));
    try {
      cpSync(ARGO_CHECKS, dir, { recursive: true });
      const tests = join(dir, 'network.flannel-operator.io/SubnetLease/health_test.yaml');
      const yamlText = readFileSync(tests, 'utf8');
      writeFileSync(tests, yamlText.replace('status: Healthy', 'status: Degraded'));
      const wrong = await argoHealthTests(dir);
      expect(wrong.code).toBe(1);
      expect(wrong.cases.filter((c) => !c.pass).map((c) => c.inputPath)).toEqual([
        'testdata/healthy.yaml',
      ]);
      // Argo CD opens only the base, table and package libraries for argocd-cm scripts.
      const script = join(dir, 'network.flannel-operator.io/SubnetLease/health.lua');
      writeFileSync(script, 'return { status = string.format("%s", "Healthy") }\n');
      const [r] = await argoHealth(
        [
          {
            apiVersion: 'network.flannel-operator.io/v1alpha1',
            kind: 'SubnetLease',
            metadata: { name: 'x' },
          },
        ],
        dir,
      );
      expect(r!.error).toMatch(/attempt to index a non-table object\(nil\) with key 'format'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Argo CD: the argocd-cm example carries exactly the tested health.lua scripts', () => {
    const cm = parseAllDocuments(readFileSync(ARGO_CM, 'utf8'))[0]!.toJS() as {
      data: Record<string, string>;
    };
    const key = (kind: string) =>
      `resource.customizations.health.network.flannel-operator.io_${kind}`;
    expect(Object.keys(cm.data).sort()).toEqual([key('FlannelNetwork'), key('SubnetLease')]);
    for (const kind of ['FlannelNetwork', 'SubnetLease']) {
      const script = readFileSync(
        join(ARGO_CHECKS, `network.flannel-operator.io/${kind}/health.lua`),
        'utf8',
      );
      expect(cm.data[key(kind)]).toBe(script);
    }
  });

  it('Flux: the example Kustomization healthCheckExprs cover FlannelNetwork; other kinds are not judged by them', async () => {
    const ks = parseAllDocuments(readFileSync(FLUX_KUSTOMIZATIONS, 'utf8')).map(
      (d) => d.toJS() as { spec: { healthCheckExprs?: Array<Record<string, string>> } },
    );
    const exprs = ks.flatMap((k) => k.spec.healthCheckExprs ?? []);
    expect(exprs.map((e) => [e.apiVersion, e.kind])).toEqual([
      ['network.flannel-operator.io/v1alpha1', 'FlannelNetwork'],
    ]);
    expect(Object.keys(exprs[0]!).sort()).toEqual([
      'apiVersion',
      'current',
      'failed',
      'inProgress',
      'kind',
    ]);
    const lease = {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'SubnetLease',
      metadata: { name: 'x' },
    };
    expect(await fluxStatus([lease])).toEqual([
      expect.objectContaining({
        status: 'Unknown',
        error: expect.stringContaining('no healthCheckExprs'),
      }),
    ]);
  });

  it('every example FlannelNetwork is accepted by the API server (server-side dry run)', async () => {
    const files = readdirSync(EXAMPLES).filter((f) => /^flannelnetwork-.*\.yaml$/.test(f));
    expect(files.sort()).toEqual([
      'flannelnetwork-directrouting.yaml',
      'flannelnetwork-dualstack.yaml',
      'flannelnetwork-host-gw.yaml',
      'flannelnetwork-ipv6only.yaml',
      'flannelnetwork-netpol.yaml',
      'flannelnetwork-vxlan.yaml',
      'flannelnetwork-wireguard.yaml',
    ]);
    for (const f of [...files, 'flux/networks/flannelnetwork.yaml']) {
      // Every example is named `default`; dry-run each as a new object so immutability rules
      // against the live `default` do not mask what the example itself says.
      const docs = parseAllDocuments(readFileSync(join(EXAMPLES, f), 'utf8')).map(
        (d) => d.toJS() as FlannelNetwork,
      );
      expect(docs.map((d) => d.kind)).toEqual(['FlannelNetwork']);
      const obj = { ...docs[0]!, metadata: { name: `example-${f.replace(/[^a-z0-9]+/g, '-')}` } };
      const r = await kubectl(cp(), ['create', '--dry-run=server', '-o', 'name', '-f', '-'], {
        input: JSON.stringify(obj),
      });
      expect({ f, code: r.code, stderr: r.stderr }).toEqual({ f, code: 0, stderr: '' });
    }
  });

  it('the Argo CD and Flux values blocks pass the chart schema and render', async () => {
    const docs = (file: string) =>
      parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8')).map(
        (d) => d.toJS() as { kind: string; spec: Record<string, unknown> },
      );
    const argo = docs('argocd/application.yaml').find((d) => d.kind === 'Application')!;
    const argoValues = (argo.spec.source as { helm: { valuesObject: Record<string, unknown> } })
      .helm.valuesObject;
    const flux = docs('flux/operator/helmrelease.yaml').find((d) => d.kind === 'HelmRelease')!;
    for (const values of [argoValues, flux.spec.values as Record<string, unknown>]) {
      const r = await template(values);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    }
    // The Flux chart path and the Kustomization paths point at real directories.
    const ks = docs('flux/kustomizations.yaml');
    for (const k of ks) {
      const path = (k.spec.path as string).replace(/^\.\//, '');
      expect(readdirSync(join(REPO, path))).toContain('kustomization.yaml');
    }
    const chartPath = (flux.spec.chart as { spec: { chart: string } }).spec.chart.replace(
      /^\.\//,
      '',
    );
    expect(readdirSync(join(REPO, chartPath))).toContain('Chart.yaml');
    expect(ks.find((k) => k.spec.healthChecks)!.spec.healthChecks).toEqual([
      {
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'FlannelNetwork',
        name: 'default',
      },
    ]);
  });
});
