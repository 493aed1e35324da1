/**
 * Scenario g: the kube-network-policies sidecar. Whether the node kernel can queue packets to user space
 * (nft `queue`, CONFIG_NFT_QUEUE) decides whether enforcement can be checked at all.
 */
import type { KindCluster } from './cluster.js';

export const NFT_QUEUE_UNSUPPORTED =
  'NetworkPolicy enforcement not checkable: kernel lacks nft queue';

/** Tries to create an nft rule with a `queue` verdict in a throwaway table on the node. */
export async function nodeKernelHasNftQueue(
  cluster: KindCluster,
  node: string,
): Promise<{ ok: boolean; detail: string }> {
  const table = 'fo_queue_probe';
  const r = await cluster.nodeExec(
    node,
    `nft add table inet ${table} && nft add chain inet ${table} c '{ type filter hook forward priority 0; policy accept; }' && ` +
      `nft add rule inet ${table} c meta l4proto sctp queue num 100 bypass; rc=$?; nft delete table inet ${table} 2>/dev/null; exit $rc`,
  );
  return { ok: r.code === 0, detail: (r.stderr || r.stdout).trim() };
}

export function networkPolicyManifest(namespace: string): string {
  return JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'only-allowed', namespace },
    spec: {
      podSelector: { matchLabels: { app: 'fo-np-server' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { access: 'allowed' } } }] }],
    },
  });
}
