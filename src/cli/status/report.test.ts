import type { FlannelNetwork, SubnetLease } from '../../api/index.js';
import { buildStatusReport } from './report.js';
import { renderStatusTables } from './render.js';
import type { NodeLike } from './types.js';

const ready = (gen = 1) => [
  {
    type: 'Ready',
    status: 'True' as const,
    observedGeneration: gen,
    lastTransitionTime: 't',
    reason: 'Ready',
    message: '',
  },
  {
    type: 'Degraded',
    status: 'False' as const,
    observedGeneration: gen,
    lastTransitionTime: 't',
    reason: 'Healthy',
    message: '',
  },
];

function net(
  name: string,
  extra: Partial<FlannelNetwork['spec']> = {},
  status: FlannelNetwork['status'] = {},
): FlannelNetwork {
  return {
    metadata: { name, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      network: '10.244.0.0/16',
      backend: { type: 'vxlan', vni: 1, port: 8472, directRouting: false, gbp: false },
      ipMasq: true,
      netpol: { enabled: false },
      ...extra,
    },
    status: {
      capacity: 255,
      allocated: 2,
      free: 253,
      conditions: ready(),
      dataplane: { ready: 2, desired: 2 },
      ...status,
    },
  };
}
function lease(
  network: string,
  node: string,
  subnet: string,
  mac = 'aa:bb:cc:dd:ee:01',
  isReady = true,
): SubnetLease {
  return {
    metadata: {
      name: `${network}.${node}`,
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: { networkName: network, nodeName: node, subnet },
    status: {
      publicIP: '192.168.0.1',
      backend: { type: 'vxlan', vtepMAC: mac, vni: 1 },
      conditions: isReady ? ready() : undefined,
    },
  };
}
function node(name: string, podCIDR?: string, labels: Record<string, string> = {}): NodeLike {
  return {
    metadata: { name, labels },
    spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.9' }] },
  };
}

describe('buildStatusReport', () => {
  it('reports an IPv6-only network (no IPv4 anywhere) as healthy and consistent', () => {
    const v6 = net(
      'v6',
      { network: undefined, ipv6Network: 'fd00:10::/48' },
      { capacity: undefined, effective: { ipv6SubnetLen: 64 } },
    );
    const l: SubnetLease = {
      ...lease('v6', 'a', ''),
      spec: { networkName: 'v6', nodeName: 'a', ipv6Subnet: 'fd00:10:0:1::/64' },
      status: {
        publicIPv6: 'fd00:200::1',
        backend: { type: 'vxlan', v6VtepMAC: 'aa:bb:cc:dd:ee:06', vni: 1 },
        conditions: ready(),
      },
    };
    const n = { ...node('a', 'fd00:10:0:1::/64'), status: { addresses: [] } };
    const r = buildStatusReport([v6], [l], [n]);
    expect(r.warnings).toEqual([]);
    expect(r.networks[0]).toMatchObject({ ipv6Network: 'fd00:10::/48', subnetLen: 64 });
    expect(r.leases[0]).toMatchObject({ publicIP: 'fd00:200::1', vtepMAC: 'aa:bb:cc:dd:ee:06' });
    expect(r.nodes[0]).toMatchObject({ consistent: true, leaseSubnet: 'fd00:10:0:1::/64' });
  });

  it('reports a healthy cluster', () => {
    const r = buildStatusReport(
      [net('default')],
      [lease('default', 'a', '10.244.1.0/24'), lease('default', 'b', '10.244.2.0/24')],
      [node('a', '10.244.1.0/24'), node('b', '10.244.2.0/24')],
    );
    expect(r.healthy).toBe(true);
    expect(r.warnings).toEqual([]);
    expect(r.summary).toEqual({
      networks: 1,
      networksReady: 1,
      leases: 2,
      leasesReady: 2,
      nodes: 2,
      nodesConsistent: 2,
      warnings: 0,
    });
    expect(r.networks[0]).toMatchObject({
      name: 'default',
      backend: 'vxlan',
      vni: 1,
      capacity: 255,
      allocated: 2,
      free: 253,
      ready: 'True',
    });
    expect(r.nodes.map((n) => [n.name, n.network, n.lease, n.consistent])).toEqual([
      ['a', 'default', 'default.a', true],
      ['b', 'default', 'default.b', true],
    ]);
  });

  it('warns about node without lease, lease without node, mismatch and duplicates', () => {
    const r = buildStatusReport(
      [net('default')],
      [
        lease('default', 'a', '10.244.1.0/24'),
        lease('default', 'b', '10.244.9.0/24'),
        lease('default', 'gone', '10.244.1.0/24'),
      ],
      [node('a', '10.244.1.0/24'), node('b', '10.244.2.0/24'), node('c', '10.244.3.0/24')],
    );
    expect(r.healthy).toBe(false);
    const codes = r.warnings.map((w) => `${w.code} ${w.object}`).sort();
    expect(codes).toEqual([
      'DuplicateSubnet subnetlease/default.a',
      'LeaseWithoutNode subnetlease/default.gone',
      'NodeWithoutLease node/c',
      'PodCIDRMismatch node/b',
    ]);
    expect(r.warnings.find((w) => w.code === 'PodCIDRMismatch')!.message).toBe(
      'node b podCIDR 10.244.2.0/24 differs from lease default.b subnet 10.244.9.0/24',
    );
  });

  it('reports Degraded networks with reason, not-ready leases, and stale conditions as Unknown', () => {
    const degraded = net(
      'default',
      {},
      {
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            observedGeneration: 1,
            lastTransitionTime: 't',
            reason: 'NetworkExhausted',
            message: 'm',
          },
          {
            type: 'Degraded',
            status: 'True',
            observedGeneration: 1,
            lastTransitionTime: 't',
            reason: 'NetworkExhausted',
            message: '1 node(s) have no subnet',
          },
        ],
      },
    );
    const stale = net('other', { nodeSelector: { matchLabels: { pool: 'x' } } });
    stale.metadata.generation = 2;
    const r = buildStatusReport(
      [degraded, stale],
      [lease('default', 'a', '10.244.1.0/24', undefined, false)],
      [node('a', '10.244.1.0/24')],
    );
    expect(r.networks[0]).toMatchObject({
      degraded: 'True',
      reason: 'NetworkExhausted',
      message: '1 node(s) have no subnet',
    });
    expect(r.networks[1]).toMatchObject({
      ready: 'Unknown',
      reason: 'StaleStatus',
      message: 'status is for generation 1, spec is at 2',
    });
    const fresh = buildStatusReport([net('new', {}, { conditions: undefined })], [], []);
    expect(fresh.warnings[0]!.message).toBe(
      'network new has no current Ready condition (is the controller running?)',
    );
    expect(r.warnings.map((w) => w.code).sort()).toEqual([
      'LeaseNotReady',
      'NetworkNotReady',
      'NetworkNotReady',
    ]);
  });

  it('filters by network and assigns nodes via nodeSelector', () => {
    const r = buildStatusReport(
      [
        net('default', { nodeSelector: { matchLabels: { pool: 'a' } } }),
        net('blue', { network: '10.50.0.0/16', nodeSelector: { matchLabels: { pool: 'b' } } }),
      ],
      [lease('default', 'a', '10.244.1.0/24'), lease('blue', 'b', '10.50.1.0/24')],
      [
        node('a', '10.244.1.0/24', { pool: 'a' }),
        node('b', '10.50.1.0/24', { pool: 'b' }),
        node('z', undefined),
      ],
      { network: 'blue' },
    );
    expect(r.networks.map((n) => n.name)).toEqual(['blue']);
    expect(r.leases.map((l) => l.name)).toEqual(['blue.b']);
    expect(r.nodes.map((n) => n.name)).toEqual(['b']);
    expect(r.healthy).toBe(true);
  });

  it('labels directRouting and host-gw backends and computes free without status', () => {
    const r = buildStatusReport(
      [
        net('a', {
          backend: { type: 'vxlan', vni: 4, port: 4789, directRouting: true, gbp: false },
        }),
        net(
          'b',
          { backend: { type: 'host-gw', vni: 1, port: 8472, directRouting: false, gbp: false } },
          { capacity: 10, allocated: undefined, free: undefined },
        ),
      ],
      [lease('b', 'n', '10.244.1.0/24')],
      [],
    );
    expect(r.networks[0]).toMatchObject({ backend: 'vxlan+directRouting', vni: 4, port: 4789 });
    expect(r.networks[1]).toMatchObject({
      backend: 'host-gw',
      vni: undefined,
      allocated: 1,
      free: 9,
    });
  });

  it('renders tables with wide columns and health summary', () => {
    const r = buildStatusReport(
      [net('default')],
      [lease('default', 'a', '10.244.1.0/24')],
      [node('a', '10.244.1.0/24'), node('c')],
    );
    const now = new Date('2026-01-03T01:00:00Z');
    const text = renderStatusTables(r, false, now);
    expect(text).toContain(
      'NETWORKS\nNAME      NETWORK         BACKEND   VNI   CAPACITY   ALLOCATED   FREE   STATUS   DATAPLANE   AGE\n',
    );
    expect(text).toContain(
      'default   10.244.0.0/16   vxlan     1     255        2           253    Ready    2/2         2d1h\n',
    );
    expect(text).toContain(
      'NODE   NETWORK   SUBNET          PUBLIC-IP     VTEP-MAC            READY   AGE',
    );
    expect(text).toContain('c      default   <none>          no      no');
    expect(text).toContain('HEALTH: WARNING');
    expect(text).toContain('NodeWithoutLease: node c has no SubnetLease in network default');
    const wide = renderStatusTables(r, true, now);
    expect(wide).toContain('INTERNAL-IP');
    expect(wide).toContain('SUBNET-LEN');
  });
});
