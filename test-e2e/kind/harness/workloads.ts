/**
 * Test workloads on a kind cluster: one agnhost netexec pod per node (a DaemonSet) behind a ClusterIP
 * Service, and the checks run from inside those pods with agnhost's curl and dig.
 */
import { isIPv6 } from 'node:net';
import type { KindCluster } from './cluster.js';
import { AGNHOST_IMAGE, mustRun, runKind } from './env.js';
import type { RunResult } from '../../harness/process.js';

export const TEST_NAMESPACE = 'fo-e2e';
export const NETEXEC_PORT = 8080;

export interface TestPod {
  name: string;
  node: string;
  hostIP: string;
  /** Pod IPs, IPv4 first when dual-stack. */
  ips: string[];
}

function netexecManifest(dualStack: boolean): string {
  const ds = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'netexec', namespace: TEST_NAMESPACE },
    spec: {
      selector: { matchLabels: { app: 'netexec' } },
      template: {
        metadata: { labels: { app: 'netexec' } },
        spec: {
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'netexec',
              image: AGNHOST_IMAGE,
              args: ['netexec', `--http-port=${NETEXEC_PORT}`],
              ports: [{ containerPort: NETEXEC_PORT }],
              readinessProbe: {
                httpGet: { path: '/healthz', port: NETEXEC_PORT },
                periodSeconds: 2,
              },
            },
          ],
        },
      },
    },
  };
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'netexec', namespace: TEST_NAMESPACE },
    spec: {
      selector: { app: 'netexec' },
      ports: [{ port: NETEXEC_PORT, targetPort: NETEXEC_PORT }],
      ...(dualStack ? { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] } : {}),
    },
  };
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [ds, svc] });
}

/** Deploys the netexec DaemonSet + Service and waits until a pod runs Ready on every node. */
export async function deployNetexec(cluster: KindCluster): Promise<TestPod[]> {
  const ns = await cluster.kubectlResult(['get', 'namespace', TEST_NAMESPACE]);
  if (ns.code !== 0) await cluster.kubectl(['create', 'namespace', TEST_NAMESPACE]);
  await cluster.kubectl(['apply', '-f', '-'], {
    input: netexecManifest(!!cluster.options.dualStack),
  });
  await cluster.kubectl(
    ['-n', TEST_NAMESPACE, 'rollout', 'status', 'daemonset/netexec', '--timeout=180s'],
    { timeoutMs: 200_000 },
  );
  return testPods(cluster);
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName: string };
  status: { hostIP?: string; podIPs?: { ip: string }[]; phase?: string };
}

export async function testPods(cluster: KindCluster): Promise<TestPod[]> {
  const out = await cluster.kubectl([
    '-n',
    TEST_NAMESPACE,
    'get',
    'pods',
    '-l',
    'app=netexec',
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: PodJson[] }).items
    .filter((p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running')
    .map((p) => ({
      name: p.metadata.name,
      node: p.spec.nodeName,
      hostIP: p.status.hostIP ?? '',
      ips: (p.status.podIPs ?? [])
        .map((i) => i.ip)
        .sort((a, b) => Number(isIPv6(a)) - Number(isIPv6(b))),
    }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** `sh -c script` in a test pod. */
export function podSh(
  cluster: KindCluster,
  pod: string,
  script: string,
  timeoutMs = 120_000,
): Promise<RunResult> {
  return cluster.kubectlResult(['-n', TEST_NAMESPACE, 'exec', pod, '--', 'sh', '-c', script], {
    timeoutMs,
  });
}

export function hostPort(ip: string, port = NETEXEC_PORT): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The client address a netexec server saw ("[ip]:port" or "ip:port"), without the port. */
export function clientAddress(clientip: string): string {
  const s = clientip.trim();
  return s.startsWith('[') ? s.slice(1, s.indexOf(']')) : s.slice(0, s.lastIndexOf(':'));
}

/**
 * From every pod, GET /clientip of every target; returns one line per failed pair: unreachable, or the
 * server saw another source than the client pod's own IP of that family (pod-to-pod keeps pod IPs).
 */
export async function tcpMatrix(
  cluster: KindCluster,
  pods: TestPod[],
  family: 4 | 6,
): Promise<string[]> {
  const ipOf = (p: TestPod): string | undefined =>
    p.ips.find((ip) => isIPv6(ip) === (family === 6));
  const failures: string[] = [];
  for (const src of pods) {
    const targets = pods.map(ipOf).filter((ip): ip is string => !!ip);
    const script = targets
      .map((ip) => `printf '%s ' ${ip}; curl -sS -m 5 http://${hostPort(ip)}/clientip 2>&1; echo`)
      .join('; ');
    const r = await podSh(cluster, src.name, script);
    const seen = new Map(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const),
    );
    for (const ip of targets) {
      const answer = seen.get(ip) ?? `no answer (${r.stderr.trim()})`;
      if (clientAddress(answer) !== ipOf(src)) failures.push(`${src.node} -> ${ip}: ${answer}`);
    }
  }
  return failures;
}

/** A netexec container on the kind docker network, standing for a host outside the cluster. */
export async function startOutsideServer(
  name: string,
): Promise<{ ip: string; stop: () => Promise<void> }> {
  await runKind('docker', ['rm', '-f', name]);
  await mustRun('docker', [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'kind',
    AGNHOST_IMAGE,
    'netexec',
    `--http-port=${NETEXEC_PORT}`,
  ]);
  const ip = (
    await mustRun('docker', [
      'inspect',
      '-f',
      '{{ .NetworkSettings.Networks.kind.IPAddress }}',
      name,
    ])
  ).trim();
  return { ip, stop: async () => void (await runKind('docker', ['rm', '-f', name])) };
}
