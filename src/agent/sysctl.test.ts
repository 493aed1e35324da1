import { desiredSysctls, sysctlPath } from './sysctl.js';

describe('agent sysctls', () => {
  it('IPv4-only network: IPv4 forwarding only, no IPv6 sysctl at all', () => {
    const s = desiredSysctls({});
    expect(s.map((x) => `${x.key}=${x.value}`)).toEqual(['net.ipv4.ip_forward=1']);
    expect(s.some((x) => x.key.startsWith('net.ipv6.'))).toBe(false);
  });

  it('dual-stack network: IPv6 forwarding as well', () => {
    const net = { network: '10.244.0.0/16', ipv6Network: 'fd00:10::/48' };
    expect(desiredSysctls(net).map((x) => x.key)).toEqual([
      'net.ipv4.ip_forward',
      'net.ipv6.conf.all.forwarding',
    ]);
  });

  it('IPv6-only network: IPv6 forwarding only, the host IPv4 forwarding left alone', () => {
    expect(desiredSysctls({ ipv6Network: 'fd00:10::/48' }).map((x) => x.key)).toEqual([
      'net.ipv6.conf.all.forwarding',
    ]);
  });

  it('maps dotted names to /proc/sys paths', () => {
    expect(sysctlPath('net.ipv6.conf.all.forwarding')).toBe(
      '/proc/sys/net/ipv6/conf/all/forwarding',
    );
  });
});
