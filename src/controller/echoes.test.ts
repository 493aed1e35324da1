import type { SubnetLease } from '../api/index.js';
import { OwnWrites, nodeChange } from './echoes.js';
import type { NodeLike } from './plan.js';

const spec = { nodeName: 'n1', networkName: 'net', subnet: '10.0.1.0/24' };
const lease = (extra: Partial<SubnetLease> = {}): SubnetLease => ({
  metadata: { name: 'net.n1', uid: 'u1' },
  spec: { ...spec },
  ...extra,
});
const node = (podCIDRs?: string[], extra: Partial<NodeLike['metadata']> = {}): NodeLike => ({
  metadata: { name: 'n1', uid: 'u1', labels: { a: '1' }, ...extra },
  spec: podCIDRs ? { podCIDR: podCIDRs[0], podCIDRs } : {},
});

describe('OwnWrites', () => {
  it('recognises the lease it created once, and nothing it did not create', () => {
    const w = new OwnWrites();
    expect(w.isLeaseEcho(lease())).toBe(false);
    w.expectLease('net.n1', spec);
    expect(w.isLeaseEcho(lease())).toBe(true);
    expect(w.isLeaseEcho(lease())).toBe(false);
  });

  it('treats a lease that differs from what was sent (status, spec, deletion) as news', () => {
    const w = new OwnWrites();
    const variants = [
      lease({ status: { conditions: [] } }),
      lease({ spec: { ...spec, subnet: '10.0.2.0/24' } }),
      lease({ spec: { ...spec, ipv6Subnet: 'fd00::/64' } }),
      lease({ metadata: { name: 'net.n1', deletionTimestamp: '2026-01-01T00:00:00Z' } }),
    ];
    for (const v of variants) {
      w.expectLease('net.n1', spec);
      expect(w.isLeaseEcho(v)).toBe(false);
    }
  });

  it('forgets a failed create', () => {
    const w = new OwnWrites();
    w.expectLease('net.n1', spec);
    w.forgetLease('net.n1');
    expect(w.isLeaseEcho(lease())).toBe(false);
  });

  it('recognises the podCIDRs it patched in, once they show', () => {
    const w = new OwnWrites();
    w.expectPodCIDRs('n1', ['10.0.1.0/24']);
    expect(w.isPodCIDREcho(node())).toBe(false); // not there yet: still expected
    expect(w.isPodCIDREcho(node(['10.0.1.0/24']))).toBe(true);
    expect(w.isPodCIDREcho(node(['10.0.1.0/24']))).toBe(false);
    w.expectPodCIDRs('n1', ['10.0.1.0/24']);
    expect(w.isPodCIDREcho(node(['10.0.9.0/24']))).toBe(false);
    w.expectPodCIDRs('n1', ['10.0.1.0/24']);
    w.forgetNode('n1');
    expect(w.isPodCIDREcho(node(['10.0.1.0/24']))).toBe(false);
  });
});

describe('nodeChange', () => {
  it('tells no change, a podCIDR-only change and other changes apart', () => {
    expect(nodeChange(node(), node())).toBe('none');
    expect(nodeChange(node(), node(['10.0.1.0/24']))).toBe('podCIDRs');
    expect(nodeChange(node(), node(undefined, { labels: { a: '2' } }))).toBe('other');
    expect(nodeChange(node(), node(undefined, { labels: { a: '1', b: '1' } }))).toBe('other');
    expect(nodeChange(node(), node(undefined, { uid: 'u2' }))).toBe('other');
    expect(nodeChange(node(), node(undefined, { deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBe(
      'other',
    );
    const withAddr = (address: string): NodeLike => ({
      ...node(),
      status: { addresses: [{ type: 'InternalIP', address }] },
    });
    expect(nodeChange(withAddr('10.1.0.1'), withAddr('10.1.0.1'))).toBe('none');
    expect(nodeChange(withAddr('10.1.0.1'), withAddr('10.1.0.2'))).toBe('other');
    expect(nodeChange(node(), withAddr('10.1.0.1'))).toBe('other');
  });
});
