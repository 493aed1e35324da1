import type { FlannelNetwork, SubnetLease } from '../api/index.js';
import {
  planNetwork,
  prepareNetworks,
  leaseObject,
  type NodeLike,
  type Action,
  type PlanSummary,
} from './plan.js';
import { computeStatus } from './status.js';
import { labelValue, leaseName } from '../api/index.js';

let t = Date.parse('2024-01-01T00:00:00Z');
const ts = (): string => new Date((t += 1000)).toISOString();

function net(
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<FlannelNetwork['metadata']> = {},
): FlannelNetwork {
  return {
    metadata: { name, uid: `uid-${name}`, generation: 1, creationTimestamp: ts(), ...extra },
    spec: spec as FlannelNetwork['spec'],
  };
}
function node(
  name: string,
  labels: Record<string, string> = {},
  podCIDR?: string | string[],
): NodeLike {
  const list = podCIDR === undefined ? undefined : Array.isArray(podCIDR) ? podCIDR : [podCIDR];
  return {
    metadata: { name, uid: `uid-${name}`, labels, creationTimestamp: ts() },
    spec: list ? { podCIDR: list[0], podCIDRs: list } : {},
  };
}
function lease(
  network: string,
  nodeName: string,
  subnet: string,
  extra: Partial<SubnetLease['metadata']> = {},
): SubnetLease {
  return {
    metadata: {
      name: `${network}.${nodeName}`,
      uid: `lease-${network}-${nodeName}-${subnet}`,
      creationTimestamp: ts(),
      ...extra,
    },
    spec: { nodeName, networkName: network, subnet },
  };
}
const creates = (as: Action[]) =>
  as.filter((a) => a.type === 'createLease') as Extract<Action, { type: 'createLease' }>[];
const deletes = (as: Action[]) =>
  as.filter((a) => a.type === 'deleteLease') as Extract<Action, { type: 'deleteLease' }>[];
const patches = (as: Action[]) =>
  as.filter((a) => a.type === 'patchNode') as Extract<Action, { type: 'patchNode' }>[];

function plan1(
  networks: FlannelNetwork[],
  nodes: NodeLike[],
  leases: SubnetLease[],
  which = networks[0]!.metadata.name!,
) {
  const all = prepareNetworks(networks);
  const n = all.find((x) => x.name === which)!;
  return {
    net: n,
    plan: planNetwork(
      n,
      all,
      nodes,
      leases.filter((l) => l.spec.networkName === which),
    ),
  };
}

describe('planNetwork', () => {
  it('allocates a unique subnet per node and patches empty podCIDRs', () => {
    const nodes = Array.from({ length: 5 }, (_, i) => node(`n${i}`));
    const { plan } = plan1([net('a', { network: '10.244.0.0/16' })], nodes, []);
    const c = creates(plan.actions);
    expect(c).toHaveLength(5);
    expect(new Set(c.map((x) => x.lease.subnet)).size).toBe(5);
    expect(c[0]).toMatchObject({
      lease: { name: 'a.n0', subnet: '10.244.1.0/24', adopted: false },
      patchNode: ['10.244.1.0/24'],
    });
    expect(plan.summary).toMatchObject({
      nodes: 5,
      leased: 5,
      allocated: 5,
      capacity: 255,
      exhausted: 0,
    });
  });

  it('keeps existing leases, patches a node whose patch was lost (crash between lease and node)', () => {
    const nodes = [node('n0'), node('n1', {}, '10.244.1.0/24')];
    const leases = [lease('a', 'n0', '10.244.7.0/24'), lease('a', 'n1', '10.244.1.0/24')];
    const { plan } = plan1([net('a', { network: '10.244.0.0/16' })], nodes, leases);
    expect(creates(plan.actions)).toHaveLength(0);
    expect(patches(plan.actions)).toEqual([
      { type: 'patchNode', nodeName: 'n0', podCIDRs: ['10.244.7.0/24'] },
    ]);
    expect(plan.summary.allocated).toBe(2);
  });

  it('adopts podCIDRs already set inside the network', () => {
    const { plan } = plan1(
      [net('a', { network: '10.244.0.0/16' })],
      [node('old', {}, '10.244.0.0/24'), node('new')],
      [],
    );
    const c = creates(plan.actions);
    expect(c.find((x) => x.lease.nodeName === 'old')).toMatchObject({
      lease: { subnet: '10.244.0.0/24', adopted: true },
    });
    expect(c.find((x) => x.lease.nodeName === 'old')!.patchNode).toBeUndefined();
    expect(c.find((x) => x.lease.nodeName === 'new')!.lease.subnet).toBe('10.244.1.0/24');
  });

  it('counts free subnets from in-range holders only (an adopted subnet below subnetMin uses no capacity)', () => {
    const { net: n, plan } = plan1(
      [net('a', { network: '10.244.0.0/16' })],
      [node('old', {}, '10.244.0.0/24'), node('new')],
      [],
    );
    // 10.244.0.0/24 lies below the default subnetMin 10.244.1.0/24: held, but not out of the 255.
    expect(plan.summary).toMatchObject({ capacity: 255, allocated: 2, free: 254 });
    const status = computeStatus({ network: n, summary: plan.summary, failures: 0, changed: true });
    expect(status).toMatchObject({ capacity: 255, allocated: 2, free: 254 });
  });

  it('skips a node whose podCIDR lies outside the network, with an event', () => {
    const { plan } = plan1(
      [net('a', { network: '10.244.0.0/16' })],
      [node('x', {}, '192.168.5.0/24')],
      [],
    );
    expect(plan.actions).toHaveLength(0);
    expect(plan.summary.skipped).toBe(1);
    expect(plan.events).toEqual([
      expect.objectContaining({ target: 'node', name: 'x', reason: 'PodCIDROutsideNetwork' }),
    ]);
  });

  it('releases leases of deleted, unselected and replaced nodes; never reuses their subnet in the same pass', () => {
    const nodes = [
      node('keep', { pool: 'a' }),
      node('moved', { pool: 'b' }),
      node('new', { pool: 'a' }),
    ];
    const leases = [
      lease('a', 'keep', '10.1.1.0/24'),
      lease('a', 'gone', '10.1.2.0/24'),
      lease('a', 'moved', '10.1.3.0/24'),
    ];
    const { plan } = plan1(
      [net('a', { network: '10.1.0.0/16', nodeSelector: { matchLabels: { pool: 'a' } } })],
      nodes,
      leases,
    );
    expect(deletes(plan.actions).map((d) => [d.nodeName, d.reason])).toEqual([
      ['gone', 'NodeDeleted'],
      ['moved', 'NodeNotSelected'],
    ]);
    expect(creates(plan.actions)[0]!.lease.subnet).toBe('10.1.4.0/24');
    // Next pass, once the deletions landed: the lowest free subnet is reused.
    const { plan: p2 } = plan1(
      [net('a', { network: '10.1.0.0/16' })],
      [node('keep'), node('n2')],
      [lease('a', 'keep', '10.1.1.0/24')],
    );
    expect(creates(p2.actions)[0]!.lease.subnet).toBe('10.1.2.0/24');
  });

  it('keeps the older of two leases with one subnet and flags the newer', () => {
    const older = lease('a', 'n1', '10.1.1.0/24');
    const newer = lease('a', 'n2', '10.1.1.0/24');
    const { net: n, plan } = plan1(
      [net('a', { network: '10.1.0.0/16' })],
      [node('n1'), node('n2')],
      [newer, older],
    );
    expect(plan.summary.conflicts).toEqual(['a.n2']);
    expect(plan.events).toContainEqual(
      expect.objectContaining({ target: 'lease', name: 'a.n2', reason: 'SubnetConflict' }),
    );
    expect(patches(plan.actions).map((p) => p.nodeName)).toEqual(['n1']);
    const status = computeStatus({
      network: n,
      summary: plan.summary,
      failures: 0,
      changed: false,
    });
    expect(status.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'SubnetConflict',
    });
  });

  it('reports exhaustion and still serves what fits', () => {
    const nodes = Array.from({ length: 5 }, (_, i) => node(`n${i}`));
    const { net: n, plan } = plan1(
      [net('a', { network: '10.3.0.0/24', subnetLen: 26 })],
      nodes,
      [],
    );
    expect(creates(plan.actions)).toHaveLength(3);
    expect(plan.summary.exhausted).toBe(2);
    expect(plan.events).toContainEqual(
      expect.objectContaining({ target: 'network', reason: 'NetworkExhausted', type: 'Warning' }),
    );
    const status = computeStatus({
      network: n,
      summary: plan.summary,
      failures: 0,
      changed: false,
    });
    const cond = Object.fromEntries(status.conditions!.map((c) => [c.type, c]));
    expect(cond.Degraded).toMatchObject({ status: 'True', reason: 'NetworkExhausted' });
    expect(cond.Ready!.status).toBe('False');
    expect(cond.Reconciling!.status).toBe('False');
    expect(status).toMatchObject({
      capacity: 3,
      allocated: 3,
      free: 0,
      effective: { subnetLen: 26 },
    });
  });

  it('refuses an overlapping newer network; the older keeps working', () => {
    const a = net('a', { network: '10.0.0.0/16', nodeSelector: { matchLabels: { pool: 'a' } } });
    const b = net('b', { network: '10.0.128.0/17', nodeSelector: { matchLabels: { pool: 'b' } } });
    const nodes = [node('x', { pool: 'a' }), node('y', { pool: 'b' })];
    expect(creates(plan1([a, b], nodes, []).plan.actions)).toHaveLength(1);
    const { net: nb, plan } = plan1([a, b], nodes, [], 'b');
    expect(nb.refused?.reason).toBe('OverlappingNetwork');
    expect(plan.actions).toHaveLength(0);
    const status = computeStatus({
      network: nb,
      summary: plan.summary,
      failures: 0,
      changed: false,
    });
    expect(status.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'OverlappingNetwork',
    });
  });

  it('gives a node selected by two networks to the older one', () => {
    const a = net('a', { network: '10.0.0.0/16' });
    const b = net('b', { network: '10.1.0.0/16', nodeSelector: { matchLabels: { pool: 'b' } } });
    const nodes = [node('x', { pool: 'b' })];
    expect(creates(plan1([a, b], nodes, []).plan.actions)).toHaveLength(1);
    const { plan } = plan1([a, b], nodes, [], 'b');
    expect(plan.actions).toHaveLength(0);
    expect(plan.summary.contested).toEqual(['x']);
    expect(plan.events).toContainEqual(
      expect.objectContaining({ reason: 'NodeSelectedByMultipleNetworks', name: 'x' }),
    );
  });

  it('marks invalid specs', () => {
    const all = prepareNetworks([
      net('bad', { network: '10.0.0.0/16', subnetLen: 8 }),
      net('none', {}),
    ]);
    expect(all.map((n) => n.refused?.reason)).toEqual(['InvalidSpec', 'InvalidSpec']);
  });

  it('allocates dual-stack and sets both podCIDRs', () => {
    const { plan } = plan1(
      [net('d', { network: '10.5.0.0/16', ipv6Network: 'fd00:5::/56' })],
      [node('n')],
      [],
    );
    expect(creates(plan.actions)[0]).toMatchObject({
      lease: { subnet: '10.5.1.0/24', ipv6Subnet: 'fd00:5:0:1::/64' },
      patchNode: ['10.5.1.0/24', 'fd00:5:0:1::/64'],
    });
  });

  it('allocates IPv6-only (no network) and sets the single v6 podCIDR; adopts a v6 podCIDR', () => {
    const { plan } = plan1(
      [net('v6', { ipv6Network: 'fd00:5::/56' })],
      [node('n'), node('m', {}, 'fd00:5:0:9::/64')],
      [],
    );
    const byNode = Object.fromEntries(
      creates(plan.actions).map((c) => [c.lease.nodeName, [c.lease, c.patchNode]]),
    );
    expect(byNode.n).toEqual([
      expect.objectContaining({ ipv6Subnet: 'fd00:5:0:1::/64' }),
      ['fd00:5:0:1::/64'],
    ]);
    expect(byNode.m).toEqual([
      expect.objectContaining({ ipv6Subnet: 'fd00:5:0:9::/64', adopted: true }),
      undefined,
    ]);

    expect(creates(plan.actions).every((c) => c.lease.subnet === undefined)).toBe(true);
  });

  it('re-leases when a node podCIDR (immutable) disagrees with its lease', () => {
    const { plan } = plan1(
      [net('a', { network: '10.1.0.0/16' })],
      [node('n', {}, '10.1.9.0/24')],
      [lease('a', 'n', '10.1.1.0/24')],
    );
    expect(deletes(plan.actions)).toEqual([expect.objectContaining({ reason: 'PodCIDRMismatch' })]);
    expect(creates(plan.actions)).toHaveLength(0);
  });

  it('keeps subnets of creates with unknown outcome claimed and their nodes waiting', () => {
    const all = prepareNetworks([net('a', { network: '10.1.0.0/16' })]);
    const p = planNetwork(
      all[0]!,
      all,
      [node('n1'), node('n2')],
      [],
      [lease('a', 'n1', '10.1.1.0/24')],
    );
    expect(creates(p.actions).map((c) => [c.lease.nodeName, c.lease.subnet])).toEqual([
      ['n2', '10.1.2.0/24'],
    ]);
  });

  it('reports Ready when every served node holds a lease', () => {
    const { net: n, plan } = plan1(
      [net('a', { network: '10.1.0.0/16' })],
      [node('n', {}, '10.1.1.0/24')],
      [lease('a', 'n', '10.1.1.0/24')],
    );
    const s = computeStatus({ network: n, summary: plan.summary, failures: 0, changed: false });
    expect(Object.fromEntries(s.conditions!.map((c) => [c.type, c.status]))).toEqual({
      Ready: 'True',
      Reconciling: 'False',
      Degraded: 'False',
    });
    expect(s.observedGeneration).toBe(1);
    const pending = computeStatus({
      network: n,
      summary: { ...plan.summary, nodes: 2 },
      failures: 0,
      changed: false,
    });
    expect(pending.conditions!.find((c) => c.type === 'Reconciling')!.status).toBe('True');
  });

  it('builds lease objects with labels and owner references', () => {
    const [n] = prepareNetworks([net('a', { network: '10.1.0.0/16' })]);
    const obj = leaseObject(n!, {
      name: 'a.n',
      nodeName: 'n',
      nodeUid: 'u1',
      subnet: '10.1.1.0/24',
      adopted: false,
    });
    expect(obj.metadata.labels).toEqual({
      'network.flannel-operator.io/network': 'a',
      'network.flannel-operator.io/node': 'n',
    });
    expect(obj.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'FlannelNetwork', name: 'a', controller: true }),
      expect.objectContaining({ kind: 'Node', name: 'n', uid: 'u1' }),
    ]);
    expect(labelValue('x'.repeat(100))).toHaveLength(63);
    expect(leaseName('n', 'y'.repeat(300)).length).toBeLessThanOrEqual(253);
  });
});

describe('planNetwork: a subnet held by any Node stays with that Node', () => {
  const conds = (n: Parameters<typeof computeStatus>[0]['network'], summary: PlanSummary) =>
    Object.fromEntries(
      computeStatus({ network: n, summary, failures: 0, changed: false }).conditions!.map((c) => [
        c.type,
        c,
      ]),
    );

  it("takes a younger node's podCIDR before giving the older node a subnet (adoption order)", () => {
    const { plan } = plan1(
      [net('a', { network: '10.244.0.0/16' })],
      [node('m1'), node('m2', {}, '10.244.1.0/24')],
      [],
    );
    expect(
      creates(plan.actions).map((c) => [c.lease.nodeName, c.lease.subnet, c.lease.adopted]),
    ).toEqual([
      ['m1', '10.244.2.0/24', false],
      ['m2', '10.244.1.0/24', true],
    ]);
    expect(plan.summary).toMatchObject({ nodes: 2, leased: 2, skipped: 0, podCIDRProblems: [] });
  });

  it('never hands out the podCIDR of a node that left the network; the node adopts it on return', () => {
    const sel = {
      nodeSelector: { matchExpressions: [{ key: 'evict', operator: 'DoesNotExist' }] },
    };
    const a = net('a', { network: '10.1.0.0/16', ...sel });
    const s1out = node('s1', { evict: 'yes' }, '10.1.1.0/24');
    const s2 = node('s2', {}, '10.1.2.0/24');
    const s3 = node('s3');
    // Same pass as the release, and the pass after it landed.
    const leases = [lease('a', 's1', '10.1.1.0/24'), lease('a', 's2', '10.1.2.0/24')];
    const p1 = plan1([a], [s1out, s2, s3], leases).plan;
    expect(deletes(p1.actions).map((d) => [d.nodeName, d.reason])).toEqual([
      ['s1', 'NodeNotSelected'],
    ]);
    expect(creates(p1.actions).map((c) => c.lease.subnet)).toEqual(['10.1.3.0/24']);
    const p2 = plan1([a], [s1out, s2, s3], leases.slice(1)).plan;
    expect(creates(p2.actions).map((c) => c.lease.subnet)).toEqual(['10.1.3.0/24']);
    expect(p2.summary).toMatchObject({ nodes: 2, allocated: 3 });
    const s1back = { ...s1out, metadata: { ...s1out.metadata, labels: {} } };
    const p3 = plan1([a], [s1back, s2, s3], [leases[1]!, lease('a', 's3', '10.1.3.0/24')]).plan;
    expect(creates(p3.actions)).toEqual([
      expect.objectContaining({
        lease: expect.objectContaining({ nodeName: 's1', subnet: '10.1.1.0/24', adopted: true }),
      }),
    ]);
  });

  it('keeps the podCIDR of a terminating node taken until the Node is gone', () => {
    const dying = node('dying', {}, '10.1.1.0/24');
    dying.metadata.deletionTimestamp = ts();
    const { plan } = plan1([net('a', { network: '10.1.0.0/16' })], [dying, node('n')], []);
    expect(creates(plan.actions).map((c) => [c.lease.nodeName, c.lease.subnet])).toEqual([
      ['n', '10.1.2.0/24'],
    ]);
  });

  it('gives a shared podCIDR (admin error) to one node only and says so for the other', () => {
    const { net: n, plan } = plan1(
      [net('a', { network: '10.1.0.0/16' })],
      [node('d1', {}, '10.1.1.0/24'), node('d2', {}, '10.1.1.0/24'), node('f')],
      [],
    );
    expect(creates(plan.actions).map((c) => [c.lease.nodeName, c.lease.subnet])).toEqual([
      ['d1', '10.1.1.0/24'],
      ['f', '10.1.2.0/24'],
    ]);
    expect(plan.events).toContainEqual(
      expect.objectContaining({
        target: 'node',
        name: 'd2',
        reason: 'PodCIDRConflict',
        note: expect.stringMatching(/10\.1\.1\.0\/24 is also node d1's podCIDR.*node skipped/),
      }),
    );
    expect(plan.summary).toMatchObject({ nodes: 3, leased: 2, skipped: 1 });
    const c = conds(n, plan.summary);
    expect(c.Ready).toMatchObject({ status: 'False', reason: 'UnusablePodCIDR' });
    expect(c.Degraded!.message).toMatch(
      /^1 node\(s\) have a podCIDR .*d2: node podCIDR 10\.1\.1\.0\/24/,
    );
    expect(c.Stalled).toMatchObject({ status: 'True', reason: 'UnusablePodCIDR' });
    expect(c.Reconciling).toMatchObject({
      status: 'False',
      reason: 'Blocked',
      message: '2/3 served nodes hold a lease; 1 have an unusable podCIDR (see Degraded)',
    });
  });

  it('reports a shared podCIDR also when the second Node is not served by the network', () => {
    const { plan } = plan1(
      [net('a', { network: '10.1.0.0/16', nodeSelector: { matchLabels: { pool: 'a' } } })],
      [node('d1', { pool: 'a' }, '10.1.1.0/24'), node('x', {}, '10.1.1.0/24')],
      [lease('a', 'd1', '10.1.1.0/24')],
    );
    expect(plan.summary.podCIDRProblems).toEqual([
      expect.stringMatching(/^x: node podCIDR 10\.1\.1\.0\/24 is also node d1's podCIDR/),
    ]);
    expect(plan.events).toContainEqual(
      expect.objectContaining({ name: 'x', note: expect.stringMatching(/it stays with d1$/) }),
    );
  });

  it('allocates nothing on top of podCIDRs of the wrong size or wider than the network', () => {
    const { net: n, plan } = plan1(
      [net('a', { network: '10.1.0.0/16' })],
      [
        node('half', {}, '10.1.1.128/25'),
        node('two', {}, '10.1.2.0/23'),
        node('hostbits', {}, '10.1.5.7/24'),
        node('other', { pool: 'x' }, '10.1.6.0/24'),
        node('f1'),
      ],
      [],
    );
    expect(creates(plan.actions).map((c) => [c.lease.nodeName, c.lease.subnet])).toEqual([
      ['other', '10.1.6.0/24'],
      ['f1', '10.1.4.0/24'],
    ]);
    expect(plan.summary.podCIDRProblems).toEqual([
      'half: node podCIDR 10.1.1.128/25 is not a /24 subnet of 10.1.0.0/16',
      'two: node podCIDR 10.1.2.0/23 is not a /24 subnet of 10.1.0.0/16',
      'hostbits: node podCIDR 10.1.5.7/24 is not a /24 subnet of 10.1.0.0/16',
    ]);
    // 255 subnets minus the four the misfits cover (.1, .2, .3, .5).
    expect(plan.summary.capacity).toBe(251);
    expect(conds(n, plan.summary).Degraded!.reason).toBe('UnusablePodCIDR');
    const wide = plan1(
      [net('b', { network: '10.2.0.0/16' })],
      [node('w', {}, '10.0.0.0/8'), node('f')],
      [],
    );
    expect(creates(wide.plan.actions)).toHaveLength(0);
    expect(wide.plan.summary).toMatchObject({ capacity: 0, skipped: 1, exhausted: 1 });
  });

  it('releases a lease (node without podCIDR) whose subnet another Node holds as podCIDR; that Node waits for it', () => {
    const leases = [lease('a', 'a1', '10.1.1.0/24')];
    const nodes = [node('a1'), node('b1', {}, '10.1.1.0/24')];
    const { net: n, plan } = plan1([net('a', { network: '10.1.0.0/16' })], nodes, leases);
    expect(patches(plan.actions)).toEqual([]);
    expect(deletes(plan.actions).map((d) => [d.nodeName, d.reason])).toEqual([
      ['a1', 'PodCIDRTakenByNode'],
    ]);
    expect(creates(plan.actions)).toEqual([]);
    expect(plan.summary).toMatchObject({ nodes: 2, leased: 0, skipped: 0 });
    expect(conds(n, plan.summary).Reconciling).toMatchObject({
      status: 'True',
      reason: 'AllocatingSubnets',
    });
    const next = plan1([net('a', { network: '10.1.0.0/16' })], nodes, []).plan;
    expect(creates(next.actions).map((c) => [c.lease.nodeName, c.lease.subnet])).toEqual([
      ['a1', '10.1.2.0/24'],
      ['b1', '10.1.1.0/24'],
    ]);
  });

  it('dual-stack: a node skipped for its IPv6 podCIDR keeps its IPv4 podCIDR taken', () => {
    const { plan } = plan1(
      [net('d', { network: '10.5.0.0/16', ipv6Network: 'fd00:5::/56' })],
      [node('m', {}, ['10.5.1.0/24', 'fd00:9::/64']), node('f')],
      [],
    );
    expect(creates(plan.actions).map((c) => [c.lease.nodeName, c.lease.subnet])).toEqual([
      ['f', '10.5.2.0/24'],
    ]);
    expect(plan.summary.podCIDRProblems).toEqual([
      expect.stringMatching(/^m: node podCIDR fd00:9::\/64 is outside IPv6 network/),
    ]);
  });

  it('does not claim "all served nodes hold a lease" while nodes wait for a subnet', () => {
    const nodes = Array.from({ length: 4 }, (_, i) => node(`n${i}`));
    const { net: n, plan } = plan1(
      [net('a', { network: '10.3.0.0/24', subnetLen: 26 })],
      nodes,
      [],
    );
    const c = conds(n, plan.summary);
    expect(c.Reconciling).toMatchObject({
      status: 'False',
      reason: 'Blocked',
      message: '3/4 served nodes hold a lease; 1 wait for a free subnet (see Degraded)',
    });
    expect(c.Ready!.status).toBe('False');
  });
});
