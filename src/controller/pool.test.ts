import { LeasePool, PoolConfigError, parseCidrLenient, cidrsOverlap, formatCidr } from './pool.js';

describe('LeasePool', () => {
  it('defaults like flannel: /24 from a /16, skipping the first subnet', () => {
    const p = new LeasePool({ network: '10.244.0.0/16' });
    expect(p.subnetLen).toBe(24);
    expect(p.capacity).toBe(255n);
    expect(p.allocate('a')).toBe('10.244.1.0/24');
    expect(p.allocate('b')).toBe('10.244.2.0/24');
  });

  it('uses prefix+2 for small networks and respects min/max/reserved', () => {
    expect(new LeasePool({ network: '10.0.0.0/24' }).subnetLen).toBe(26);
    const p = new LeasePool({
      network: '10.0.0.0/16',
      subnetLen: 24,
      subnetMin: '10.0.10.0',
      subnetMax: '10.0.13.0',
      reserved: ['10.0.11.0/24'],
    });
    expect(p.capacity).toBe(3n);
    expect([p.allocate('a'), p.allocate('b'), p.allocate('c'), p.allocate('d')]).toEqual([
      '10.0.10.0/24',
      '10.0.12.0/24',
      '10.0.13.0/24',
      undefined,
    ]);
  });

  it('claims existing subnets, detects conflicts, reuses released ones first', () => {
    const p = new LeasePool({ network: '10.1.0.0/16' });
    expect(p.claim('10.1.1.0/24', 'n1')).toBe('ok');
    expect(p.claim('10.1.1.0/24', 'n1')).toBe('ok');
    expect(p.claim('10.1.1.0/24', 'n2')).toBe('taken');
    expect(p.claim('10.2.1.0/24', 'n2')).toBe('outside');
    expect(p.claim('10.1.1.0/25', 'n2')).toBe('misaligned');
    expect(p.claim('10.1.1.1/24', 'n2')).toBe('misaligned');
    expect(p.claim('10.1.0.0/24', 'n3')).toBe('ok'); // below subnetMin but existing: accepted
    expect(p.allocate('x')).toBe('10.1.2.0/24');
    expect(p.allocate('y')).toBe('10.1.3.0/24');
    p.release('10.1.2.0/24');
    expect(p.allocate('z')).toBe('10.1.2.0/24');
    expect(p.holder('10.1.3.0/24')).toBe('y');
  });

  it('exhausts and hands out unique subnets', () => {
    const p = new LeasePool({ network: '10.9.0.0/22', subnetLen: 26 });
    const got = new Set<string>();
    for (;;) {
      const s = p.allocate(String(got.size));
      if (!s) break;
      got.add(s);
    }
    expect(got.size).toBe(15);
    expect(p.allocated).toBe(15);
  });

  it('handles IPv6', () => {
    const p = new LeasePool({ network: 'fd00:10:244::/56' });
    expect(p.subnetLen).toBe(64);
    expect(p.capacity).toBe(255n);
    expect(p.allocate('a')).toBe('fd00:10:244:1::/64');
    expect(p.claim('fd00:10:244:5::/64', 'b')).toBe('ok');
    expect(p.containsCidr('fd00:10:244:ff::/64')).toBe(true);
    expect(p.containsCidr('10.0.0.0/24')).toBe(false);
  });

  it('rejects bad configs', () => {
    expect(() => new LeasePool({ network: 'nope' })).toThrow(PoolConfigError);
    expect(() => new LeasePool({ network: '10.0.0.0/16', subnetLen: 8 })).toThrow(PoolConfigError);
    expect(
      () => new LeasePool({ network: '10.0.0.0/16', subnetMin: '10.0.9.0', subnetMax: '10.0.3.0' }),
    ).toThrow(PoolConfigError);
    expect(() => new LeasePool({ network: '10.0.0.0/16', subnetMin: '10.1.0.0' })).toThrow(
      PoolConfigError,
    );
  });

  it('detects overlap', () => {
    expect(cidrsOverlap(parseCidrLenient('10.0.0.0/8'), parseCidrLenient('10.1.0.0/16'))).toBe(
      true,
    );
    expect(cidrsOverlap(parseCidrLenient('10.0.0.0/16'), parseCidrLenient('10.1.0.0/16'))).toBe(
      false,
    );
    expect(formatCidr(parseCidrLenient('10.1.2.3/16'))).toBe('10.1.0.0/16');
  });
});
