import fc from 'fast-check';
import { defaultSubnetLen, resolvePoolConfig } from './config.js';
import { IpamError } from './errors.js';
import { formatCidr, tryParseCidr, tryParseIp, formatIp } from './cidr.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IpamError);
    return (e as IpamError).code;
  }
  return undefined;
}

describe('upstream defaults', () => {
  it.each([
    [8, 24],
    [16, 24],
    [22, 24],
    [23, 25],
    [24, 26],
    [28, 30],
  ])('IPv4 /%i network -> /%i subnets', (prefix, len) => {
    expect(defaultSubnetLen(4, prefix)).toBe(len);
  });

  it.each([
    [32, 64],
    [56, 64],
    [62, 64],
    [63, 65],
    [120, 122],
  ])('IPv6 /%i network -> /%i subnets', (prefix, len) => {
    expect(defaultSubnetLen(6, prefix)).toBe(len);
  });

  it('skips the first subnet and ends at the last one', () => {
    expect(resolvePoolConfig({ network: '10.244.0.0/16' })).toEqual({
      ipv4: {
        family: 4,
        network: '10.244.0.0/16',
        subnetLen: 24,
        subnetMin: '10.244.1.0',
        subnetMax: '10.244.255.0',
        reserved: [],
      },
    });
    expect(resolvePoolConfig({ network: '10.10.0.0/24' }).ipv4).toMatchObject({
      subnetLen: 26,
      subnetMin: '10.10.0.64',
      subnetMax: '10.10.0.192',
    });
  });

  it('resolves dual-stack with reservations split by family', () => {
    const r = resolvePoolConfig({
      network: '10.244.0.0/16',
      ipv6Network: 'fd00:10:244::/56',
      reservedSubnets: ['10.244.7.0/24', 'fd00:10:244:7::/64'],
    });
    expect(r.ipv4!.reserved).toEqual(['10.244.7.0/24']);
    expect(r.ipv6).toEqual({
      family: 6,
      network: 'fd00:10:244::/56',
      subnetLen: 64,
      subnetMin: 'fd00:10:244:1::',
      subnetMax: 'fd00:10:244:ff::',
      reserved: ['fd00:10:244:7::/64'],
    });
  });

  it('keeps explicit values', () => {
    expect(
      resolvePoolConfig({
        network: '10.0.0.0/8',
        subnetLen: 20,
        subnetMin: '10.0.0.0',
        subnetMax: '10.0.240.0',
      }).ipv4,
    ).toMatchObject({ subnetLen: 20, subnetMin: '10.0.0.0', subnetMax: '10.0.240.0' });
  });
});

describe('invalid configurations', () => {
  it.each([
    ['no network', {}, 'EIPAM_INVALID_CONFIG'],
    ['malformed', { network: '10.0.0/8' }, 'EIPAM_INVALID_CONFIG'],
    ['not canonical', { network: '10.0.0.1/8' }, 'EIPAM_INVALID_CONFIG'],
    ['family mismatch', { network: 'fd00::/56' }, 'EIPAM_INVALID_CONFIG'],
    ['too small', { network: '10.0.0.0/29' }, 'EIPAM_INVALID_CONFIG'],
    ['fewer than 4 subnets', { network: '10.0.0.0/16', subnetLen: 17 }, 'EIPAM_INVALID_CONFIG'],
    ['/31 subnets', { network: '10.0.0.0/16', subnetLen: 31 }, 'EIPAM_INVALID_CONFIG'],
    ['min outside', { network: '10.0.0.0/16', subnetMin: '10.1.0.0' }, 'EIPAM_OUT_OF_RANGE'],
    ['min misaligned', { network: '10.0.0.0/16', subnetMin: '10.0.1.1' }, 'EIPAM_MISALIGNED'],
    [
      'min > max',
      { network: '10.0.0.0/16', subnetMin: '10.0.9.0', subnetMax: '10.0.8.0' },
      'EIPAM_INVALID_CONFIG',
    ],
    [
      'max below default min',
      { network: '10.0.0.0/16', subnetMax: '10.0.0.0' },
      'EIPAM_INVALID_CONFIG',
    ],
    [
      'reserved outside',
      { network: '10.0.0.0/16', reservedSubnets: ['10.1.0.0/24'] },
      'EIPAM_OUT_OF_RANGE',
    ],
    [
      'reserved v6 without v6 network',
      { network: '10.0.0.0/16', reservedSubnets: ['fd00::/64'] },
      'EIPAM_OUT_OF_RANGE',
    ],
    [
      'subnetLen without network',
      { ipv6Network: 'fd00::/56', subnetLen: 24 },
      'EIPAM_INVALID_CONFIG',
    ],
    ['ipv6 /127 subnets', { ipv6Network: 'fd00::/64', ipv6SubnetLen: 127 }, 'EIPAM_INVALID_CONFIG'],
  ])('%s', (_n, spec, code) => {
    expect(codeOf(() => resolvePoolConfig(spec))).toBe(code);
  });

  it('suggests the canonical form', () => {
    expect(() => resolvePoolConfig({ network: '10.244.1.0/16' })).toThrow(
      'did you mean 10.244.0.0/16?',
    );
  });
});

describe('strict address parsing (same as the CEL ip/cidr library)', () => {
  it.each([
    '010.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    'fe80::1%eth0',
    '::ffff:1.2.3.4',
    '',
    ' 1.2.3.4',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    ':1:2:3:4:5:6:7:8',
    '12345::1',
    'g::1',
    'fd00::/56',
  ])('rejects %p', (s) => {
    expect(tryParseIp(s)).toBeUndefined();
  });

  it('formats IPv6 per RFC 5952', () => {
    const f = (s: string) => formatIp(6, tryParseIp(s)!.addr);
    expect(f('FD00:0:0:0:0:0:0:1')).toBe('fd00::1');
    expect(f('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(f('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(f('::')).toBe('::');
    expect(tryParseIp('::1.2.3.4')).toBeUndefined();
    expect(tryParseIp('::ffff:102:304')).toBeUndefined();
  });

  it('reads every IPv6 address back from its RFC 5952 and its expanded uppercase text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (addr) => {
        fc.pre(addr >> 32n !== 0xffffn);
        const full = Array.from({ length: 8 }, (_, i) =>
          ((addr >> BigInt((7 - i) * 16)) & 0xffffn).toString(16).toUpperCase(),
        ).join(':');
        expect(tryParseIp(formatIp(6, addr))).toEqual({ family: 6, addr });
        expect(tryParseIp(full)).toEqual({ family: 6, addr });
      }),
    );
  });

  it('marks non-canonical CIDRs', () => {
    expect(tryParseCidr('10.0.0.1/8')).toMatchObject({ canonical: false, prefix: 8 });
    expect(formatCidr(tryParseCidr('10.0.0.1/8')!)).toBe('10.0.0.0/8');
    expect(tryParseCidr('10.0.0.0/33')).toBeUndefined();
    expect(tryParseCidr('10.0.0.0/08')).toBeUndefined();
    expect(tryParseCidr('fd00::/56')?.canonical).toBe(true);
  });
});
