import {
  ROUTE_PROTOCOL,
  diffState,
  type ActualState,
  type DesiredState,
  type NetworkConfig,
  type SelfInfo,
} from '../../agent/desired.js';
import { computeDesired } from '../../agent/planner.js';
import { renderNft } from '../../agent/netfilter/render.js';
import {
  describeDiff,
  fileDifferences,
  nftDifferences,
  parseNftJson,
  wireguardDifferences,
} from './compare.js';

const cfg: NetworkConfig = {
  network: '10.244.0.0/16',
  type: 'vxlan',
  vni: 1,
  port: 8472,
  directRouting: false,
};
const self: SelfInfo = {
  nodeName: 'a',
  subnet: '10.244.1.0/24',
  publicIP: '10.200.0.1',
  underlay: { name: 'eth0', index: 2, mtu: 1500, ip: '10.200.0.1', prefix: '10.200.0.0/24' },
  vtepMAC: '02:00:00:00:00:01',
};
const peers = [
  { nodeName: 'a', subnet: '10.244.1.0/24', publicIP: '10.200.0.1', vtepMAC: '02:00:00:00:00:01' },
  { nodeName: 'b', subnet: '10.244.2.0/24', publicIP: '10.200.0.2', vtepMAC: '02:00:00:00:00:02' },
  { nodeName: 'c', subnet: '10.244.3.0/24', publicIP: '10.201.0.1', vtepMAC: '02:00:00:00:00:03' },
];
const own = { network: '10.244.0.0/16', vxlanDev: 'flannel.1', ownSubnet: '10.244.1.0/24' };

/** The kernel exactly as the agent would leave it. */
function programmed(d: DesiredState): ActualState {
  return {
    vxlan: { ...d.vxlan!, up: true, learning: false, addresses: [d.vxlan!.address] },
    routes: d.routes.map((r) => ({ ...r, protocol: ROUTE_PROTOCOL, table: 254 })),
    neighbors: d.neighbors.map((n) => ({ ...n, permanent: true })),
    fdb: d.fdb.map((f) => ({ ...f })),
  };
}

describe('describeDiff', () => {
  const desired = computeDesired(self, cfg, peers);

  it('is empty for a kernel programmed by the agent', () => {
    const actual = programmed(desired);
    expect(describeDiff(desired, actual, diffState(desired, actual, own))).toEqual([]);
  });

  it('finds a route removed by hand, a wrong neighbor MAC, an extra fdb entry', () => {
    const actual = programmed(desired);
    actual.routes = actual.routes.filter((r) => r.dst !== '10.244.3.0/24');
    actual.neighbors[0] = { ...actual.neighbors[0]!, mac: '02:00:00:00:00:99' };
    actual.fdb.push({ dev: 'flannel.1', mac: '02:00:00:00:00:77', dst: '10.200.0.77' });
    const diffs = describeDiff(desired, actual, diffState(desired, actual, own));
    expect(diffs).toEqual([
      {
        kind: 'route',
        change: 'missing',
        object: '10.244.3.0/24',
        want: '10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
      },
      {
        kind: 'neighbor',
        change: 'wrong',
        object: '10.244.2.0',
        want: '10.244.2.0 lladdr 02:00:00:00:00:02 dev flannel.1 permanent',
        have: '10.244.2.0 lladdr 02:00:00:00:00:99 dev flannel.1 permanent',
      },
      {
        kind: 'fdb',
        change: 'extra',
        object: '02:00:00:00:00:77',
        have: '02:00:00:00:00:77 dev flannel.1 dst 10.200.0.77',
      },
    ]);
  });

  it('finds stale routes of vanished nodes and routes not stamped by the agent', () => {
    const actual = programmed(desired);
    actual.routes.push({
      dst: '10.244.9.0/24',
      gateway: '10.244.9.0',
      dev: 'flannel.1',
      onlink: true,
      protocol: 4,
      table: 254,
    });
    actual.routes[0] = { ...actual.routes[0]!, protocol: 4 };
    const diffs = describeDiff(desired, actual, diffState(desired, actual, own));
    expect(diffs.map((d) => `${d.kind} ${d.change} ${d.object}`)).toEqual([
      'route wrong 10.244.2.0/24',
      'route extra 10.244.9.0/24',
    ]);
    expect(diffs[0]!.have).toBe('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink proto 4');
  });

  it('reports device field differences and a missing device', () => {
    const actual = programmed(desired);
    actual.vxlan = { ...actual.vxlan!, mtu: 1400, up: false };
    expect(describeDiff(desired, actual, diffState(desired, actual, own))).toEqual([
      { kind: 'device', change: 'wrong', object: 'flannel.1 mtu', want: '1450', have: '1400' },
      { kind: 'device', change: 'wrong', object: 'flannel.1 state', want: 'up', have: 'down' },
    ]);
    const none: ActualState = { routes: [], neighbors: [], fdb: [] };
    const diffs = describeDiff(desired, none, diffState(desired, none, own));
    expect(diffs[0]).toEqual({
      kind: 'device',
      change: 'missing',
      object: 'flannel.1',
      want: 'vxlan id 1 dstport 8472 local 10.200.0.1 mtu 1450 address 02:00:00:00:00:01',
    });
    expect(diffs.filter((d) => d.change === 'missing')).toHaveLength(7);
  });
});

describe('describeDiff with host-gw', () => {
  it('wants underlay routes and reports a leftover vxlan device as extra', () => {
    const hg: NetworkConfig = { ...cfg, type: 'host-gw' };
    const desired = computeDesired(self, hg, peers);
    const actual: ActualState = {
      vxlan: {
        name: 'flannel.1',
        vni: 1,
        port: 8472,
        local: '10.200.0.1',
        linkIndex: 2,
        mtu: 1450,
        mac: '02:00:00:00:00:01',
        address: '10.244.1.0/32',
        up: true,
        learning: false,
        addresses: [],
      },
      routes: [],
      neighbors: [],
      fdb: [],
    };
    const diffs = describeDiff(desired, actual, diffState(desired, actual, own));
    expect(diffs).toEqual([
      { kind: 'device', change: 'extra', object: 'flannel.1', have: 'vxlan id 1' },
      {
        kind: 'route',
        change: 'missing',
        object: '10.244.2.0/24',
        want: '10.244.2.0/24 via 10.200.0.2 dev eth0',
      },
    ]);
    // c is on another L2 segment: host-gw cannot reach it, the agent leaves it pending.
    expect(desired.pending).toEqual([
      { nodeName: 'c', reason: 'host-gw peer 10.201.0.1 is not on 10.200.0.0/24' },
    ]);
  });
});

describe('netfilter and file checks', () => {
  const rules = {
    family: 'ipv4' as const,
    network: '10.244.0.0/16',
    podSubnet: '10.244.1.0/24',
    ipMasq: true,
  };
  const want = renderNft(rules);
  const nftJson = (comment: string, postrtg: number, forward: number): string =>
    JSON.stringify({
      nftables: [
        { metainfo: { version: '1' } },
        { table: { family: 'ip', name: 'flannel-operator-ipv4', comment } },
        { chain: { name: 'postrtg' } },
        { chain: { name: 'forward' } },
        ...Array.from({ length: postrtg }, () => ({ rule: { chain: 'postrtg' } })),
        ...Array.from({ length: forward }, () => ({ rule: { chain: 'forward' } })),
      ],
    });

  it('accepts the rendered table', () => {
    const have = parseNftJson(nftJson(`flannel-operator ${want.hash}`, 6, 2));
    expect(nftDifferences('flannel-operator-ipv4', want, true, have)).toEqual([]);
  });
  it('reports a missing table, a deleted rule, a foreign hash', () => {
    expect(nftDifferences('t', want, true, { present: false, chains: {} })[0]).toMatchObject({
      change: 'missing',
      object: 'table t',
    });
    const have = parseNftJson(nftJson('flannel-operator 0000', 5, 2));
    expect(nftDifferences('t', want, true, have).map((d) => `${d.change} ${d.object}`)).toEqual([
      'wrong chain t/postrtg',
      'wrong table t rules',
    ]);
  });
  it('compares subnet.env line by line', () => {
    expect(fileDifferences('/f', 'A=1\nB=2\n', 'A=1\nB=3\nC=4\n')).toEqual([
      { kind: 'file', change: 'wrong', object: '/f B', want: 'B=2', have: 'B=3' },
      { kind: 'file', change: 'extra', object: '/f C', have: 'C=4' },
    ]);
    expect(fileDifferences('/f', 'A=1\n', undefined)[0]!.change).toBe('missing');
  });
});

describe('wireguardDifferences', () => {
  const KEY = (c: string) => `${c.repeat(42)}A=`;
  const want = [
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
      ],
    },
  ];
  const link = { mtu: 1440, up: true, addresses: ['10.244.1.0/32'] };
  const peer = { ...want[0]!.peers[0]!, latestHandshake: 0 };

  it('is empty when device, key and peers match (pre-shared keys are not compared)', () => {
    const here = new Map([
      [
        'flannel-wg',
        {
          link,
          dump: {
            publicKey: KEY('a'),
            listenPort: 51820,
            peers: [{ ...peer, pskDigest: 'x' }],
          },
        },
      ],
    ]);
    expect(wireguardDifferences(want, here, KEY('a'))).toEqual([]);
  });

  it('reports a missing device, a foreign key, a wrong MTU, missing and extra peers', () => {
    expect(wireguardDifferences(want, new Map(), KEY('a'))).toEqual([
      {
        kind: 'device',
        change: 'missing',
        object: 'flannel-wg',
        want: 'wireguard listen-port 51820 mtu 1440',
      },
    ]);
    const stale = { ...peer, publicKey: KEY('z'), endpoint: '10.9.9.9:51820' };
    const here = new Map([
      [
        'flannel-wg',
        {
          link: { ...link, mtu: 1420 },
          dump: { publicKey: KEY('x'), listenPort: 51820, peers: [stale] },
        },
      ],
    ]);
    expect(
      wireguardDifferences(want, here, KEY('a')).map((d) => [d.kind, d.change, d.object]),
    ).toEqual([
      ['device', 'wrong', 'flannel-wg public-key'],
      ['device', 'wrong', 'flannel-wg mtu'],
      ['wireguard-peer', 'missing', `flannel-wg n2 ${KEY('b')}`],
      ['wireguard-peer', 'extra', `flannel-wg ${KEY('z')}`],
    ]);
  });
});
