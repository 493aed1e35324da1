import fc from 'fast-check';
import { containsAddr, formatIPv4, maskAddr, parseCidr } from './cidr.js';
import { cidrMatcher } from './text.js';

describe('cidrMatcher', () => {
  it('answers as containsAddr for any IPv4 network and address (its IPv4 path is in numbers)', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, fc.nat(32), u32, (net, prefix, addr) => {
        const cidrText = `${formatIPv4(Number(maskAddr(4, BigInt(net), prefix)))}/${prefix}`;
        const want = containsAddr(parseCidr(cidrText), 4, BigInt(addr));
        expect(cidrMatcher(cidrText)(formatIPv4(addr))).toBe(want);
      }),
    );
  });

  it.each([
    ['10.244.0.0/16', '10.244.3.4', true],
    ['10.244.0.0/16', '10.245.0.1', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['10.244.0.0/16', 'fd00::1', false],
    ['10.244.0.0/16', '010.244.0.1', false],
    ['fd00::/64', 'fd00::1', true],
    ['fd00::/64', '10.244.0.1', false],
    ['not a cidr', '10.244.0.1', false],
  ])('%s holds %j: %j', (cidr, ip, want) => {
    expect(cidrMatcher(cidr)(ip)).toBe(want);
  });
});
