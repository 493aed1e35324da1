/**
 * What KubeClient needs to reach an API server: where it is, TLS material, request headers.
 * Two implementations: the project's own kubeconfig / in-cluster loader (`kubeconfig.ts`, used by
 * the agent, which must stay small, and the controller) and an adapter over
 * @kubernetes/client-node's KubeConfig (`client-node-auth.ts`: the CLI, and the controller for
 * exec and auth-provider plugins, see `load-auth.ts`).
 */
import { FlannelOperatorError } from '../errors.js';

export interface TlsConfig {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  /** false for insecure-skip-tls-verify. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface KubeAuth {
  /** API server base URL, e.g. https://10.96.0.1:443. */
  readonly server: string;
  /** TLS material; read once, before the first request. */
  tls(): Promise<TlsConfig>;
  /** Headers for the next request (Authorization). Called per request: implementations cache. */
  headers(): Promise<Record<string, string>>;
}

export type KubeConfigErrorCode =
  /** Malformed or inconsistent kubeconfig (missing cluster, unreadable file, bad server URL...). */
  | 'EKUBE_CONFIG'
  /** A kubeconfig feature this loader does not implement (exec, auth-provider, ...). */
  | 'EKUBE_CONFIG_UNSUPPORTED'
  /** No kubeconfig anywhere: no flag, not in a pod, no $KUBECONFIG, no ~/.kube/config. */
  | 'EKUBE_CONFIG_NOT_FOUND'
  /** In a pod, but the service account token or CA is not readable. */
  | 'EKUBE_CONFIG_IN_CLUSTER';

export class KubeConfigError extends FlannelOperatorError {
  constructor(
    message: string,
    readonly code: KubeConfigErrorCode = 'EKUBE_CONFIG',
    /** For EKUBE_CONFIG_UNSUPPORTED: the kubeconfig feature, e.g. `exec`. */
    readonly feature?: string,
  ) {
    super(message);
  }
}
