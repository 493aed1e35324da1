/**
 * Credentials for the controller: the small loader (kubeconfig.ts) for what it implements, which
 * covers in-cluster service accounts, client certificates and tokens; @kubernetes/client-node
 * (client-node-auth.ts) only for a kubeconfig that needs what the small loader refuses (exec and
 * auth-provider plugins, basic auth, impersonation). client-node is imported only then: it costs
 * about a second of start-up and ~80 MiB of RSS that an in-cluster controller never needs.
 */
import { KubeConfigError, type KubeAuth } from './auth.js';
import { loadKubeAuth, type LoadOptions } from './kubeconfig.js';

export async function loadKubeAuthWithPlugins(opts: LoadOptions = {}): Promise<KubeAuth> {
  try {
    return loadKubeAuth(opts);
  } catch (err) {
    if (!(err instanceof KubeConfigError) || err.code !== 'EKUBE_CONFIG_UNSUPPORTED') throw err;
    // Only a kubeconfig file gets here (in-cluster never needs a plugin), so client-node's own
    // lookup order finds the same file: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
    const { clientNodeAuth, loadKubeConfig } = await import('./client-node-auth.js');
    return clientNodeAuth(loadKubeConfig({ kubeconfig: opts.kubeconfig }));
  }
}
