import {
  addressProblem,
  duplicateProblems,
  leaseOfNode,
  macProblem,
  oneLeasePerNode,
  peerOfLease,
} from './peers.js';
import { type NetworkConfig, type PeerLease, type SelfInfo } from './desired.js';
import { computeDesired, planDesired } from './planner.js';
import type { SubnetLease } from '../api/index.js';

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
const hostGw: NetworkConfig = { ...vxlan, type: 'host-gw' };
const peer = (n: number, extra: Partial<PeerLease> = {}): PeerLease => ({
  nodeName: `n${n}`,
  subnet: `10.244.${n}.0/24`,
  publicIP: `10.200.0.${n}`,
  vtepMAC: `0e:00:00:00:00:0${n}`,
  created: n * 1000,
  ...extra,
});

/** The peers the agent's planner refuses: nodeName -> why. */
const rejectedPeers = (s: SelfInfo, cfg: NetworkConfig, leases: PeerLease[]): Map<string, string> =>
  new Map(
    planDesired(s, cfg, leases)
      .rejectedPeers()
      .map((p) => [p.nodeName, p.reason.replace(/^rejected: /, '')]),
  );

describe('macProblem / addressProblem', () => {
  it.each([
    ['0e:00:00:00:00:02', undefined],
    ['0E:00:00:00:00:02', undefined],
    ['00:00:00:00:00:00', 'is the zero address'],
    ['ff:ff:ff:ff:ff:ff', 'is the broadcast address'],
    ['01:00:5e:00:00:01', 'is a multicast address'],
    ['33:33:00:00:00:01', 'is a multicast address'],
    ['0e:00:00:00:00', 'is not a MAC address'],
  ])('%s: %s', (mac, problem) => expect(macProblem(mac)).toBe(problem));

  it.each([
    ['10.200.0.2', false],
    ['192.0.2.1', false],
    ['fd00::2', false],
    ['127.0.0.1', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['224.0.0.5', true],
    ['169.254.1.1', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['ff02::1', true],
    ['not-an-ip', true],
  ])('%s rejected: %s', (ip, bad) => expect(addressProblem(ip) !== undefined).toBe(bad));
});

describe('duplicateProblems (the controller verdict)', () => {
  const byVtep = { uniqueAddresses: false };
  it('the older lease keeps the value (creation time, then name), whatever the input order', () => {
    const a = peer(2, { vtepMAC: '0e:aa:00:00:00:01', created: 5000 });
    const b = peer(3, { vtepMAC: '0E:AA:00:00:00:01', created: 1000 });
    const c = peer(4, { vtepMAC: '0e:aa:00:00:00:01', created: 1000 });
    const why = (mac: string): string[] => [
      `vtepMAC ${mac} is already published by the older lease of node n3`,
    ];
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, a, c],
    ])
      expect(duplicateProblems(order, byVtep)).toEqual(
        new Map([
          ['n2', why('0e:aa:00:00:00:01')],
          ['n4', why('0e:aa:00:00:00:01')],
        ]),
      );
  });

  it('addresses count only where routes go via publicIP, compared by value', () => {
    const a = peer(2, { publicIPv6: 'fd00:0::1' });
    const b = peer(3, { publicIPv6: 'FD00::1' });
    expect(duplicateProblems([a, b], byVtep)).toEqual(new Map());
    expect(duplicateProblems([b, a], { uniqueAddresses: true })).toEqual(
      new Map([['n3', ['publicIPv6 FD00::1 is already published by the older lease of node n2']]]),
    );
  });

  it('lists every repeated field of a lease, in field order', () => {
    const a = peer(2, { publicIP: '10.200.0.9', vtepMAC: '0e:aa:00:00:00:01' });
    const b = peer(3, { publicIP: '10.200.0.9', vtepMAC: '0e:aa:00:00:00:01' });
    expect(duplicateProblems([b, a], { uniqueAddresses: true }).get('n3')).toEqual([
      'vtepMAC 0e:aa:00:00:00:01 is already published by the older lease of node n2',
      'publicIP 10.200.0.9 is already published by the older lease of node n2',
    ]);
  });
});

describe('rejectedPeers (the agent planner)', () => {
  it('accepts honest peers', () => {
    expect(rejectedPeers(self, vxlan, [peer(1), peer(2), peer(3)])).toEqual(new Map());
  });

  it("refuses a peer that publishes another peer's VTEP MAC: the younger one loses", () => {
    const thief = peer(3, { vtepMAC: '0e:00:00:00:00:02' });
    const r = rejectedPeers(self, vxlan, [peer(1), peer(2), thief]);
    expect([...r.keys()]).toEqual(['n3']);
    expect(r.get('n3')).toBe(
      'vtepMAC 0e:00:00:00:00:02 is already published by the older lease of node n2',
    );
    // The same for the v6 MAC.
    const v6 = rejectedPeers(self, vxlan, [
      peer(2, { v6VtepMAC: '0e:66:00:00:00:02' }),
      peer(3, { v6VtepMAC: '0e:66:00:00:00:02' }),
    ]);
    expect([...v6.keys()]).toEqual(['n3']);
  });

  it("refuses a peer that publishes this node's MAC or address, whatever its age", () => {
    const r = rejectedPeers(self, vxlan, [
      peer(2, { vtepMAC: '0E:00:00:00:00:01', created: 0 }),
      peer(3, { publicIP: '10.200.0.1', created: 0 }),
    ]);
    expect(r.get('n2')).toMatch(/this node's own VTEP MAC/);
    expect(r.get('n3')).toMatch(/is an address of this node/);
  });

  it.each([
    ['zero MAC', { vtepMAC: '00:00:00:00:00:00' }, /vtepMAC .* is the zero address/],
    ['broadcast MAC', { vtepMAC: 'ff:ff:ff:ff:ff:ff' }, /broadcast/],
    ['multicast MAC', { vtepMAC: '01:00:5e:00:00:01' }, /multicast/],
    ['loopback publicIP', { publicIP: '127.0.0.1' }, /publicIP 127.0.0.1 is not a unicast/],
    ['multicast publicIP', { publicIP: '239.0.0.1' }, /not a unicast/],
    ['unspecified publicIP', { publicIP: '0.0.0.0' }, /not a unicast/],
    ['broadcast publicIP', { publicIP: '255.255.255.255' }, /not a unicast/],
    ['link-local publicIPv6', { publicIPv6: 'fe80::1' }, /publicIPv6 fe80::1 is not a unicast/],
  ])('refuses a %s', (_n, extra, why) => {
    expect(rejectedPeers(self, vxlan, [peer(2, extra)]).get('n2')).toMatch(why);
  });

  it("host-gw and DirectRouting: an address another (older) peer publishes is refused; vxlan alone doesn't care", () => {
    const twin = peer(3, { publicIP: '10.200.0.2', vtepMAC: '0e:00:00:00:00:03' });
    expect(rejectedPeers(self, hostGw, [peer(2), twin]).get('n3')).toBe(
      'publicIP 10.200.0.2 is already published by the older lease of node n2',
    );
    expect(rejectedPeers(self, { ...vxlan, directRouting: true }, [peer(2), twin]).has('n3')).toBe(
      true,
    );
    expect(rejectedPeers(self, vxlan, [peer(2), twin]).has('n3')).toBe(false);
  });

  it('refuses a lease the controller marked BackendRejected', () => {
    const r = rejectedPeers(self, vxlan, [peer(2, { rejected: 'publicIP is not a Node address' })]);
    expect(r.get('n2')).toBe('the controller rejected its lease: publicIP is not a Node address');
  });

  it('ignores its own lease and leases being deleted', () => {
    const r = rejectedPeers(self, vxlan, [
      peer(1, { vtepMAC: '00:00:00:00:00:00' }),
      peer(2, { vtepMAC: '0e:00:00:00:00:01', deleting: true }),
    ]);
    expect(r).toEqual(new Map());
  });
});

describe('computeDesired with a hostile peer', () => {
  it('programs nothing for it (v4 and v6) and reports it as rejected', () => {
    const thief = peer(3, {
      vtepMAC: '0e:00:00:00:00:02',
      ipv6Subnet: 'fd00:244:3::/64',
      publicIPv6: 'fd00:200::3',
      v6VtepMAC: '0e:66:00:00:00:03',
    });
    const d = computeDesired(
      {
        ...self,
        subnetV6: 'fd00:244:1::/64',
        publicIPv6: 'fd00:200::1',
        underlay: { ...self.underlay, ipv6: 'fd00:200::1', prefixV6: 'fd00:200::/64' },
      },
      { ...vxlan, ipv6Network: 'fd00:244::/48' },
      [peer(1), peer(2), thief],
    );
    expect(d.peers.map((p) => p.nodeName)).toEqual(['n2']);
    expect(d.fdb).toEqual([{ dev: 'flannel.1', mac: '0e:00:00:00:00:02', dst: '10.200.0.2' }]);
    expect(
      d.routes.some((r) => r.dst.startsWith('10.244.3.') || r.dst.startsWith('fd00:244:3:')),
    ).toBe(false);
    expect(d.pending).toEqual([
      {
        nodeName: 'n3',
        reason:
          'rejected: vtepMAC 0e:00:00:00:00:02 is already published by the older lease of node n2',
        rejected: true,
      },
    ]);
  });
});

describe('peerOfLease', () => {
  it('carries the creation time and the controller verdict', () => {
    const l: SubnetLease = {
      metadata: { name: 'net.n2', creationTimestamp: '2026-01-01T00:00:01Z' },
      spec: { nodeName: 'n2', networkName: 'net', subnet: '10.244.2.0/24' },
      status: {
        conditions: [
          {
            type: 'BackendRejected',
            status: 'True',
            reason: 'DuplicateBackendData',
            message: 'dup',
            lastTransitionTime: '2026-01-01T00:00:02Z',
          },
        ],
      },
    };
    expect(peerOfLease(l)).toMatchObject({
      created: Date.parse('2026-01-01T00:00:01Z'),
      rejected: 'dup',
    });
    l.status!.conditions![0]!.status = 'False';
    expect(peerOfLease(l).rejected).toBeUndefined();
  });
});

describe('one lease per node (an admin made a second lease for a node)', () => {
  const l = (name: string, node: string, created: string, deleting = false): SubnetLease =>
    ({
      metadata: {
        name,
        creationTimestamp: created,
        ...(deleting ? { deletionTimestamp: '2026-01-03T00:00:00Z' } : {}),
      },
      spec: { nodeName: node, networkName: 'net', subnet: '10.244.9.0/24' },
    }) as SubnetLease;
  const older = l('net.n2', 'n2', '2026-01-01T00:00:00Z');
  const newer = l('aaa-n2', 'n2', '2026-01-02T00:00:00Z');
  const twin = l('net.n2-twin', 'n2', '2026-01-01T00:00:00Z');
  const other = l('net.n3', 'n3', '2026-01-02T00:00:00Z');

  it.each([
    ['the older one, whatever the list order', [newer, older], older],
    ['the older one, either order', [older, newer], older],
    ['at equal age, the first by name', [twin, older], older],
    ['one not being deleted', [l('net.n2', 'n2', '2026-01-01T00:00:00Z', true), newer], newer],
  ])('keeps %s', (_what, leases, kept) => {
    expect(leaseOfNode([...leases, other], 'n2')).toBe(kept);
    expect(oneLeasePerNode([...leases, other])).toEqual([kept, other]);
    expect(oneLeasePerNode([other, ...[...leases].reverse()])).toEqual([other, kept]);
  });

  it('no lease for a node: undefined', () => {
    expect(leaseOfNode([older, other], 'n4')).toBeUndefined();
  });
});
