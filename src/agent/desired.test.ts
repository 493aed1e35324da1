import fc from 'fast-check';
import {
  ROUTE_PROTOCOL,
  deriveVtepMAC,
  diffState,
  isEmptyDiff,
  type ActualState,
  type NetworkConfig,
  type PeerLease,
  type SelfInfo,
} from './desired.js';
import { computeDesired } from './planner.js';
import { firstUsable } from '../ipam/index.js';

const self: SelfInfo = {
  nodeName: 'n1',
  subnet: '10.244.1.0/24',
  publicIP: '10.200.0.1',
  vtepMAC: '0e:00:00:00:00:01',
  underlay: { name: 'eth0', index: 2, mtu: 1500, ip: '10.200.0.1', prefix: '10.200.0.0/24' },
};
const vxlan: NetworkConfig = {
  network: '10.244.0.0/16',
  type: 'vxlan',
  vni: 1,
  port: 8472,
  directRouting: false,
};
const own = { network: '10.244.0.0/16', vxlanDev: 'flannel.1', ownSubnet: '10.244.1.0/24' };
const peers: PeerLease[] = [
  { nodeName: 'n1', subnet: '10.244.1.0/24', publicIP: '10.200.0.1', vtepMAC: '0e:00:00:00:00:01' },
  { nodeName: 'n2', subnet: '10.244.2.0/24', publicIP: '10.200.0.2', vtepMAC: '0E:00:00:00:00:02' },
  { nodeName: 'n3', subnet: '10.244.3.0/24', publicIP: '10.201.0.3', vtepMAC: '0e:00:00:00:00:03' },
];
const empty: ActualState = { routes: [], neighbors: [], fdb: [] };

/** The kernel after applying `d` perfectly (what the reader would report). */
function applied(self_: SelfInfo, cfg: NetworkConfig, ps: PeerLease[]): ActualState {
  const d = computeDesired(self_, cfg, ps);
  return {
    vxlan: d.vxlan && { ...d.vxlan, up: true, learning: false, addresses: [d.vxlan.address] },
    routes: d.routes.map((r) => ({ ...r, protocol: ROUTE_PROTOCOL, table: 254 })),
    neighbors: d.neighbors.map((n) => ({ ...n, permanent: true })),
    fdb: d.fdb,
  };
}

describe('computeDesired', () => {
  it('vxlan: route onlink via the subnet address, permanent neighbor and fdb per peer', () => {
    const d = computeDesired(self, vxlan, peers);
    expect(d.vxlan).toEqual({
      name: 'flannel.1',
      vni: 1,
      port: 8472,
      local: '10.200.0.1',
      linkIndex: 2,
      mtu: 1450,
      mac: '0e:00:00:00:00:01',
      address: '10.244.1.0/32',
    });
    expect(d.routes).toEqual([
      { dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'flannel.1', onlink: true },
      { dst: '10.244.3.0/24', gateway: '10.244.3.0', dev: 'flannel.1', onlink: true },
    ]);
    expect(d.neighbors[0]).toEqual({
      dev: 'flannel.1',
      ip: '10.244.2.0',
      mac: '0e:00:00:00:00:02',
    });
    expect(d.fdb[1]).toEqual({ dev: 'flannel.1', mac: '0e:00:00:00:00:03', dst: '10.201.0.3' });
    expect(d.podMTU).toBe(1450);
  });

  it('host-gw: routes via peer IPs on the underlay; off-segment peers are pending', () => {
    const d = computeDesired(self, { ...vxlan, type: 'host-gw' }, peers);
    expect(d.vxlan).toBeUndefined();
    expect(d.routes).toEqual([
      { dst: '10.244.2.0/24', gateway: '10.200.0.2', dev: 'eth0', onlink: false },
    ]);
    expect(d.pending).toEqual([
      { nodeName: 'n3', reason: expect.stringContaining('not on 10.200.0.0/24') },
    ]);
    expect(d.podMTU).toBe(1500);
  });

  it('directRouting: host-gw to same-L2 peers, vxlan to the others', () => {
    const d = computeDesired(self, { ...vxlan, directRouting: true }, peers);
    expect(d.peers).toEqual([
      { nodeName: 'n2', subnet: '10.244.2.0/24', mode: 'host-gw' },
      { nodeName: 'n3', subnet: '10.244.3.0/24', mode: 'vxlan' },
    ]);
    expect(d.fdb).toHaveLength(1);
    expect(d.routes[0]).toEqual({
      dst: '10.244.2.0/24',
      gateway: '10.200.0.2',
      dev: 'eth0',
      onlink: false,
    });
  });

  it('peers without publicIP / MAC / subnet are pending, deleting leases are ignored', () => {
    const d = computeDesired(self, vxlan, [
      { nodeName: 'a', subnet: '10.244.5.0/24' },
      { nodeName: 'b', subnet: '10.244.6.0/24', publicIP: '10.200.0.9' },
      { nodeName: 'c' },
      {
        nodeName: 'd',
        subnet: '10.244.7.0/24',
        publicIP: '10.200.0.7',
        vtepMAC: '0e:00:00:00:00:07',
        deleting: true,
      },
    ]);
    expect(d.routes).toEqual([]);
    expect(d.pending.map((p) => p.nodeName)).toEqual(['a', 'b', 'c']);
  });

  it('honours a configured MTU only below the underlay limit', () => {
    expect(computeDesired(self, { ...vxlan, mtu: 1400 }, []).podMTU).toBe(1400);
    expect(computeDesired(self, { ...vxlan, mtu: 9000 }, []).podMTU).toBe(1450);
  });
});

describe('diffState', () => {
  it('from an empty kernel: create the device and add everything', () => {
    const d = diffState(computeDesired(self, vxlan, peers), empty, own);
    expect(d.vxlan).toBe('create');
    expect(d.addRoutes).toHaveLength(2);
    expect(d.addNeighbors).toHaveLength(2);
    expect(d.addFdb).toHaveLength(2);
  });

  it('is empty once applied (adoption on restart does nothing)', () => {
    expect(
      isEmptyDiff(diffState(computeDesired(self, vxlan, peers), applied(self, vxlan, peers), own)),
    ).toBe(true);
  });

  it('removes a vanished peer (incl. one deleted while the agent was down) but never user state', () => {
    const actual = applied(self, vxlan, peers);
    actual.routes.push(
      {
        dst: '192.168.5.0/24',
        gateway: '10.200.0.254',
        dev: 'eth0',
        onlink: false,
        protocol: 4,
        table: 254,
      },
      { dst: '10.244.1.0/24', gateway: '', dev: 'cni0', onlink: false, protocol: 2, table: 254 },
      {
        dst: '10.244.9.0/24',
        gateway: '10.244.9.0',
        dev: 'flannel.1',
        onlink: true,
        protocol: 3,
        table: 254,
      },
    );
    actual.neighbors.push({
      dev: 'flannel.1',
      ip: '10.244.9.0',
      mac: '0e:00:00:00:00:09',
      permanent: true,
    });
    actual.neighbors.push({
      dev: 'eth0',
      ip: '10.200.0.254',
      mac: 'aa:00:00:00:00:09',
      permanent: true,
    });
    actual.fdb.push({ dev: 'flannel.1', mac: '0e:00:00:00:00:09', dst: '10.200.0.9' });
    const d = diffState(computeDesired(self, vxlan, peers.slice(0, 2)), actual, own);
    expect(d.removeRoutes.map((r) => r.dst).sort()).toEqual(['10.244.3.0/24', '10.244.9.0/24']);
    expect(d.removeNeighbors.map((n) => n.ip).sort()).toEqual(['10.244.3.0', '10.244.9.0']);
    expect(d.removeFdb.map((f) => f.mac).sort()).toEqual([
      '0e:00:00:00:00:03',
      '0e:00:00:00:00:09',
    ]);
    expect(d.addRoutes).toEqual([]);
  });

  it('replaces (never deletes) a peer whose MAC or IP changed, and adopts foreign-protocol routes', () => {
    const actual = applied(self, vxlan, peers);
    actual.routes[0]!.protocol = 3;
    const moved = peers.map((p) =>
      p.nodeName === 'n2' ? { ...p, publicIP: '10.200.0.22', vtepMAC: '0e:00:00:00:00:22' } : p,
    );
    const d = diffState(computeDesired(self, vxlan, moved), actual, own);
    expect(d.replaceRoutes.map((r) => r.dst)).toEqual(['10.244.2.0/24']);
    expect(d.replaceNeighbors).toEqual([
      { dev: 'flannel.1', ip: '10.244.2.0', mac: '0e:00:00:00:00:22' },
    ]);
    expect(d.addFdb).toEqual([{ dev: 'flannel.1', mac: '0e:00:00:00:00:22', dst: '10.200.0.22' }]);
    expect(d.removeFdb.map((f) => f.mac)).toEqual(['0e:00:00:00:00:02']);
    expect(d.removeRoutes).toEqual([]);
  });

  it('recreates a device whose VNI/port/local changed and treats its entries as gone', () => {
    const actual = applied(self, vxlan, peers);
    actual.vxlan!.port = 4789;
    const d = diffState(computeDesired(self, vxlan, peers), actual, own);
    expect(d.vxlan).toBe('create');
    expect(d.addNeighbors).toHaveLength(2);
  });

  it('updates MTU / down device in place', () => {
    const actual = applied(self, vxlan, peers);
    actual.vxlan!.up = false;
    expect(diffState(computeDesired(self, vxlan, peers), actual, own).vxlan).toBe('update');
  });

  it('property: desired then applied is always a fixed point; removing peers only removes', () => {
    const peerArb = fc.uniqueArray(fc.integer({ min: 2, max: 250 }), { maxLength: 30 }).map((ns) =>
      ns.map((n) => ({
        nodeName: `node-${n}`,
        subnet: `10.244.${n}.0/24`,
        publicIP: `10.${n % 2 ? 200 : 201}.0.${n}`,
        vtepMAC: `0e:00:00:00:00:${n.toString(16).padStart(2, '0')}`,
      })),
    );
    fc.assert(
      fc.property(peerArb, fc.boolean(), fc.nat(), (ps, dr, cut) => {
        const cfg = { ...vxlan, directRouting: dr };
        const actual = applied(self, cfg, ps);
        expect(isEmptyDiff(diffState(computeDesired(self, cfg, ps), actual, own))).toBe(true);
        const keep = ps.slice(0, ps.length ? cut % (ps.length + 1) : 0);
        const d = diffState(computeDesired(self, cfg, keep), actual, own);
        expect(
          d.addRoutes.length + d.replaceRoutes.length + d.addNeighbors.length + d.addFdb.length,
        ).toBe(0);
        expect(d.removeRoutes.length).toBe(ps.length - keep.length);
      }),
    );
  });
});

describe('helpers', () => {
  it('derives a stable, locally administered unicast MAC', () => {
    const m = deriveVtepMAC('node-a', 1);
    expect(m).toBe(deriveVtepMAC('node-a', 1));
    expect(m).not.toBe(deriveVtepMAC('node-a', 2));
    const first = parseInt(m.slice(0, 2), 16);
    expect(first & 1).toBe(0);
    expect(first & 2).toBe(2);
  });
  it('first usable address', () => {
    expect(firstUsable('10.244.1.0/24')).toBe('10.244.1.1/24');
    expect(firstUsable('fd00:10:244:1::/64')).toBe('fd00:10:244:1::1/64');
  });
});
