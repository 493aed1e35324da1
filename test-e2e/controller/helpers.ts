/**
 * Helpers for controller integration tests and the controller benchmark: run the real
 * controller binary as a child process, make fake Nodes, wait for conditions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { KubeClient } from '../../src/kube/client.js';
import { StopWaiting, freePort, waitFor } from '../harness/process.js';
import { CLI } from '../harness/prereqs.js';
import { runLimited } from '../../src/kube/limit.js';
import type { SubnetLease, FlannelNetwork } from '../../src/api/index.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

/** Repository root: nearest ancestor with package.json and crds/ (also when compiled into dist-bench/). */
export const REPO = ((): string => {
  let dir = resolve(new URL('.', import.meta.url).pathname);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'crds'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(new URL('.', import.meta.url).pathname, '../..');
    dir = up;
  }
})();
export { CLI };
export const LEASES = '/apis/network.flannel-operator.io/v1alpha1/subnetleases';
export const NETWORKS = '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks';

export { freePort };

export interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  logFile: string;
  exited: Promise<number | null>;
  /** Prometheus text of its /metrics. */
  metrics(): Promise<string>;
  /** Sum of a counter/gauge over all label sets. */
  metric(name: string): Promise<number>;
  /** Resident set size in bytes (from /proc). */
  rss(): number;
  /** User + system CPU seconds used so far (from /proc). */
  cpuSeconds(): number;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  logs(): string;
}

export async function startController(opts: {
  kubeconfigPath: string;
  args?: string[];
  logDir?: string;
  name?: string;
  /** Options for node itself, before the script (the benchmark's --cpu-prof). */
  nodeArgs?: string[];
}): Promise<ControllerProcess> {
  const metricsPort = await freePort();
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'fo-ctrl-'));
  const logFile = join(logDir, `${opts.name ?? 'controller'}-${Date.now()}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      CLI,
      'controller',
      '--kubeconfig',
      opts.kubeconfigPath,
      '--namespace',
      'default',
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
      '--health-probe-bind-address',
      '0',
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code, sig) => res(code ?? (sig ? -1 : null))),
  );
  const proc: ControllerProcess = {
    child,
    pid: child.pid!,
    metricsPort,
    logFile,
    exited,
    async metrics() {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return r.text();
    },
    async metric(name: string) {
      const text = await proc.metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
          sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    },
    cpuSeconds() {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ=100)
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    logs() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  // Wait until the metrics endpoint answers (the process is up).
  await waitFor(
    'controller metrics endpoint',
    async () => {
      if (child.exitCode !== null)
        throw new StopWaiting(`controller exited early (${child.exitCode}):\n${proc.logs()}`);
      try {
        await proc.metrics();
        return true;
      } catch {
        return false;
      }
    },
    20_000,
  );
  return proc;
}

export interface NodeObj {
  metadata: { name: string; uid?: string; labels?: Record<string, string> };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
}

export function nodeBody(
  name: string,
  labels: Record<string, string> = {},
  podCIDR?: string,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
  };
}

export async function createNodes(
  client: KubeClient,
  names: string[],
  labels: Record<string, string> = {},
  concurrency = 16,
): Promise<void> {
  await runLimited(names, concurrency, async (n) => {
    await client.create('/api/v1/nodes', nodeBody(n, labels));
  });
}

export async function deleteAll(
  client: KubeClient,
  path: string,
  labelSelector?: string,
): Promise<void> {
  const { items } = await client.listAll<{ metadata: { name: string } }>(path, { labelSelector });
  await runLimited(items, 16, async (o) => {
    await client.delete(`${path}/${o.metadata.name}`);
  });
}

export async function listLeases(client: KubeClient, network?: string): Promise<SubnetLease[]> {
  const { items } = await client.listAll<SubnetLease>(LEASES, {
    labelSelector: network ? `network.flannel-operator.io/network=${network}` : undefined,
  });
  return items;
}

export async function listNodes(client: KubeClient, labelSelector?: string): Promise<NodeObj[]> {
  return (await client.listAll<NodeObj>('/api/v1/nodes', { labelSelector })).items;
}

export async function getNetwork(client: KubeClient, name: string): Promise<FlannelNetwork> {
  return client.get<FlannelNetwork>(`${NETWORKS}/${name}`);
}

export function condition(n: FlannelNetwork, type: string) {
  return n.status?.conditions?.find((c) => c.type === type);
}

/** Creates (server-side applies, as the user "kubectl") a FlannelNetwork. */
export async function applyNetwork(
  client: KubeClient,
  name: string,
  spec: Record<string, unknown>,
): Promise<FlannelNetwork> {
  return client.apply<FlannelNetwork>(
    {
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'FlannelNetwork',
      metadata: { name },
      spec,
    },
    { fieldManager: 'kubectl', force: true },
  );
}

/** Sets (string) or removes (null) labels of a Node, as `kubectl label node` does. */
export async function labelNode(
  client: KubeClient,
  name: string,
  labels: Record<string, string | null>,
): Promise<void> {
  await client.patch(`/api/v1/nodes/${name}`, { metadata: { labels } }, { type: 'merge' });
}

export interface EventObj {
  reason: string;
  note: string;
  type: string;
  reportingController: string;
  regarding: { kind: string; name: string };
}

/** events.k8s.io/v1 Events with `reason`, in every namespace. */
export async function listEvents(client: KubeClient, reason: string): Promise<EventObj[]> {
  const { items } = await client.listAll<EventObj>('/apis/events.k8s.io/v1/events');
  return items.filter((e) => e.reason === reason);
}

/** podCIDRs that more than one Node holds ("cidr: node,node"); Node.spec.podCIDR is immutable. */
export function sharedPodCIDRs(nodes: NodeObj[]): string[] {
  const byCidr = new Map<string, string[]>();
  for (const n of nodes) {
    for (const c of n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []))
      byCidr.set(c, [...(byCidr.get(c) ?? []), n.metadata.name]);
  }
  return [...byCidr].filter(([, v]) => v.length > 1).map(([k, v]) => `${k}: ${v.join(',')}`);
}

/**
 * Checks the invariants: one lease per node, unique lease subnets, unique Node podCIDRs,
 * node podCIDR == lease subnet.
 */
export function checkInvariants(
  nodes: NodeObj[],
  leases: SubnetLease[],
): {
  duplicates: string[];
  sharedPodCIDRs: string[];
  missing: string[];
  orphans: string[];
  mismatched: string[];
} {
  const bySubnet = new Map<string, string[]>();
  const byNode = new Map<string, SubnetLease[]>();
  for (const l of leases) {
    if (l.spec.subnet)
      bySubnet.set(l.spec.subnet, [...(bySubnet.get(l.spec.subnet) ?? []), l.metadata.name!]);
    byNode.set(l.spec.nodeName, [...(byNode.get(l.spec.nodeName) ?? []), l]);
  }
  const duplicates = [...bySubnet]
    .filter(([, v]) => v.length > 1)
    .map(([k, v]) => `${k}: ${v.join(',')}`);
  const nodeNames = new Set(nodes.map((n) => n.metadata.name));
  const missing = nodes
    .filter((n) => (byNode.get(n.metadata.name)?.length ?? 0) !== 1)
    .map((n) => n.metadata.name);
  const orphans = leases
    .filter((l) => !nodeNames.has(l.spec.nodeName))
    .map((l) => l.metadata.name!);
  const mismatched = nodes
    .filter((n) => {
      const l = byNode.get(n.metadata.name)?.[0];
      return l && n.spec?.podCIDR !== l.spec.subnet;
    })
    .map(
      (n) =>
        `${n.metadata.name}: node=${n.spec?.podCIDR} lease=${byNode.get(n.metadata.name)?.[0]?.spec.subnet}`,
    );
  return { duplicates, sharedPodCIDRs: sharedPodCIDRs(nodes), missing, orphans, mismatched };
}

export function clientFor(kc: KubeConfig): KubeClient {
  return new KubeClient(clientNodeAuth(kc), { userAgent: 'controller-e2e' });
}

export { waitFor };
