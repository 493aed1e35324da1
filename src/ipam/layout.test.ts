import fc from 'fast-check';
import { formatIPv4, formatIPv6Groups, parseCidr } from './cidr.js';
import { SubnetLayout } from './layout.js';

/** The WHATWG URL serializer compresses IPv6 like RFC 5952: an independent reference. */
const urlText = (groups: number[]) =>
  new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);

/** Groups rich in zeros, so every run length and position of "::" occurs. */
const groupsArb = fc.array(
  fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
  {
    minLength: 8,
    maxLength: 8,
  },
);

describe('formatIPv6Groups', () => {
  it('writes RFC 5952 text, as the URL serializer does', () => {
    fc.assert(
      fc.property(groupsArb, (groups) => {
        expect(formatIPv6Groups(groups)).toBe(urlText(groups));
        expect(formatIPv6Groups(groups, '/64')).toBe(`${urlText(groups)}/64`);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0xfd00, 0, 0, 0, 0, 0, 0, 0], 'fd00::'],
    [[1, 0, 0, 2, 0, 0, 0, 3], '1:0:0:2::3'],
    [[1, 0, 2, 0, 3, 0, 4, 0], '1:0:2:0:3:0:4:0'],
    [[0xabcd, 0x12, 0x1, 0xffff, 0x100, 0xa, 0, 0], 'abcd:12:1:ffff:100:a::'],
  ])('%j -> %s', (groups, text) => {
    expect(formatIPv6Groups(groups)).toBe(text);
  });
});

describe('SubnetLayout', () => {
  const layoutArb = fc.oneof(
    fc
      .record({ prefix: fc.integer({ min: 0, max: 32 }), extra: fc.integer({ min: 0, max: 32 }) })
      .map(({ prefix, extra }) => ({
        family: 4 as const,
        prefix,
        len: Math.min(32, prefix + extra),
      })),
    fc
      .record({ prefix: fc.integer({ min: 0, max: 128 }), extra: fc.integer({ min: 0, max: 128 }) })
      .map(({ prefix, extra }) => ({
        family: 6 as const,
        prefix,
        len: Math.min(128, prefix + extra),
      })),
  );
  const setupArb = fc
    .tuple(
      layoutArb,
      fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 53n) - 1n }),
    )
    .map(([{ family, prefix, len }, addr, idx]) => {
      const bits = family === 4 ? 32 : 128;
      const host = BigInt(bits - prefix);
      const net = ((addr & ((1n << BigInt(bits)) - 1n)) >> host) << host;
      const count = 1n << BigInt(len - prefix);
      return {
        family,
        net,
        prefix,
        len,
        idx: Number(idx % (count < 1n << 53n ? count : 1n << 53n)),
      };
    });

  it('formats number indices as the bigint path does, and reads them back', () => {
    fc.assert(
      fc.property(setupArb, ({ family, net, prefix, len, idx }) => {
        const network =
          family === 4
            ? `${formatIPv4(Number(net))}/${prefix}`
            : `${urlText(groupsOf(net))}/${prefix}`;
        const layout = new SubnetLayout(network, len);
        const text = layout.format(idx);
        expect(text).toBe(layout.format(BigInt(idx)));
        expect(layout.indexOfCidr(text)).toBe(idx);
        expect(parseCidr(text).prefix).toBe(len);
      }),
      { numRuns: 2000 },
    );
  });

  it('formats IPv4 in any order (the cached first two octets follow the address)', () => {
    const layout = new SubnetLayout('10.0.0.0/8', 32);
    for (const i of [5, 70_000, 65_535, 65_536, 5, 16_777_215, 0]) {
      expect(layout.format(i)).toBe(`${formatIPv4(0x0a000000 + i)}/32`);
    }
  });
});

function groupsOf(addr: bigint): number[] {
  return Array.from({ length: 8 }, (_, g) => Number((addr >> BigInt(112 - 16 * g)) & 0xffffn));
}
