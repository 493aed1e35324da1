import { type NetworkConfig, type PeerLease, type SelfInfo } from '../desired.js';
import { computeDesired } from '../planner.js';
import { WIREGUARD_CONFIG_DEFAULTS } from './desired.js';

const KEY = (c: string) => `${c.repeat(42)}A=`;
const self: SelfInfo = {
  nodeName: 'n1',
  subnet: '10.244.1.0/24',
  subnetV6: 'fd00:10:244:1::/64',
  publicIP: '10.200.0.1',
  publicIPv6: 'fd00:200::1',
  publicKey: KEY('a'),
  underlay: {
    name: 'eth0',
    index: 2,
    mtu: 1500,
    ip: '10.200.0.1',
    prefix: '10.200.0.0/24',
    ipv6: 'fd00:200::1',
    prefixV6: 'fd00:200::/64',
  },
};
const v4: NetworkConfig = {
  network: '10.244.0.0/16',
  type: 'wireguard',
  vni: 1,
  port: 8472,
  directRouting: false,
  wireguard: WIREGUARD_CONFIG_DEFAULTS,
};
const dual: NetworkConfig = { ...v4, ipv6Network: 'fd00:10:244::/56' };
const peer = (n: number, extra: Partial<PeerLease> = {}): PeerLease => ({
  nodeName: `n${n}`,
  subnet: `10.244.${n}.0/24`,
  publicIP: `10.200.0.${n}`,
  ipv6Subnet: `fd00:10:244:${n}::/64`,
  publicIPv6: `fd00:200::${n}`,
  publicKey: KEY(String.fromCharCode(96 + n)),
  ...extra,
});

describe('computeDesired: wireguard', () => {
  it('separate, IPv4: flannel-wg, one peer per remote lease, routes over the device, MTU - 60', () => {
    const d = computeDesired({ ...self, subnetV6: undefined }, v4, [peer(1), peer(2), peer(3)]);
    expect(d.wireguard).toEqual([
      {
        name: 'flannel-wg',
        listenPort: 51820,
        mtu: 1440,
        addresses: ['10.244.1.0/32'],
        peers: [
          {
            nodeName: 'n2',
            publicKey: KEY('b'),
            endpoint: '10.200.0.2:51820',
            allowedIPs: ['10.244.2.0/24'],
            keepalive: 0,
          },
          {
            nodeName: 'n3',
            publicKey: KEY('c'),
            endpoint: '10.200.0.3:51820',
            allowedIPs: ['10.244.3.0/24'],
            keepalive: 0,
          },
        ],
      },
    ]);
    expect(d.routes).toEqual([
      { dst: '10.244.2.0/24', gateway: '', dev: 'flannel-wg', onlink: false },
      { dst: '10.244.3.0/24', gateway: '', dev: 'flannel-wg', onlink: false },
    ]);
    expect(d.podMTU).toBe(1440);
    expect(d.vxlan).toBeUndefined();
    expect(d.fdb).toEqual([]);
  });

  it('separate, dual-stack: flannel-wg-v6 on listenPortV6 with MTU - 80; pods get the smaller MTU', () => {
    const d = computeDesired(self, dual, [peer(2)]);
    expect(d.wireguard!.map((w) => [w.name, w.listenPort, w.mtu, w.addresses])).toEqual([
      ['flannel-wg', 51820, 1440, ['10.244.1.0/32']],
      ['flannel-wg-v6', 51821, 1420, ['fd00:10:244:1::/128']],
    ]);
    expect(d.wireguard![1]!.peers[0]).toMatchObject({
      endpoint: '[fd00:200::2]:51821',
      allowedIPs: ['fd00:10:244:2::/64'],
    });
    expect(d.podMTU).toBe(1420);
  });

  it.each([
    ['ipv4', '10.200.0.2:51820', 1440],
    ['ipv6', '[fd00:200::2]:51820', 1420],
    // auto: the peer's IPv4 is private and so is its IPv6 (ULA): IPv4, as upstream.
    ['auto', '10.200.0.2:51820', 1420],
  ] as const)(
    'single tunnel, mode %s: both families on flannel-wg, endpoint %s',
    (mode, ep, mtu) => {
      const cfg = { ...dual, wireguard: { ...WIREGUARD_CONFIG_DEFAULTS, mode } };
      const d = computeDesired(self, cfg, [peer(2)]);
      expect(d.wireguard).toHaveLength(1);
      expect(d.wireguard![0]).toMatchObject({
        name: 'flannel-wg',
        mtu,
        addresses: ['10.244.1.0/32', 'fd00:10:244:1::/128'],
        peers: [{ endpoint: ep, allowedIPs: ['10.244.2.0/24', 'fd00:10:244:2::/64'] }],
      });
      expect(d.routes.map((r) => r.dev)).toEqual(['flannel-wg', 'flannel-wg']);
    },
  );

  it('auto prefers IPv6 when only the IPv6 addresses are public', () => {
    const cfg = { ...dual, wireguard: { ...WIREGUARD_CONFIG_DEFAULTS, mode: 'auto' as const } };
    const pub = { ...self, publicIPv6: '2001:db8::1' };
    const d = computeDesired(pub, cfg, [peer(2, { publicIPv6: '2001:db8::2' })]);
    expect(d.wireguard![0]!.peers[0]!.endpoint).toBe('[2001:db8::2]:51820');
  });

  it('a peer without a public key or endpoint is pending, not programmed', () => {
    const d = computeDesired({ ...self, subnetV6: undefined }, v4, [
      peer(2, { publicKey: undefined }),
      peer(3, { publicIP: undefined }),
    ]);
    expect(d.wireguard![0]!.peers).toEqual([]);
    expect(d.pending.map((p) => [p.nodeName, p.reason])).toEqual([
      ['n2', 'peer has not published its WireGuard public key'],
      ['n3', 'peer has no public address to reach it over WireGuard'],
    ]);
  });

  it('refuses hostile keys: own key, a malformed key, a key an older lease holds', () => {
    const d = computeDesired({ ...self, subnetV6: undefined }, v4, [
      peer(2, { publicKey: KEY('a') }),
      peer(3, { publicKey: 'not a key' }),
      peer(4, { created: 1 }),
      peer(5, { publicKey: KEY('d'), created: 2 }),
      peer(6, { publicKey: `${'A'.repeat(43)}=` }),
    ]);
    expect(d.wireguard![0]!.peers.map((p) => p.nodeName)).toEqual(['n4']);
    const why = Object.fromEntries(d.pending.map((p) => [p.nodeName, p.reason]));
    expect(why.n2).toContain("this node's own WireGuard public key");
    expect(why.n3).toContain('is not a WireGuard public key');
    expect(why.n5).toContain('already published by the older lease of node n4');
    expect(why.n6).toContain('all-zero key');
  });

  it('refuses a peer subnet outside the network or held twice', () => {
    const d = computeDesired({ ...self, subnetV6: undefined }, v4, [
      peer(2, { subnet: '10.99.0.0/24' }),
      peer(3, { subnet: '10.244.1.0/24' }),
    ]);
    expect(d.wireguard![0]!.peers).toEqual([]);
    expect(d.pending.map((p) => p.reason)).toEqual([
      'subnet 10.99.0.0/24 is outside 10.244.0.0/16',
      'subnet 10.244.1.0/24 is held twice',
    ]);
  });

  it('persistentKeepaliveInterval and an explicit MTU are applied', () => {
    const cfg = { ...v4, mtu: 1300, wireguard: { ...WIREGUARD_CONFIG_DEFAULTS, keepalive: 25 } };
    const d = computeDesired({ ...self, subnetV6: undefined }, cfg, [peer(2)]);
    expect(d.wireguard![0]!.mtu).toBe(1300);
    expect(d.wireguard![0]!.peers[0]!.keepalive).toBe(25);
  });
});
