import fc from 'fast-check';
import { formatIPv4, maskAddr, maskIpv4, tryParseCidr, tryParseIp } from './cidr.js';

describe('tryParseIp (IPv4 by one regex)', () => {
  it('reads every dotted quad back as the number it was written from', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(tryParseIp(formatIPv4(n))).toEqual({ family: 4, addr: BigInt(n) });
      }),
    );
  });

  it.each([
    '1.2.3',
    '1.2.3.4.5',
    '1..2.3',
    '.1.2.3',
    '1.2.3.',
    '256.1.1.1',
    '00.1.1.1',
    '01.1.1.1',
    '1.2.3.4 ',
    '+1.2.3.4',
    '1.2.3.-4',
    '1.2.3.1000',
    '999.1.1.1',
    '1.2.3.4\n',
    ' 1.2.3.4',
    '\u0661.2.3.4',
    '1.2.3.\uff14',
    '',
  ])('refuses %j', (text) => {
    expect(tryParseIp(text)).toBeUndefined();
  });
});

describe('maskIpv4', () => {
  it('clears the host bits as maskAddr does, for every prefix length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.nat(32), (n, prefix) => {
        expect(BigInt(maskIpv4(n, prefix))).toBe(maskAddr(4, BigInt(n), prefix));
      }),
    );
  });
});

describe('tryParseCidr', () => {
  it.each([
    '10.0.0.0/',
    '10.0.0.0/00',
    '10.0.0.0/08',
    '10.0.0.0/1a',
    '10.0.0.0/+8',
    '10.0.0.0/1000',
  ])('refuses the prefix of %j', (text) => {
    expect(tryParseCidr(text)).toBeUndefined();
  });

  it.each([
    ['10.244.1.0/24', true],
    ['10.244.1.7/24', false],
    ['0.0.0.0/0', true],
    ['fd00::/64', true],
    ['fd00:0::/64', false],
    ['FD00::/64', false],
    ['fd00::1/64', false],
  ])('%j is canonical: %j', (text, canonical) => {
    expect(tryParseCidr(text)?.canonical).toBe(canonical);
  });
});
