/**
 * A kind cluster (1 control plane + N workers) on the suite's own dockerd, with the operator installed
 * as users install it: `helm install` of charts/flannel-operator with the image built from the
 * repository's Dockerfile (hack/kind/build.sh). Every image comes from the local node image or
 * `kind load docker-image`; nothing is pulled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labNamespaces } from '../../harness/prereqs.js';
import type { RunResult } from '../../harness/process.js';
import { COREDNS_CONFIGMAP } from './coredns.js';
import {
  CHART,
  NODE_IMAGE,
  OPERATOR_IMAGE,
  OPERATOR_NAMESPACE,
  mustRun,
  runKind,
  type RunOptions,
} from './env.js';

export type Backend = 'vxlan' | 'host-gw' | 'directrouting';

export interface KindClusterOptions {
  /** kind cluster name; node containers are <name>-control-plane, <name>-worker, <name>-worker2... */
  name: string;
  backend: Backend;
  /** IPv4 + IPv6 cluster, FlannelNetwork with ipv6Network (chart podCidrv6). */
  dualStack?: boolean;
  /** netpol.enabled: the kube-network-policies sidecar in every agent pod. */
  netpol?: boolean;
  workers?: number;
}

export interface KindCluster {
  readonly name: string;
  readonly options: KindClusterOptions;
  /** Path of the cluster's kubeconfig. */
  readonly kubeconfig: string;
  /** kubectl --kubeconfig ...: stdout, throws CommandError on a non-zero exit. */
  kubectl(args: string[], opts?: RunOptions): Promise<string>;
  /** kubectl --kubeconfig ...: the whole result, whatever the exit code. */
  kubectlResult(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** helm --kubeconfig ...: stdout, throws on a non-zero exit. */
  helm(args: string[], opts?: RunOptions): Promise<string>;
  /** `sh -c cmd` inside a node container; the result whatever the exit code. */
  nodeExec(node: string, cmd: string, opts?: RunOptions): Promise<RunResult>;
  /** Node container names (= Node names), control plane first. */
  nodes(): Promise<string[]>;
  /** `kind load docker-image` of local images into every node. */
  loadImages(...images: string[]): Promise<void>;
  /** The chart's --set flags for this cluster's options, plus the given values. */
  chartValues(extra?: Record<string, string | number | boolean>): string[];
  destroy(): Promise<void>;
}

export const POD_CIDR_V4 = '10.244.0.0/16';
export const POD_CIDR_V6 = 'fd00:10:244::/56';
const SERVICE_CIDRS = '10.96.0.0/16,fd00:10:96::/112';

export class KindRefusedError extends Error {
  readonly code = 'EKIND_REFUSED';
}

/** The kind config: no default CNI, the chart's pod networks, no kubeadm preflight (VM quirks). */
export function kindConfig(opts: KindClusterOptions): string {
  const nodes = ['  - role: control-plane'];
  for (let i = 0; i < (opts.workers ?? 2); i++) nodes.push('  - role: worker');
  const net = opts.dualStack
    ? [
        '  ipFamily: dual',
        `  podSubnet: "${POD_CIDR_V4},${POD_CIDR_V6}"`,
        `  serviceSubnet: "${SERVICE_CIDRS}"`,
      ]
    : [`  podSubnet: "${POD_CIDR_V4}"`];
  const skipPreflight = (kind: string): string[] => [
    '  - |',
    `    kind: ${kind}`,
    '    skipPhases: [preflight]',
  ];
  return [
    'kind: Cluster',
    'apiVersion: kind.x-k8s.io/v1alpha4',
    'networking:',
    '  disableDefaultCNI: true',
    ...net,
    'kubeadmConfigPatches:',
    ...skipPreflight('InitConfiguration'),
    ...skipPreflight('JoinConfiguration'),
    'nodes:',
    ...nodes,
    '',
  ].join('\n');
}

/** Chart values for the backend, the address families and netpol, the image from hack/kind/build.sh. */
export function chartValues(
  opts: KindClusterOptions,
  extra: Record<string, string | number | boolean> = {},
): string[] {
  const [repository, tag] = OPERATOR_IMAGE.split(':') as [string, string];
  const values: Record<string, string | number | boolean> = {
    'image.repository': repository,
    'image.tag': tag,
    'image.pullPolicy': 'Never',
    podCidr: POD_CIDR_V4,
    'flannel.backend': opts.backend === 'host-gw' ? 'host-gw' : 'vxlan',
    'flannel.directRouting': opts.backend === 'directrouting',
    'netpol.enabled': opts.netpol ?? false,
    ...(opts.dualStack ? { podCidrv6: POD_CIDR_V6 } : {}),
    ...extra,
  };
  return Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`]);
}

function makeCluster(opts: KindClusterOptions, dir: string): KindCluster {
  const kubeconfig = join(dir, 'kubeconfig');
  const kubectlResult = (args: string[], o?: RunOptions): Promise<RunResult> =>
    runKind('kubectl', ['--kubeconfig', kubeconfig, ...args], o);
  return {
    name: opts.name,
    options: opts,
    kubeconfig,
    kubectlResult,
    kubectl: (args, o) => mustRun('kubectl', ['--kubeconfig', kubeconfig, ...args], o),
    helm: (args, o) => mustRun('helm', ['--kubeconfig', kubeconfig, ...args], o),
    nodeExec: (node, cmd, o) => runKind('docker', ['exec', node, 'sh', '-c', cmd], o),
    nodes: async () =>
      (await mustRun('kind', ['get', 'nodes', '--name', opts.name]))
        .split('\n')
        .filter(Boolean)
        .sort(
          (a, b) =>
            Number(!a.endsWith('-control-plane')) - Number(!b.endsWith('-control-plane')) ||
            a.localeCompare(b),
        ),
    loadImages: async (...images) => {
      for (const image of images)
        await mustRun('kind', ['load', 'docker-image', '--name', opts.name, image], {
          timeoutMs: 600_000,
        });
    },
    chartValues: (extra) => chartValues(opts, extra),
    destroy: async () => {
      if (process.env.FLOP_KIND_KEEP === '1') {
        console.warn(`kind cluster ${opts.name} kept (FLOP_KIND_KEEP=1): kubeconfig ${kubeconfig}`);
        return;
      }
      await runKind('kind', ['delete', 'cluster', '--name', opts.name]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates the cluster, installs the operator with `helm install` and waits until the FlannelNetwork is
 * Ready, the agents have rolled out, every node is Ready and CoreDNS answers. Refuses (KindRefusedError)
 * while a netns lab exists: dockerd and the lab rewrite the same host netfilter state.
 */
export async function createKindCluster(opts: KindClusterOptions): Promise<KindCluster> {
  const labs = labNamespaces();
  if (labs.length > 0)
    throw new KindRefusedError(
      `refusing to create kind cluster ${opts.name}: netns lab namespaces exist (${labs.join(', ')})`,
    );
  const dir = mkdtempSync(join(tmpdir(), `flop-kind-${opts.name}-`));
  const cluster = makeCluster(opts, dir);
  try {
    await startCluster(cluster, dir);
    await installOperator(cluster);
    return cluster;
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
}

async function startCluster(cluster: KindCluster, dir: string): Promise<void> {
  const config = join(dir, 'kind.yaml');
  writeFileSync(config, kindConfig(cluster.options));
  await runKind('kind', ['delete', 'cluster', '--name', cluster.name]); // a leftover of a crashed run
  await mustRun(
    'kind',
    ['create', 'cluster', '--name', cluster.name, '--image', NODE_IMAGE, '--config', config],
    { timeoutMs: 600_000 },
  );
  await mustRun('kind', ['get', 'kubeconfig', '--name', cluster.name]).then((k) =>
    writeFileSync(cluster.kubeconfig, k, { mode: 0o600 }),
  );
  // Cluster DNS only: CoreDNS never forwards a query off the machine.
  await cluster.kubectl(['apply', '-f', '-'], { input: COREDNS_CONFIGMAP });
  await cluster.loadImages(OPERATOR_IMAGE);
}

async function installOperator(cluster: KindCluster): Promise<void> {
  await cluster.kubectl(['create', 'namespace', OPERATOR_NAMESPACE]);
  await cluster.kubectl([
    'label',
    'namespace',
    OPERATOR_NAMESPACE,
    'pod-security.kubernetes.io/enforce=privileged',
  ]);
  await cluster.helm(
    [
      'install',
      'flannel-operator',
      CHART,
      '--namespace',
      OPERATOR_NAMESPACE,
      ...cluster.chartValues(),
      '--wait',
      '--timeout',
      '5m',
    ],
    { timeoutMs: 400_000 },
  );
  await waitOperatorReady(cluster);
}

/** FlannelNetwork Ready, agent DaemonSet rolled out, nodes Ready, CoreDNS available. */
export async function waitOperatorReady(cluster: KindCluster): Promise<void> {
  const t = ['--timeout=300s'];
  const o = { timeoutMs: 330_000 };
  await cluster.kubectl(['wait', 'flannelnetwork/default', '--for=condition=Ready', ...t], o);
  await cluster.kubectl(
    ['-n', OPERATOR_NAMESPACE, 'rollout', 'status', 'daemonset/flannel-agent-default', ...t],
    o,
  );
  await cluster.kubectl(['wait', 'nodes', '--all', '--for=condition=Ready', ...t], o);
  await cluster.kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', ...t], o);
}
