import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, loadKubeConfig } from '../../kube/client.js';
import { CliError, UsageError } from './errors.js';
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
      throw new UsageError(`context "${flags.context}" not found in kubeconfig`, 'ECLI_CONTEXT');
    }
    kc.setCurrentContext(flags.context);
    if (!kc.getCurrentCluster()) {
      throw new CliError(`context "${flags.context}" names no known cluster`, 'ECLI_KUBECONFIG');
    }
  }
  return kc;
}

export function clientFromFlags(flags: KubeFlags): KubeClient {
  return new KubeClient(kubeConfigFromFlags(flags), { userAgent: `kubectl-flannel/${version()}` });
}
