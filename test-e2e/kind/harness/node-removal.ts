/**
 * Scenario d: what the remaining nodes still hold for a removed node: routes to its pod subnet,
 * neighbour entries for its subnet on flannel.*, FDB entries pointing at its node IP.
 */
import type { KindCluster } from './cluster.js';

/** The node's own pod subnet, from the subnet.env its agent wrote (FLANNEL_SUBNET=10.244.2.1/24). */
export async function nodeSubnet(cluster: KindCluster, node: string): Promise<string> {
  const r = await cluster.nodeExec(node, 'cat /run/flannel/subnet.env');
  const m = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.\d+\/(\d+)$/m.exec(r.stdout);
  if (!m) throw new Error(`no FLANNEL_SUBNET in ${node}'s subnet.env: ${r.stdout} ${r.stderr}`);
  return `${m[1]}.0/${m[2]}`;
}

/** Lines on `node` that still refer to the removed peer (route, neighbour, FDB); empty when clean. */
export async function peerState(
  cluster: KindCluster,
  node: string,
  subnet: string,
  peerIP: string,
): Promise<string[]> {
  const net = subnet.split('/')[0]!;
  const r = await cluster.nodeExec(
    node,
    `ip route show ${subnet}; ip neigh show | grep -F '${net} ' ; bridge fdb show | grep -F 'dst ${peerIP} '; true`,
  );
  if (r.code !== 0) throw new Error(`peer state on ${node}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}
