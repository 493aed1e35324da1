import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1DaemonSet,
  V1NodeSelectorRequirement,
  V1PodSpec,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  FLANNEL_NETWORK,
  GROUP,
  LABEL_NETWORK,
  labelValue,
  shortHash,
  type FlannelNetwork,
  type LabelSelector,
} from '../../api/index.js';
import { AGENT_COMMAND, AGENT_NODE_OPTIONS } from '../../agent/launch.js';
import { FlannelOperatorError } from '../../errors.js';

/**
 * Pure builder of the per-network agent DaemonSet. No I/O: the rollout (rollout.ts) applies
 * what this returns. Everything that must restart the agents when it changes goes into the
 * config hash annotation of the pod template.
 */

export const CONFIG_HASH_ANNOTATION = `${GROUP}/config-hash`;
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const AGENT_APP_NAME = 'flannel-agent';

export const DEFAULT_CNI_PLUGIN_IMAGE = 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel2';

/** The version hack/tools builds; test-e2e/agent/netpol-sidecar.test.ts runs it with these args. */
export const DEFAULT_NETPOL_IMAGE = 'registry.k8s.io/networking/kube-network-policies:v0.8.0';
export const DEFAULT_NETPOL_ARGS = ['--hostname-override=$(MY_NODE_NAME)', '--v=2'];
export const DEFAULT_AGENT_SERVICE_ACCOUNT = 'flannel-operator-agent';
/** Agent ports on the host network: one agent per node (networks do not overlap in nodes). */
export const DEFAULT_AGENT_METRICS_PORT = 9101;
export const DEFAULT_AGENT_HEALTH_PORT = 9102;

/** Object names of one DaemonSet stay DNS labels (<= 63) so pod and revision names derived from them stay valid. */
const MAX_DAEMONSET_NAME = 63;

/** Pod-level settings the chart passes to the controller (env FLANNEL_OPERATOR_DATAPLANE, JSON). */
export interface DataplanePodConfig {
  /** Host directory of CNI plugin binaries. Default /opt/cni/bin. */
  cniBinDir?: string;
  /** Host directory of CNI configs. Default /etc/cni/net.d. */
  cniConfDir?: string;
  /** Path of the flannel CNI binary inside the CNI plugin image. Default /flannel. */
  cniPluginBinary?: string;
  /** Pull policy of the agent (operator) image; the CNI plugin and netpol images use the default. */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets?: string[];
  agentResources?: V1ResourceRequirements;
  netpolResources?: V1ResourceRequirements;
  /** Replaces the default toleration (operator Exists: run on every node, tainted or not). */
  tolerations?: V1Toleration[];
  /** Extra node labels every agent node must carry, ANDed with the network's nodeSelector. */
  nodeSelector?: Record<string, string>;
  priorityClassName?: string;
  /** nftables | iptables; default: the agent picks nftables when usable. */
  netfilter?: 'nftables' | 'iptables';
  metricsPort?: number;
  healthPort?: number;
  logLevel?: string;
  /** Extra agent flags, appended. */
  extraArgs?: string[];
}

export interface DaemonSetOptions extends DataplanePodConfig {
  namespace: string;
  /** Where the agents write their Events (the controller's --events-namespace). */
  eventsNamespace?: string;
  agentImage: string;
  cniPluginImage?: string;
  netpolImage?: string;
  /** kube-network-policies arguments (default DEFAULT_NETPOL_ARGS). */
  netpolArgs?: string[];
  serviceAccountName?: string;
}

export class DataplaneSpecError extends FlannelOperatorError {
  readonly code = 'EDATAPLANE_SPEC';
}

/** `flannel-agent-<network>`; long or odd names are cut and suffixed with a hash of the network name. */
export function daemonSetName(network: string): string {
  const full = `${AGENT_APP_NAME}-${network}`;
  if (full.length <= MAX_DAEMONSET_NAME && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(full))
    return full;
  const hash = shortHash(network);
  const head = full
    .toLowerCase()
    .replace(/[^-a-z0-9]/g, '-')
    .slice(0, MAX_DAEMONSET_NAME - hash.length - 1)
    .replace(/-+$/, '');
  return `${head}-${hash}`;
}

/** Labels selecting the pods of one network's DaemonSet (immutable once created). */
export function selectorLabels(network: string): Record<string, string> {
  return { [NAME_LABEL]: AGENT_APP_NAME, [LABEL_NETWORK]: labelValue(network) };
}

/** metav1.LabelSelector (over Node labels) -> node affinity requirements (one ANDed term). */
export function nodeRequirements(
  selector: LabelSelector | undefined,
  extra: Record<string, string> = {},
): V1NodeSelectorRequirement[] {
  const reqs: V1NodeSelectorRequirement[] = [
    { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
  ];
  const labels = { ...extra, ...(selector?.matchLabels ?? {}) };
  for (const [key, value] of Object.entries(extra)) {
    if (selector?.matchLabels?.[key] !== undefined && selector.matchLabels[key] !== value) {
      throw new DataplaneSpecError(
        `nodeSelector ${key}=${selector.matchLabels[key]} contradicts the operator's node selector ${key}=${value}`,
      );
    }
  }
  for (const key of Object.keys(labels).sort()) {
    reqs.push({ key, operator: 'In', values: [labels[key]!] });
  }
  for (const e of selector?.matchExpressions ?? []) {
    const needsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (needsValues && !(e.values && e.values.length > 0)) {
      throw new DataplaneSpecError(
        `nodeSelector expression on ${e.key}: ${e.operator} needs values`,
      );
    }
    if (!needsValues && e.values && e.values.length > 0) {
      throw new DataplaneSpecError(
        `nodeSelector expression on ${e.key}: ${e.operator} takes no values`,
      );
    }
    reqs.push(
      needsValues
        ? { key: e.key, operator: e.operator, values: [...e.values!] }
        : { key: e.key, operator: e.operator },
    );
  }
  return reqs;
}

/**
 * The parts of a FlannelNetwork the agents read at start-up and that change the kernel state
 * they program. Allocation knobs (subnetLen/Min/Max, reservations) are the controller's: they
 * reach the agents through leases, so they do not restart pods.
 */
export function dataplaneConfig(network: FlannelNetwork): Record<string, unknown> {
  const s = network.spec;
  const b = s.backend ?? {};
  return {
    network: s.network ?? null,
    ipv6Network: s.ipv6Network ?? null,
    backend: {
      type: b.type ?? 'vxlan',
      vni: b.vni ?? 1,
      port: b.port ?? 8472,
      mtu: b.mtu ?? null,
      directRouting: b.directRouting ?? false,
      gbp: b.gbp ?? false,
    },
    ipMasq: s.ipMasq ?? true,
    netpol: { enabled: s.netpol?.enabled ?? false },
  };
}

/** sha256 of canonical JSON (sorted keys), 16 hex digits. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

const WIREGUARD_KEY_DIR = '/var/lib/flannel-operator/wireguard';
const WIREGUARD_PSK_DIR = '/etc/flannel-operator/wireguard-psk';

/**
 * A wireguard network's agent: the key directory on the host (the key survives pod restarts and
 * upgrades), a writable /run/wireguard for wireguard-go's UAPI socket (the root filesystem is
 * read-only), and the pre-shared key as a Secret volume: kubelet fetches it, so the agent's
 * service account needs no Secret access at all.
 */
function wireguardPodParts(network: FlannelNetwork): {
  args: string[];
  mounts: V1VolumeMount[];
  volumes: V1Volume[];
} {
  const args = [`--wireguard-key-file=${WIREGUARD_KEY_DIR}/private.key`];
  const mounts: V1VolumeMount[] = [
    { name: 'wireguard-key', mountPath: WIREGUARD_KEY_DIR },
    { name: 'wireguard-run', mountPath: '/run/wireguard' },
  ];
  const volumes: V1Volume[] = [
    hostPath('wireguard-key', WIREGUARD_KEY_DIR, 'DirectoryOrCreate'),
    { name: 'wireguard-run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
  ];
  const ref = network.spec.backend.pskSecretRef;
  if (ref) {
    args.push(`--wireguard-psk-file=${WIREGUARD_PSK_DIR}/psk`);
    mounts.push({ name: 'wireguard-psk', mountPath: WIREGUARD_PSK_DIR, readOnly: true });
    volumes.push({
      name: 'wireguard-psk',
      secret: {
        secretName: ref.name,
        items: [{ key: ref.key ?? 'psk', path: 'psk' }],
        defaultMode: 0o400,
      },
    });
  }
  return { args, mounts, volumes };
}

function hostPath(name: string, path: string, type: string): V1Volume {
  return { name, hostPath: { path, type } };
}

/**
 * The DaemonSet running the agent of `network` on every node it serves.
 * Throws DataplaneSpecError for a spec it cannot express (the controller reports it).
 */
export function desiredDaemonSet(network: FlannelNetwork, opts: DaemonSetOptions): V1DaemonSet {
  const name = network.metadata.name;
  if (!name) throw new DataplaneSpecError('FlannelNetwork without metadata.name');
  if (!opts.agentImage) throw new DataplaneSpecError('no agent image configured');
  const cniBinDir = opts.cniBinDir ?? '/opt/cni/bin';
  const cniConfDir = opts.cniConfDir ?? '/etc/cni/net.d';
  const metricsPort = opts.metricsPort ?? DEFAULT_AGENT_METRICS_PORT;
  const healthPort = opts.healthPort ?? DEFAULT_AGENT_HEALTH_PORT;
  const pull = opts.imagePullPolicy ? { imagePullPolicy: opts.imagePullPolicy } : {};
  const nodeNameEnv = (envName: string) => ({
    name: envName,
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
  });

  const agentArgs = [
    '--network',
    name,
    '--cni-conf-dir',
    '/etc/cni/net.d',
    '--subnet-file',
    '/run/flannel/subnet.env',
    `--metrics-bind-address=:${metricsPort}`,
    `--health-probe-bind-address=:${healthPort}`,
  ];
  if (opts.eventsNamespace) agentArgs.push(`--events-namespace=${opts.eventsNamespace}`);
  if (opts.netfilter) agentArgs.push(`--netfilter=${opts.netfilter}`);
  if (opts.logLevel) agentArgs.push(`--log-level=${opts.logLevel}`);
  agentArgs.push(...(opts.extraArgs ?? []));

  const agent: V1Container = {
    name: 'agent',
    image: opts.agentImage,
    ...pull,
    // From the snapshot the image build makes (agent/launch.ts, agent/snapshot.ts).
    command: AGENT_COMMAND,
    args: agentArgs,
    env: [
      nodeNameEnv('NODE_NAME'),
      {
        name: 'POD_NAMESPACE',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
      },
      { name: 'FLANNEL_NETWORK_NAME', value: name },
      // Less RSS on every node for no CPU to converge (AGENT_NODE_OPTIONS says what and why).
      { name: 'NODE_OPTIONS', value: AGENT_NODE_OPTIONS },
    ],
    ports: [
      { name: 'metrics', containerPort: metricsPort, protocol: 'TCP' },
      { name: 'health', containerPort: healthPort, protocol: 'TCP' },
    ],
    // The agent programs links, routes, neighbours, FDB and netfilter: root with NET_ADMIN/NET_RAW,
    // not privileged. It writes only under the mounted host paths.
    securityContext: {
      privileged: false,
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: healthPort, host: '127.0.0.1' },
      periodSeconds: 5,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: healthPort, host: '127.0.0.1' },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      failureThreshold: 6,
    },
    resources: opts.agentResources ?? {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { memory: '256Mi' },
    },
    volumeMounts: [
      { name: 'run-flannel', mountPath: '/run/flannel' },
      { name: 'cni-conf', mountPath: '/etc/cni/net.d' },
      { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };

  // The flannel CNI plugin binary comes from its own image. The conflist is NOT installed by an
  // init container: the agent writes subnet.env and 10-flannel.conflist itself once it holds a
  // lease, so kubelet only sees a CNI config when pods can actually be wired.
  const installPlugin: V1Container = {
    name: 'install-cni-plugin',
    image: opts.cniPluginImage ?? DEFAULT_CNI_PLUGIN_IMAGE,
    command: ['cp'],
    args: ['-f', opts.cniPluginBinary ?? '/flannel', '/opt/cni/bin/flannel'],
    securityContext: { allowPrivilegeEscalation: false, runAsUser: 0 },
    resources: { requests: { cpu: '10m', memory: '16Mi' } },
    volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
  };

  const volumes: V1Volume[] = [
    hostPath('run-flannel', '/run/flannel', 'DirectoryOrCreate'),
    hostPath('cni-plugin', cniBinDir, 'DirectoryOrCreate'),
    hostPath('cni-conf', cniConfDir, 'DirectoryOrCreate'),
    hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];
  const containers: V1Container[] = [agent];

  if (network.spec.backend?.type === 'wireguard') {
    const wg = wireguardPodParts(network);
    agentArgs.push(...wg.args);
    agent.volumeMounts!.push(...wg.mounts);
    volumes.push(...wg.volumes);
  }

  const netpol = network.spec.netpol;
  if (netpol?.enabled) {
    containers.push({
      name: 'kube-network-policies',
      // Operator configuration only: a FlannelNetwork editor must not choose what runs privileged.
      image: opts.netpolImage ?? DEFAULT_NETPOL_IMAGE,
      command: ['/bin/netpol'],
      args: opts.netpolArgs ?? DEFAULT_NETPOL_ARGS,
      env: [nodeNameEnv('MY_NODE_NAME')],
      // NFQUEUE, nftables and conntrack labels: the sidecar needs a privileged container.
      securityContext: { privileged: true },
      resources: opts.netpolResources ?? {
        requests: { cpu: '50m', memory: '64Mi' },
        limits: { memory: '256Mi' },
      },
      volumeMounts: [{ name: 'lib-modules', mountPath: '/lib/modules', readOnly: true }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
    volumes.push(hostPath('lib-modules', '/lib/modules', 'Directory'));
  }

  const labels = {
    ...selectorLabels(name),
    [COMPONENT_LABEL]: 'dataplane',
    [MANAGED_BY_LABEL]: 'flannel-operator',
  };
  const podSpec: V1PodSpec = {
    serviceAccountName: opts.serviceAccountName ?? DEFAULT_AGENT_SERVICE_ACCOUNT,
    automountServiceAccountToken: true,
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    priorityClassName: opts.priorityClassName ?? 'system-node-critical',
    terminationGracePeriodSeconds: 30,
    tolerations: opts.tolerations ?? [{ operator: 'Exists' }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: nodeRequirements(network.spec.nodeSelector, opts.nodeSelector) },
          ],
        },
      },
    },
    ...(opts.imagePullSecrets?.length
      ? { imagePullSecrets: opts.imagePullSecrets.map((n) => ({ name: n })) }
      : {}),
    initContainers: [installPlugin],
    containers,
    volumes,
  };
  // The template changes (images, ports, selector) roll the pods by themselves; the hash adds
  // the network config the agents only read at start-up, and makes "which config runs" visible.
  const configHash = hashOf({ config: dataplaneConfig(network), pod: podSpec });

  const ds: V1DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: daemonSetName(name),
      namespace: opts.namespace,
      labels,
      annotations: { [CONFIG_HASH_ANNOTATION]: configHash },
      ownerReferences: network.metadata.uid
        ? [
            {
              apiVersion: network.apiVersion ?? API_VERSION,
              kind: network.kind ?? FLANNEL_NETWORK.kind,
              name,
              uid: network.metadata.uid,
              controller: true,
              // false: blocking owner deletion needs update rights on flannelnetworks/finalizers.
              blockOwnerDeletion: false,
            },
          ]
        : undefined,
    },
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      minReadySeconds: 0,
      revisionHistoryLimit: 5,
      template: {
        metadata: { labels, annotations: { [CONFIG_HASH_ANNOTATION]: configHash } },
        spec: podSpec,
      },
    },
  };
  if (!ds.metadata!.ownerReferences) delete ds.metadata!.ownerReferences;
  return ds;
}

/** Config hash a DaemonSet (desired or live) carries. */
export function configHashOf(ds: V1DaemonSet | undefined): string | undefined {
  return ds?.spec?.template?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
}
