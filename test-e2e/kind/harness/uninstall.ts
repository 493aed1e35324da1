/**
 * Scenario f: what `helm uninstall` + deleting the CRDs leaves. API objects of ours must all be gone;
 * on the nodes the agent leaves its dataplane in place by design (README "Uninstall" says what and why),
 * and nodeLeftovers lists exactly that so the test holds the README to the truth.
 */
import type { KindCluster } from './cluster.js';
import { OPERATOR_NAMESPACE } from './env.js';

/** Operator API objects still present (name list), cluster-wide and in the operator namespace. */
export async function operatorObjects(cluster: KindCluster): Promise<string[]> {
  const found: string[] = [];
  const crds = await cluster.kubectl(['get', 'crd', '-o', 'name']);
  found.push(...crds.split('\n').filter((l) => l.includes('flannel-operator.io')));
  for (const kind of [
    'clusterrole',
    'clusterrolebinding',
    'validatingadmissionpolicy',
    'validatingadmissionpolicybinding',
  ]) {
    const out = await cluster.kubectl(['get', kind, '-o', 'name']);
    found.push(...out.split('\n').filter((l) => /flannel/.test(l)));
  }
  const ns = await cluster.kubectl([
    '-n',
    OPERATOR_NAMESPACE,
    'get',
    'daemonset,deployment,replicaset,pod,service,serviceaccount,role,rolebinding,configmap,secret,lease,poddisruptionbudget',
    '-o',
    'name',
  ]);
  found.push(
    ...ns
      .split('\n')
      .filter(Boolean)
      .filter((l) => l !== 'serviceaccount/default' && l !== 'configmap/kube-root-ca.crt'),
  );
  return found;
}

/** What of ours a node still holds, one word each: device, routes, netfilter, files. */
export async function nodeLeftovers(cluster: KindCluster, node: string): Promise<string[]> {
  const checks: Record<string, string> = {
    'flannel.* device': `ip -o link show | grep -q ' flannel\\.'`,
    'routes via flannel.*': `ip route show | grep -q 'dev flannel\\.'`,
    'nft tables flannel-operator-*': `nft list tables | grep -q flannel-operator`,
    '/run/flannel/subnet.env': 'test -e /run/flannel/subnet.env',
    '/etc/cni/net.d/10-flannel.conflist': 'test -e /etc/cni/net.d/10-flannel.conflist',
    '/opt/cni/bin/flannel': 'test -e /opt/cni/bin/flannel',
  };
  const left: string[] = [];
  for (const [what, cmd] of Object.entries(checks)) {
    if ((await cluster.nodeExec(node, cmd)).code === 0) left.push(what);
  }
  return left;
}
