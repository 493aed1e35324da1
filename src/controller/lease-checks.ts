import type { SubnetLease } from '../api/index.js';
import { tryParseIp } from '../ipam/cidr.js';
import { duplicateProblems, leaseFieldProblems, peerOfLease } from '../agent/peers.js';
import type { NodeLike } from './plan.js';

/**
 * Lease status is written by each node's agent, so the controller double-checks it: a VTEP MAC
 * another (older) lease already publishes, a VTEP MAC or address that cannot be a peer's, or a
 * publicIP that is not one of the Node's addresses. Such a lease gets BackendRejected=True and a
 * Warning Event; agents skip it. Pure: the same peer checks the agents run (src/agent/peers.ts).
 */

export type RejectReason = 'DuplicateBackendData' | 'InvalidBackendData' | 'PublicIPNotNodeAddress';

export interface LeaseRejection {
  reason: RejectReason;
  message: string;
}

/** Node addresses peers may send to: InternalIP and ExternalIP, canonical. */
export function nodeAddresses(node: NodeLike | undefined): Set<string> {
  const out = new Set<string>();
  for (const a of node?.status?.addresses ?? []) {
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') continue;
    const ip = tryParseIp(a.address);
    if (ip) out.add(`${ip.family}/${ip.addr}`);
  }
  return out;
}

/** publicIP(v6) problems against the Node's addresses; a family the Node lists none of is not checked. */
function addressMismatches(l: SubnetLease, node: NodeLike | undefined): string[] {
  const addrs = nodeAddresses(node);
  const out: string[] = [];
  for (const f of ['publicIP', 'publicIPv6'] as const) {
    const ip = tryParseIp(l.status?.[f]);
    if (!ip) continue;
    const ofFamily = [...addrs].filter((a) => a.startsWith(`${ip.family}/`));
    if (ofFamily.length > 0 && !addrs.has(`${ip.family}/${ip.addr}`))
      out.push(
        `${f} ${l.status![f]} is not an address of Node ${l.spec.nodeName} (InternalIP/ExternalIP)`,
      );
  }
  return out;
}

/**
 * The leases of one network to flag, by lease name. `uniqueAddresses`: routes go via publicIP
 * (host-gw, DirectRouting), so an address may be published by one lease only.
 */
export function rejectLeases(
  leases: readonly SubnetLease[],
  nodes: ReadonlyMap<string, NodeLike>,
  opts: { uniqueAddresses: boolean; verifyPublicIP: boolean },
): Map<string, LeaseRejection> {
  const live = leases.filter((l) => !l.metadata.deletionTimestamp);
  const peers = live.map(peerOfLease);
  const dups = duplicateProblems(peers, opts);
  const out = new Map<string, LeaseRejection>();
  live.forEach((l, i) => {
    const name = l.metadata.name ?? '';
    const invalid = leaseFieldProblems(peers[i]!);
    const mismatch = opts.verifyPublicIP ? addressMismatches(l, nodes.get(l.spec.nodeName)) : [];
    const dup = dups.get(l.spec.nodeName) ?? [];
    if (invalid.length)
      out.set(name, { reason: 'InvalidBackendData', message: invalid.join('; ') });
    else if (mismatch.length)
      out.set(name, { reason: 'PublicIPNotNodeAddress', message: mismatch.join('; ') });
    else if (dup.length) out.set(name, { reason: 'DuplicateBackendData', message: dup.join('; ') });
  });
  return out;
}
