import { isGlobalUnicast } from './special.js';

describe('isGlobalUnicast (as Go net/netip, which the API server CEL uses)', () => {
  it.each([
    ['10.0.0.1', true],
    ['192.168.1.1', true],
    ['240.0.0.1', true],
    ['0.0.0.0', false],
    ['255.255.255.255', false],
    ['127.0.0.1', false],
    ['127.255.255.255', false],
    ['169.254.1.1', false],
    ['224.0.0.1', false],
    ['239.255.255.255', false],
    ['2001:db8::1', true],
    ['::', false],
    ['::1', false],
    ['fe80::1', false],
    ['febf::1', false],
    ['fec0::1', true],
    ['ff02::1', false],
    ['::ffff:10.0.0.1', false],
    ['010.0.0.1', false],
    ['not an address', false],
    [42, false],
    [undefined, false],
  ])('%j: %j', (text, want) => {
    expect(isGlobalUnicast(text)).toBe(want);
  });
});
