/** The installed operator seen from the cluster: agent pods, the controller leader, helm upgrades. */
import type { KindCluster } from './cluster.js';
import { CHART, OPERATOR_NAMESPACE } from './env.js';
import { waitFor } from '../../harness/process.js';

export const AGENT_DAEMONSET = 'flannel-agent-default';
export const LEADER_LEASE = 'flannel-operator-controller';

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName: string };
  status: { containerStatuses?: { name: string; ready: boolean; restartCount: number }[] };
}

export interface AgentPod {
  name: string;
  uid: string;
  node: string;
  containers: { name: string; ready: boolean; restartCount: number }[];
}

export async function agentPods(cluster: KindCluster): Promise<AgentPod[]> {
  const out = await cluster.kubectl([
    '-n',
    OPERATOR_NAMESPACE,
    'get',
    'pods',
    '-l',
    `app.kubernetes.io/name=flannel-agent`,
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: PodJson[] }).items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      node: p.spec.nodeName,
      containers: p.status.containerStatuses ?? [],
    }));
}

export async function agentRolledOut(cluster: KindCluster): Promise<void> {
  await cluster.kubectl(
    [
      '-n',
      OPERATOR_NAMESPACE,
      'rollout',
      'status',
      `daemonset/${AGENT_DAEMONSET}`,
      '--timeout=300s',
    ],
    {
      timeoutMs: 330_000,
    },
  );
}

/**
 * The controller pods on the node of the leader (host network: the Lease identity is
 * "<node hostname>_<random>"), so deleting them deletes the leader.
 */
export async function leaderControllerPods(
  cluster: KindCluster,
  leader: string,
): Promise<string[]> {
  const node = holderNode(leader);
  const out = await cluster.kubectl([
    '-n',
    OPERATOR_NAMESPACE,
    'get',
    'pods',
    '-l',
    'app.kubernetes.io/component=controller',
    '--field-selector',
    `spec.nodeName=${node}`,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return out.trim().split(/\s+/).filter(Boolean);
}

/** The node of a leader Lease holder ("<node hostname>_<random>"). */
export const holderNode = (holder: string): string => holder.slice(0, holder.lastIndexOf('_'));

/** The controller's leader Lease holder ("<hostname>_<random>"). */
export async function controllerLeader(cluster: KindCluster): Promise<string> {
  const holder = await cluster.kubectl([
    '-n',
    OPERATOR_NAMESPACE,
    'get',
    'lease',
    LEADER_LEASE,
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  return holder.trim();
}

/** `helm upgrade --reuse-values` with extra values; waits for the chart's own resources. */
export async function helmUpgrade(
  cluster: KindCluster,
  values: Record<string, string | number | boolean>,
): Promise<void> {
  const set = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`]);
  await cluster.helm(
    [
      'upgrade',
      'flannel-operator',
      CHART,
      '-n',
      OPERATOR_NAMESPACE,
      '--reuse-values',
      ...set,
      '--wait',
      '--timeout',
      '5m',
    ],
    {
      timeoutMs: 330_000,
    },
  );
}

/** Waits until the agent DaemonSet's pod template satisfies `pred` and the rollout is complete. */
export async function waitAgentTemplate(
  cluster: KindCluster,
  what: string,
  pred: (templateJson: string) => boolean,
): Promise<void> {
  await waitFor(
    `agent DaemonSet template: ${what}`,
    async () =>
      pred(
        await cluster.kubectl([
          '-n',
          OPERATOR_NAMESPACE,
          'get',
          'daemonset',
          AGENT_DAEMONSET,
          '-o',
          'jsonpath={.spec.template}',
        ]),
      ),
    180_000,
    1_000,
  );
  await agentRolledOut(cluster);
}
