import type { SubnetLease, SubnetLeaseSpec } from '../api/index.js';
import type { NodeLike } from './plan.js';

/**
 * Writes this controller sent whose watch event it has not seen yet. A pass plans as if its
 * writes succeed (a failed one fails the pass, which is retried), so the watch events that only
 * show those writes back (one lease ADDED and one Node MODIFIED per node leased) change nothing a
 * new pass would decide: they are recognised here and do not queue one. Expectations are set
 * before the request, so an event that overtakes its response is still recognised.
 */
export class OwnWrites {
  private readonly leases = new Map<string, SubnetLeaseSpec>();
  private readonly podCIDRs = new Map<string, string[]>();

  /** A lease create is about to be sent. */
  expectLease(name: string, spec: SubnetLeaseSpec): void {
    this.leases.set(name, spec);
  }

  /** A node's podCIDR patch is about to be sent. */
  expectPodCIDRs(nodeName: string, podCIDRs: string[]): void {
    this.podCIDRs.set(nodeName, podCIDRs);
  }

  /** The create failed (or the lease is gone): its event, if any, is news. */
  forgetLease(name: string): void {
    this.leases.delete(name);
  }

  /** The patch failed (or the node is gone): its event, if any, is news. */
  forgetNode(nodeName: string): void {
    this.podCIDRs.delete(nodeName);
  }

  /** True when `l` is exactly the lease we created (no status yet); consumes the expectation. */
  isLeaseEcho(l: SubnetLease): boolean {
    const name = l.metadata.name ?? '';
    const sent = this.leases.get(name);
    if (!sent) return false;
    this.leases.delete(name);
    return !l.status && !l.metadata.deletionTimestamp && sameSpec(l.spec, sent);
  }

  /** True when `n` shows the podCIDRs we patched in; consumes the expectation once it has any. */
  isPodCIDREcho(n: NodeLike): boolean {
    const name = n.metadata.name ?? '';
    const sent = this.podCIDRs.get(name);
    if (!sent || !n.spec?.podCIDR) return false;
    this.podCIDRs.delete(name);
    return sameList(n.spec.podCIDRs ?? [n.spec.podCIDR], sent);
  }
}

function sameSpec(a: SubnetLeaseSpec | undefined, b: SubnetLeaseSpec): boolean {
  if (!a) return false;
  const keys = Object.keys(a) as Array<keyof SubnetLeaseSpec>;
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => x === b[i]);
}

function sameLabels(a: Record<string, string> = {}, b: Record<string, string> = {}): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function sameAddresses(a: NodeLike['status'], b: NodeLike['status']): boolean {
  const x = a?.addresses;
  const y = b?.addresses;
  if (x === y) return true;
  if (!x || !y || x.length !== y.length) return false;
  return x.every((p, i) => p.type === y[i]!.type && p.address === y[i]!.address);
}

/**
 * What a Node update changed of what the controller reads: nothing, only its podCIDRs, or more
 * (uid, labels, addresses, deletion). Field by field: it runs for every Node event.
 */
export function nodeChange(old: NodeLike, n: NodeLike): 'none' | 'podCIDRs' | 'other' {
  if (
    old.metadata.uid !== n.metadata.uid ||
    !!old.metadata.deletionTimestamp !== !!n.metadata.deletionTimestamp ||
    !sameLabels(old.metadata.labels, n.metadata.labels) ||
    !sameAddresses(old.status, n.status)
  )
    return 'other';
  const same =
    old.spec?.podCIDR === n.spec?.podCIDR && sameList(old.spec?.podCIDRs, n.spec?.podCIDRs);
  return same ? 'none' : 'podCIDRs';
}
