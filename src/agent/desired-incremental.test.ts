import fc from 'fast-check';
import {
  diffCount,
  isEmptyDiff,
  type Diff,
  type DesiredState,
  type NetworkConfig,
  type PeerLease,
  type SelfInfo,
} from './desired.js';
import { computeDesired, planDesired } from './planner.js';

/**
 * The peer pass sets one lease at a time on the planner of the last full pass. Whatever the
 * sequence of adds, changes and removals, the planner must hold exactly what a full build of the
 * leases of that moment holds, and its diffs must add up to the same kernel objects.
 */

const self: SelfInfo = {
  nodeName: 'n0',
  subnet: '10.244.0.0/24',
  publicIP: '10.200.0.1',
  vtepMAC: '0e:00:00:00:00:01',
  subnetV6: 'fd00:10::/64',
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
const base: NetworkConfig = {
  network: '10.244.0.0/16',
  type: 'vxlan',
  vni: 1,
  port: 8472,
  directRouting: false,
};
const configs: Record<string, NetworkConfig> = {
  vxlan: base,
  directRouting: { ...base, directRouting: true },
  hostGw: { ...base, type: 'host-gw' },
  dualStack: { ...base, ipv6Network: 'fd00::/48' },
  dualHostGw: { ...base, type: 'host-gw', ipv6Network: 'fd00::/48' },
  v6only: { ...base, network: undefined, ipv6Network: 'fd00::/48' },
};

// Small pools, so that leases collide: same subnet (also this node's), the same network address
// with another length, the same MAC or address (also this node's), hostile and missing values.
const names = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
const subnets = [
  '10.244.0.0/24',
  '10.244.1.0/24',
  '10.244.2.0/24',
  '10.244.2.0/25',
  '10.9.0.0/24',
  'bogus',
];
const subnetsV6 = ['fd00:10::/64', 'fd00:11::/64', 'fd00:12::/64', 'fd00:12::/80', 'fd01::/64'];
const ips = ['10.200.0.1', '10.200.0.2', '10.200.0.3', '10.201.0.4', '127.0.0.1', 'nope'];
const ipsV6 = ['fd00:200::1', 'fd00:200::2', 'fd00:200:0::3', 'fd00:201::4', '::1'];
const macs = [
  '0e:00:00:00:00:01',
  '0e:00:00:00:00:02',
  '0E:00:00:00:00:02',
  '0e:00:00:00:00:03',
  '01:00:5e:00:00:01',
  'x',
];
const macsV6 = ['0e:00:00:00:06:01', '0e:00:00:00:06:02', '0e:00:00:00:06:03'];

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq: 3 });

const leaseOf = (node: string): fc.Arbitrary<PeerLease> =>
  fc.record({
    nodeName: fc.constant(node),
    subnet: maybe(fc.constantFrom(...subnets)),
    publicIP: maybe(fc.constantFrom(...ips)),
    vtepMAC: maybe(fc.constantFrom(...macs)),
    ipv6Subnet: maybe(fc.constantFrom(...subnetsV6)),
    publicIPv6: maybe(fc.constantFrom(...ipsV6)),
    v6VtepMAC: maybe(fc.constantFrom(...macsV6)),
    deleting: fc.constantFrom(undefined, undefined, undefined, undefined, undefined, true),
    created: maybe(fc.constantFrom(1, 2, 3)),
    rejected: fc.constantFrom(undefined, undefined, undefined, undefined, 'not a Node address'),
  });

/** One step: a node gets a (new) lease, or loses it. */
const step = fc
  .constantFrom(...names)
  .chain((n) => fc.tuple(fc.constant(n), fc.option(leaseOf(n), { nil: undefined, freq: 4 })));

/** Kernel objects by key, as a sequence of diffs leaves them. */
type Objects = Map<string, string>;

function objectsOf(d: DesiredState): Objects {
  const m: Objects = new Map();
  for (const r of d.routes) m.set(`route ${r.dst}`, JSON.stringify(r));
  for (const n of d.neighbors) m.set(`neigh ${n.dev}|${n.ip}`, JSON.stringify(n));
  for (const f of d.fdb) m.set(`fdb ${f.dev}|${f.mac}`, JSON.stringify(f));
  return m;
}

function apply(m: Objects, d: Diff): void {
  const kinds = [
    ['route', d.addRoutes, d.replaceRoutes, d.removeRoutes, (r: { dst: string }) => r.dst],
    [
      'neigh',
      d.addNeighbors,
      d.replaceNeighbors,
      d.removeNeighbors,
      (n: { dev: string; ip: string }) => `${n.dev}|${n.ip}`,
    ],
    [
      'fdb',
      d.addFdb,
      d.replaceFdb,
      d.removeFdb,
      (f: { dev: string; mac: string }) => `${f.dev}|${f.mac}`,
    ],
  ] as const;
  for (const [kind, add, replace, remove, key] of kinds) {
    for (const x of remove as Array<never>) {
      const k = `${kind} ${(key as (x: never) => string)(x)}`;
      expect(m.get(k)).toBe(JSON.stringify(x)); // removes exactly what is there
      m.delete(k);
    }
    for (const x of add as Array<never>) {
      const k = `${kind} ${(key as (x: never) => string)(x)}`;
      expect(m.has(k)).toBe(false); // adds only what is missing
      m.set(k, JSON.stringify(x));
    }
    for (const x of replace as Array<never>) {
      const k = `${kind} ${(key as (x: never) => string)(x)}`;
      expect(m.has(k)).toBe(true);
      expect(m.get(k)).not.toBe(JSON.stringify(x)); // replaces only what differs
      m.set(k, JSON.stringify(x));
    }
  }
}

describe('PeerPlanner: one lease at a time equals a full build', () => {
  for (const [name, cfg] of Object.entries(configs)) {
    it(`${name}: any sequence of adds, changes and removals`, () => {
      fc.assert(
        fc.property(
          fc.array(step, { maxLength: 40 }),
          fc.array(step, { maxLength: 40 }),
          (start, seq) => {
            const leases = new Map<string, PeerLease>();
            for (const [n, l] of start)
              if (l) leases.set(n, l);
              else leases.delete(n);
            const planner = planDesired(self, cfg, [...leases.values()]);
            const kernel = objectsOf(planner.state());
            for (const [n, l] of seq) {
              if (l) leases.set(n, l);
              else leases.delete(n);
              planner.set(n, l);
              const diff = planner.takeDiff();
              // The full build of this moment, from the leases in another order.
              const full = computeDesired(self, cfg, [...leases.values()].reverse());
              expect(planner.state()).toEqual(full);
              apply(kernel, diff);
              expect(kernel).toEqual(objectsOf(full));
              expect(planner.rejectedPeers()).toEqual(full.pending.filter((p) => p.rejected));
              const first = full.peers.filter((p) =>
                cfg.network ? !p.family : p.family === 'ipv6',
              );
              expect(planner.summary()).toEqual({
                modes: {
                  vxlan: first.filter((p) => p.mode === 'vxlan').length,
                  'host-gw': first.filter((p) => p.mode === 'host-gw').length,
                  wireguard: 0,
                },
                peers: full.peers.length,
                pending: full.pending.length,
              });
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('a full build does not depend on the order of the leases', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 30 }),
        fc.constantFrom(...Object.values(configs)),
        (seq, cfg) => {
          const leases = new Map<string, PeerLease>();
          for (const [n, l] of seq) if (l) leases.set(n, l);
          const list = [...leases.values()];
          expect(computeDesired(self, cfg, list)).toEqual(
            computeDesired(self, cfg, [...list].reverse()),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('PeerPlanner: a lease cannot take what an earlier one holds', () => {
  const peer = (
    n: string,
    subnet: string,
    ip: string,
    mac: string,
    created?: number,
  ): PeerLease => ({
    nodeName: n,
    subnet,
    publicIP: ip,
    vtepMAC: mac,
    created,
  });
  const a = peer('n1', '10.244.1.0/24', '10.200.0.2', '0e:00:00:00:00:02', 1);

  it("a later lease with another node's subnet stays pending, and takes it only once it is free", () => {
    const planner = planDesired(self, base, [a]);
    planner.set('n2', peer('n2', '10.244.1.0/24', '10.200.0.3', '0e:00:00:00:00:03', 2));
    expect(planner.takeDiff().addRoutes).toEqual([]);
    expect(planner.state().pending).toEqual([
      { nodeName: 'n2', reason: 'subnet 10.244.1.0/24 is held twice' },
    ]);
    planner.set('n1', undefined);
    // The route stays (same gateway); the neighbour and FDB entry become n2's.
    const d = planner.takeDiff();
    expect(d.replaceNeighbors.map((n) => n.mac)).toEqual(['0e:00:00:00:00:03']);
    expect(d.addFdb.map((f) => f.dst)).toEqual(['10.200.0.3']);
    expect(d.removeFdb.map((f) => f.dst)).toEqual(['10.200.0.2']);
    expect(planner.state().peers.map((p) => p.nodeName)).toEqual(['n2']);
  });

  it('the same network address with another length is held twice too (one neighbour per address)', () => {
    const planner = planDesired(self, base, [a]);
    planner.set('n2', peer('n2', '10.244.1.0/25', '10.200.0.3', '0e:00:00:00:00:03', 2));
    planner.set('n3', peer('n3', '10.244.0.0/23', '10.200.0.4', '0e:00:00:00:00:04', 3));
    expect(planner.state().pending.map((p) => p.reason)).toEqual([
      'subnet 10.244.1.0/25 is held twice',
      'subnet 10.244.0.0/23 is held twice', // this node's own address
    ]);
  });

  it("a younger lease publishing another's VTEP MAC is rejected; the owner keeps its entries", () => {
    const planner = planDesired(self, base, [a]);
    planner.set('n0a', peer('n0a', '10.244.5.0/24', '10.200.0.5', '0e:00:00:00:00:02', 5));
    const d = planner.takeDiff();
    expect([...d.addFdb, ...d.replaceFdb, ...d.removeFdb]).toEqual([]);
    expect(planner.rejectedPeers().map((p) => p.nodeName)).toEqual(['n0a']);
  });
});

describe('PeerPlanner diffs', () => {
  const peer = (n: number, ip = `10.200.0.${n}`, mac = `0e:00:00:00:00:0${n}`): PeerLease => ({
    nodeName: `n${n}`,
    subnet: `10.244.${n}.0/24`,
    publicIP: ip,
    vtepMAC: mac,
  });

  it('a new peer: its three objects added, nothing else touched', () => {
    const planner = planDesired(self, base, [peer(2)]);
    planner.set('n3', peer(3));
    const d = planner.takeDiff();
    expect(diffCount(d)).toBe(3);
    expect(d.addRoutes.map((r) => r.dst)).toEqual(['10.244.3.0/24']);
    expect(d.addNeighbors.map((n) => n.mac)).toEqual(['0e:00:00:00:00:03']);
    expect(d.addFdb.map((f) => f.dst)).toEqual(['10.200.0.3']);
  });

  it('a peer gone: its objects removed; a peer moved: its FDB entry replaced', () => {
    const planner = planDesired(self, base, [peer(2), peer(3)]);
    planner.set('n3', undefined);
    expect(diffCount(planner.takeDiff())).toBe(3);
    planner.set('n2', peer(2, '10.200.0.22'));
    const d = planner.takeDiff();
    expect(diffCount(d)).toBe(1);
    expect(d.replaceFdb).toEqual([
      { dev: 'flannel.1', mac: '0e:00:00:00:00:02', dst: '10.200.0.22' },
    ]);
  });

  it('a changed VTEP MAC: neighbour replaced, old FDB entry removed, new one added', () => {
    const planner = planDesired(self, base, [peer(2)]);
    planner.set('n2', peer(2, undefined, '0e:00:00:00:00:99'));
    const d = planner.takeDiff();
    expect(d.replaceNeighbors.map((n) => n.mac)).toEqual(['0e:00:00:00:00:99']);
    expect(d.removeFdb.map((f) => f.mac)).toEqual(['0e:00:00:00:00:02']);
    expect(d.addFdb.map((f) => f.mac)).toEqual(['0e:00:00:00:00:99']);
    expect(d.addRoutes.length + d.replaceRoutes.length + d.removeRoutes.length).toBe(0);
  });

  it('the same lease again, or changes undone before the pass: nothing', () => {
    const planner = planDesired(self, base, [peer(2)]);
    planner.set('n2', { ...peer(2) });
    expect(isEmptyDiff(planner.takeDiff())).toBe(true);
    planner.set('n3', peer(3));
    planner.set('n3', undefined);
    expect(isEmptyDiff(planner.takeDiff())).toBe(true);
  });
});
