/** Helpers of the CLI integration tests: run the built binary as a real process, make upstream-flannel state. */
import { resolve } from 'node:path';
import type { ControlPlane } from '../harness/control-plane.js';
import { runProcess, type RunResult } from '../harness/process.js';
import { CLI } from '../harness/prereqs.js';

export const REPO = resolve(new URL('.', import.meta.url).pathname, '../..');
export { CLI };

export type CliResult = RunResult;

/** Runs `node dist/cli/main.js ...args`, optionally inside a network namespace. */
export function runCli(
  args: string[],
  opts: { netns?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const [cmd, argv] = opts.netns
    ? ['ip', ['netns', 'exec', opts.netns, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  return runProcess(cmd as string, argv as string[], {
    timeoutMs: opts.timeoutMs ?? 60_000,
    env: { ...process.env, KUBECONFIG: '' },
  });
}

export const FLANNEL_NS = 'kube-flannel';
export const ANN = 'flannel.alpha.coreos.com/';

/** The ConfigMap upstream's kube-flannel.yml installs (net-conf.json as it ships, plus cni-conf.json). */
export function flannelConfigMap(
  name: string,
  netConf: unknown,
  namespace = FLANNEL_NS,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { app: 'flannel', 'k8s-app': 'flannel', tier: 'node' } },
    data: {
      'cni-conf.json': JSON.stringify({
        name: 'cbr0',
        cniVersion: '0.3.1',
        plugins: [
          { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
      'net-conf.json': typeof netConf === 'string' ? netConf : JSON.stringify(netConf, null, 2),
    },
  };
}

export interface FlannelNodeSpec {
  name: string;
  podCIDR?: string;
  ip: string;
  vtepMAC?: string;
  vni?: number;
}

/** A Node as flanneld (kube subnet manager, vxlan) leaves it: podCIDR, InternalIP and its annotations. */
export function flannelNode(n: FlannelNodeSpec): Record<string, unknown> {
  const annotations: Record<string, string> = {
    'node.alpha.kubernetes.io/ttl': '0',
  };
  if (n.vtepMAC) {
    annotations[`${ANN}backend-type`] = 'vxlan';
    annotations[`${ANN}backend-data`] = JSON.stringify({ VNI: n.vni ?? 1, VtepMAC: n.vtepMAC });
    annotations[`${ANN}kube-subnet-manager`] = 'true';
    annotations[`${ANN}public-ip`] = n.ip;
  }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' },
      annotations,
    },
    spec: n.podCIDR ? { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
    },
  };
}

export async function ensureNamespace(cp: ControlPlane, name: string): Promise<void> {
  try {
    await cp.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  } catch (e) {
    if ((e as { status?: number }).status !== 409) throw e;
  }
}
