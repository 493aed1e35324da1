import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeClient } from '../../kube/client.js';
import { clientNodeAuth, loadKubeConfig } from '../../kube/client-node-auth.js';
import { EXIT_RUNTIME, EXIT_USAGE } from '../../cmd/flags.js';
import { CliError } from './errors.js';
import { version } from '../version.js';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
}

/** Credentials as kubectl finds them: --kubeconfig, else $KUBECONFIG / ~/.kube/config, else in-cluster. */
export function kubeConfigFromFlags(flags: KubeFlags): KubeConfig {
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ kubeconfig: flags.kubeconfig });
  } catch (e) {
    throw new CliError(
      `cannot load kubeconfig${flags.kubeconfig ? ` ${flags.kubeconfig}` : ''}: ${(e as Error).message}`,
      'ECLI_KUBECONFIG',
    );
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new CliError(
        `context "${flags.context}" not found in kubeconfig`,
        'ECLI_CONTEXT',
        EXIT_USAGE,
      );
    }
    kc.setCurrentContext(flags.context);
    if (!kc.getCurrentCluster()) {
      throw new CliError(`context "${flags.context}" names no known cluster`, 'ECLI_KUBECONFIG');
    }
  }
  return kc;
}

export function clientFromFlags(flags: KubeFlags): KubeClient {
  return new KubeClient(clientNodeAuth(kubeConfigFromFlags(flags)), {
    userAgent: `kubectl-flannel/${version()}`,
  });
}

/**
 * API errors as a user of the CLI needs them: what went wrong and what to check, with stable codes.
 * Other errors pass through.
 */
export function translateKubeError(e: unknown): unknown {
  if (!(e instanceof KubeApiError)) return e;
  if (e.status === 0)
    return new CliError(
      `cannot reach the API server: ${e.message}`,
      'ECLI_UNREACHABLE',
      EXIT_RUNTIME,
      'check --kubeconfig / --context and that the API server is up',
    );
  // A 404 on a collection, or on an apply (which creates), means the resource type is missing.
  const path = e.path ?? '';
  const crdMissing =
    /\/apis\/network\.flannel-operator\.io\//.test(path) &&
    (/\/(flannelnetworks|subnetleases)$/.test(path.split('?')[0]!) || e.method === 'PATCH');
  if (e.status === 404 && crdMissing)
    return new CliError(
      'the flannel-operator CRDs (flannelnetworks, subnetleases) are not installed',
      'ECLI_NO_CRD',
      EXIT_RUNTIME,
      'install the operator (helm chart) or `flannel-operator crds | kubectl apply -f -` first',
    );
  if (e.status === 401)
    return new CliError(
      `not authenticated: ${e.message}`,
      'ECLI_UNAUTHORIZED',
      EXIT_RUNTIME,
      'your kubeconfig credentials were rejected',
    );
  if (e.status === 403)
    return new CliError(
      `forbidden: ${e.message}`,
      'ECLI_FORBIDDEN',
      EXIT_RUNTIME,
      'status and doctor need get/list on flannelnetworks, subnetleases and nodes; migrate also configmaps and patch on those CRDs and subnetleases/status',
    );
  return e;
}
