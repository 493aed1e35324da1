import type { FlannelNetwork } from '../../api/index.js';

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
}

export interface DataplaneOptions {
  /** Namespace the DaemonSets run in (the operator's namespace). */
  namespace: string;
  /** Image holding the flannel-operator binary (agent + CNI install). */
  agentImage: string;
  /** Image holding the flannel CNI plugin binary. */
  cniPluginImage?: string;
  /** Default kube-network-policies image when a network enables netpol without naming one. */
  netpolImage?: string;
  serviceAccountName?: string;
}

// Placeholder until the rollout lands; replaced by the real implementation.
export function createDataplaneRollout(_deps: unknown, _opts: DataplaneOptions): DataplaneRollout {
  throw new Error('dataplane rollout: not implemented yet');
}
