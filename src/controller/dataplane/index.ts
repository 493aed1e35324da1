import type { FlannelNetwork } from '../../api/index.js';
import { dataplaneConfigFromEnv } from './config.js';
import type { DataplanePodConfig } from './daemonset.js';
import { DaemonSetRollout, type RolloutDeps } from './rollout.js';

/**
 * Rolls out the per-node dataplane (agent DaemonSet) of one FlannelNetwork.
 * The controller calls `reconcile` on every FlannelNetwork reconcile and `remove` when the network goes.
 * Contract between the controller (src/controller) and the rollout (src/controller/dataplane).
 */
export interface DataplaneStatus {
  desired: number;
  ready: number;
  updated: number;
  configHash: string;
}

export interface DataplaneRollout {
  reconcile(network: FlannelNetwork): Promise<DataplaneStatus>;
  remove(networkName: string): Promise<void>;
  /**
   * Optional: report DaemonSet status changes (pods ready/updated) by network name, so the
   * controller can re-reconcile that network at once. Resolves when watching; returns a stop function.
   */
  watch?(onChange: (networkName: string) => void): Promise<() => void>;
}

export interface DataplaneOptions {
  /** Namespace the DaemonSets run in (the operator's namespace). */
  namespace: string;
  /** Where the agents write their Events (passed as their --events-namespace). */
  eventsNamespace?: string;
  /** Image holding the flannel-operator binary (agent + CNI install). */
  agentImage: string;
  /** Image holding the flannel CNI plugin binary. */
  cniPluginImage?: string;
  /** kube-network-policies image and args (never from a FlannelNetwork: the sidecar is privileged). */
  netpolImage?: string;
  netpolArgs?: string[];
  serviceAccountName?: string;
  /**
   * Agent pod settings (host dirs, resources, tolerations, ...). When absent they are read from
   * the JSON in $FLANNEL_OPERATOR_DATAPLANE (rendered by the Helm chart), else defaults.
   */
  pod?: DataplanePodConfig;
  /** Environment to read FLANNEL_OPERATOR_DATAPLANE / FLANNEL_OPERATOR_AGENT_SERVICE_ACCOUNT from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export type DataplaneDeps = RolloutDeps;

export function createDataplaneRollout(
  deps: DataplaneDeps,
  opts: DataplaneOptions,
): DataplaneRollout {
  const env = opts.env ?? process.env;
  const pod = opts.pod ?? dataplaneConfigFromEnv(env);
  return new DaemonSetRollout(deps, {
    ...pod,
    namespace: opts.namespace,
    eventsNamespace: opts.eventsNamespace,
    agentImage: opts.agentImage,
    cniPluginImage: opts.cniPluginImage,
    netpolImage: opts.netpolImage,
    netpolArgs: opts.netpolArgs,
    serviceAccountName:
      opts.serviceAccountName ?? env.FLANNEL_OPERATOR_AGENT_SERVICE_ACCOUNT ?? undefined,
  });
}

export {
  CONFIG_HASH_ANNOTATION,
  DEFAULT_AGENT_SERVICE_ACCOUNT,
  DEFAULT_CNI_PLUGIN_IMAGE,
  DEFAULT_NETPOL_ARGS,
  DEFAULT_NETPOL_IMAGE,
  DataplaneSpecError,
  daemonSetName,
  desiredDaemonSet,
  nodeRequirements,
  selectorLabels,
  type DaemonSetOptions,
  type DataplanePodConfig,
} from './daemonset.js';
export { DATAPLANE_ENV, DataplaneConfigError, parseDataplaneConfig } from './config.js';
export { rolloutStatus } from './rollout.js';
