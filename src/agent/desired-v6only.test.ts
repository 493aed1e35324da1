import {
  ROUTE_PROTOCOL,
  diffState,
  isEmptyDiff,
  ownsRoute,
  type ActualState,
  type NetworkConfig,
  type PeerLease,
  type SelfInfo,
} from './desired.js';
import { computeDesired } from './planner.js';
import { renderSubnetEnv } from './files.js';

/** IPv6-only network (upstream EnableIPv4=false, EnableIPv6=true) on an IPv6-only underlay. */
const self: SelfInfo = {
  nodeName: 'n1',
  subnetV6: 'fd00:10:0:1::/64',
  publicIPv6: 'fd00:200::1',
  v6VtepMAC: '0e:00:00:00:06:01',
  underlay: { name: 'eth0', index: 2, mtu: 1500, ipv6: 'fd00:200::1', prefixV6: 'fd00:200::/64' },
};
const v6only: NetworkConfig = {
  ipv6Network: 'fd00:10::/48',
  type: 'vxlan',
  vni: 1,
  port: 8472,
  directRouting: false,
};
const own = {
  vxlanDev: 'flannel.1',
  network6: 'fd00:10::/48',
  vxlanDev6: 'flannel-v6.1',
  ownSubnet6: 'fd00:10:0:1::/64',
};
const peers: PeerLease[] = [
  {
    nodeName: 'n2',
    ipv6Subnet: 'fd00:10:0:2::/64',
    publicIPv6: 'fd00:200::2',
    v6VtepMAC: '0e:00:00:00:06:02',
  },
  {
    nodeName: 'n3',
    ipv6Subnet: 'fd00:10:0:3::/64',
    publicIPv6: 'fd00:200:1::1',
    v6VtepMAC: '0e:00:00:00:06:03',
  },
];

describe('IPv6-only computeDesired', () => {
  it('vxlan: flannel-v6.<vni> only (no flannel.<vni>), pod MTU underlay-70, v6 peers', () => {
    const d = computeDesired(self, v6only, peers);
    expect(d.vxlan).toBeUndefined();
    expect(d.vxlan6).toMatchObject({ name: 'flannel-v6.1', local: 'fd00:200::1', mtu: 1430 });
    expect(d.podMTU).toBe(1430);
    expect(d.routes.map((r) => `${r.dst} ${r.gateway} ${r.dev}`)).toEqual([
      'fd00:10:0:2::/64 fd00:10:0:2:: flannel-v6.1',
      'fd00:10:0:3::/64 fd00:10:0:3:: flannel-v6.1',
    ]);
    expect(d.fdb.map((f) => f.dst)).toEqual(['fd00:200::2', 'fd00:200:1::1']);
    expect(d.peers.every((p) => p.family === 'ipv6')).toBe(true);
    expect(d.pending).toEqual([]);
  });

  it('host-gw: the same-prefix peer via its publicIPv6, the routed one pending; MTU = underlay', () => {
    const d = computeDesired(self, { ...v6only, type: 'host-gw' }, peers);
    expect(d.vxlan6).toBeUndefined();
    expect(d.podMTU).toBe(1500);
    expect(d.routes).toEqual([
      { dst: 'fd00:10:0:2::/64', gateway: 'fd00:200::2', dev: 'eth0', onlink: false },
    ]);
    expect(d.pending).toEqual([
      { nodeName: 'n3', reason: expect.stringMatching(/not on fd00:200::\/64/) },
    ]);
  });

  it('diff: in sync is empty; no IPv4 state is owned, so a foreign IPv4 route is left alone', () => {
    const d = computeDesired(self, v6only, peers);
    const have: ActualState = {
      vxlan6: { ...d.vxlan6!, up: true, learning: false, addresses: [d.vxlan6!.address] },
      routes: [
        ...d.routes.map((r) => ({ ...r, protocol: ROUTE_PROTOCOL, table: 254 })),
        {
          dst: '10.244.9.0/24',
          gateway: '10.244.9.0',
          dev: 'flannel.1',
          onlink: true,
          protocol: 3,
          table: 254,
        },
      ],
      neighbors: d.neighbors.map((n) => ({ ...n, permanent: true })),
      fdb: d.fdb,
    };
    expect(isEmptyDiff(diffState(d, have, own))).toBe(true);
    expect(ownsRoute(have.routes[2]!, own)).toBe(false);
  });

  it('subnet.env carries only the IPv6 keys the flannel CNI plugin (v0.9.1) reads', () => {
    expect(
      renderSubnetEnv({
        ipv6Network: 'fd00:10::/48',
        ipv6Subnet: 'fd00:10:0:1::/64',
        mtu: 1430,
        ipMasq: true,
      }),
    ).toBe(
      'FLANNEL_IPV6_NETWORK=fd00:10::/48\nFLANNEL_IPV6_SUBNET=fd00:10:0:1::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n',
    );
  });
});
