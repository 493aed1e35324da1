import {
  ROUTE_PROTOCOL,
  deriveV6VtepMAC,
  deriveVtepMAC,
  diffState,
  isEmptyDiff,
  ownsRoute,
  type ActualState,
  type NetworkConfig,
  type PeerLease,
  type SelfInfo,
} from './desired.js';
import { computeDesired } from './planner.js';

const self: SelfInfo = {
  nodeName: 'n1',
  subnet: '10.244.1.0/24',
  publicIP: '10.200.0.1',
  vtepMAC: '0e:00:00:00:00:01',
  subnetV6: 'fd00:10:0:1::/64',
  publicIPv6: 'fd00:200::1',
  v6VtepMAC: '0e:00:00:00:06:01',
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
const dual: NetworkConfig = {
  network: '10.244.0.0/16',
  ipv6Network: 'fd00:10::/48',
  type: 'vxlan',
  vni: 1,
  port: 8472,
  directRouting: false,
};
const own = {
  network: '10.244.0.0/16',
  vxlanDev: 'flannel.1',
  ownSubnet: '10.244.1.0/24',
  network6: 'fd00:10::/48',
  vxlanDev6: 'flannel-v6.1',
  ownSubnet6: 'fd00:10:0:1::/64',
};
const peers: PeerLease[] = [
  {
    nodeName: 'n2',
    subnet: '10.244.2.0/24',
    publicIP: '10.200.0.2',
    vtepMAC: '0e:00:00:00:00:02',
    ipv6Subnet: 'fd00:10:0:2::/64',
    publicIPv6: 'fd00:200::2',
    v6VtepMAC: '0E:00:00:00:06:02',
  },
  {
    nodeName: 'n3',
    subnet: '10.244.3.0/24',
    publicIP: '10.201.0.3',
    vtepMAC: '0e:00:00:00:00:03',
    ipv6Subnet: 'fd00:10:0:3::/64',
    publicIPv6: 'fd00:201::3',
    v6VtepMAC: '0e:00:00:00:06:03',
  },
];

function applied(cfg: NetworkConfig, ps: PeerLease[]): ActualState {
  const d = computeDesired(self, cfg, ps);
  const dev = (v: typeof d.vxlan) =>
    v && { ...v, up: true, learning: false, addresses: [v.address] };
  return {
    vxlan: dev(d.vxlan),
    vxlan6: dev(d.vxlan6),
    routes: d.routes.map((r) => ({ ...r, protocol: ROUTE_PROTOCOL, table: 254 })),
    neighbors: d.neighbors.map((n) => ({ ...n, permanent: true })),
    fdb: d.fdb,
  };
}

describe('dual-stack computeDesired', () => {
  it('vxlan: flannel-v6.<vni> with local v6, MTU underlay-70, /128 address, v6 route/neigh/fdb', () => {
    const d = computeDesired(self, dual, peers);
    expect(d.vxlan6).toEqual({
      name: 'flannel-v6.1',
      vni: 1,
      port: 8472,
      local: 'fd00:200::1',
      linkIndex: 2,
      mtu: 1430,
      mac: '0e:00:00:00:06:01',
      address: 'fd00:10:0:1::/128',
    });
    expect(d.podMTU).toBe(1430);
    expect(d.routes).toContainEqual({
      dst: 'fd00:10:0:2::/64',
      gateway: 'fd00:10:0:2::',
      dev: 'flannel-v6.1',
      onlink: true,
    });
    expect(d.neighbors).toContainEqual({
      dev: 'flannel-v6.1',
      ip: 'fd00:10:0:3::',
      mac: '0e:00:00:00:06:03',
    });
    expect(d.fdb).toContainEqual({
      dev: 'flannel-v6.1',
      mac: '0e:00:00:00:06:02',
      dst: 'fd00:200::2',
    });
    expect(d.routes).toHaveLength(4);
    expect(d.peers.filter((p) => p.family === 'ipv6')).toHaveLength(2);
  });

  it('directRouting: v6 peer on the same prefix is host-gw via its publicIPv6, the other vxlan', () => {
    const d = computeDesired(self, { ...dual, directRouting: true }, peers);
    expect(d.routes).toContainEqual({
      dst: 'fd00:10:0:2::/64',
      gateway: 'fd00:200::2',
      dev: 'eth0',
      onlink: false,
    });
    expect(d.routes).toContainEqual({
      dst: 'fd00:10:0:3::/64',
      gateway: 'fd00:10:0:3::',
      dev: 'flannel-v6.1',
      onlink: true,
    });
  });

  it('host-gw: v6 routes via peer publicIPv6; no v6 device', () => {
    const d = computeDesired(self, { ...dual, type: 'host-gw' }, peers.slice(0, 1));
    expect(d.vxlan6).toBeUndefined();
    expect(d.routes).toContainEqual({
      dst: 'fd00:10:0:2::/64',
      gateway: 'fd00:200::2',
      dev: 'eth0',
      onlink: false,
    });
  });

  it('a peer without v6 data is pending for v6 only; a v4-only network has no v6 state', () => {
    const p = [{ ...peers[0]!, v6VtepMAC: undefined }];
    const d = computeDesired(self, dual, p);
    expect(d.routes.map((r) => r.dst)).toEqual(['10.244.2.0/24']);
    expect(d.pending[0]!.reason).toMatch(/ipv6/);
    const v4 = computeDesired(self, { ...dual, ipv6Network: undefined }, peers);
    expect(v4.vxlan6).toBeUndefined();
    expect(v4.routes).toHaveLength(2);
  });

  it('the derived v6 MAC is stable and differs from the v4 one', () => {
    expect(deriveV6VtepMAC('n1', 1)).toBe(deriveV6VtepMAC('n1', 1));
    expect(deriveV6VtepMAC('n1', 1)).not.toBe(deriveVtepMAC('n1', 1));
  });
});

describe('dual-stack diffState', () => {
  it('in sync is empty; missing device is created and its peers replayed', () => {
    const want = computeDesired(self, dual, peers);
    const have = applied(dual, peers);
    expect(isEmptyDiff(diffState(want, have, own))).toBe(true);
    const d = diffState(want, { ...have, vxlan6: undefined }, own);
    expect(d.vxlan6).toBe('create');
    expect(d.vxlan).toBe('ok');
    expect(d.addNeighbors.map((n) => n.dev)).toEqual(['flannel-v6.1', 'flannel-v6.1']);
    expect(d.addFdb).toHaveLength(2);
  });

  it('stale v6 peer state is removed; drifted v6 route replaced; kernel /128 route kept', () => {
    const want = computeDesired(self, dual, peers.slice(0, 1));
    const have = applied(dual, peers);
    have.routes.push({
      dst: 'fd00:10:0:1::/128',
      gateway: '',
      dev: 'flannel-v6.1',
      onlink: false,
      protocol: 2,
      table: 254,
    });
    const r2 = have.routes.find((r) => r.dst === 'fd00:10:0:2::/64')!;
    r2.gateway = 'fd00:10:0:9::';
    const d = diffState(want, have, own);
    expect(d.removeRoutes.map((r) => r.dst).sort()).toEqual(['10.244.3.0/24', 'fd00:10:0:3::/64']);
    expect(d.removeNeighbors.map((n) => n.ip).sort()).toEqual(['10.244.3.0', 'fd00:10:0:3::']);
    expect(d.removeFdb.map((f) => f.dst).sort()).toEqual(['10.201.0.3', 'fd00:201::3']);
    expect(d.replaceRoutes.map((r) => r.dst)).toEqual(['fd00:10:0:2::/64']);
  });

  it('a v6 device left by a dual-stack config is deleted when the network is v4-only', () => {
    const v4 = { ...dual, ipv6Network: undefined };
    const d = diffState(computeDesired(self, v4, peers), applied(dual, peers), own);
    expect(d.vxlan6).toBe('delete');
    expect(d.removeRoutes.map((r) => r.dst).sort()).toEqual([
      'fd00:10:0:2::/64',
      'fd00:10:0:3::/64',
    ]);
  });

  it('owns v6 routes on flannel-v6 inside the v6 network, not others', () => {
    const base = { gateway: '', onlink: false, protocol: 3, table: 254 };
    expect(ownsRoute({ ...base, dst: 'fd00:10:0:5::/64', dev: 'flannel-v6.1' }, own)).toBe(true);
    expect(ownsRoute({ ...base, dst: 'fd00:99::/64', dev: 'flannel-v6.1' }, own)).toBe(false);
    expect(ownsRoute({ ...base, dst: 'fd00:10:0:1::/64', dev: 'cni0' }, own)).toBe(false);
  });
});
