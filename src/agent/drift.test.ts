import type { DesiredState } from './desired.js';
import { LinkNotes, indexDesired, isDrift, linksAsWanted, type KernelNote } from './drift.js';

const desired: DesiredState = {
  routes: [
    { dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'flannel.1', onlink: true },
    { dst: '10.244.3.0/24', gateway: '10.200.0.3', dev: 'eth0', onlink: false },
  ],
  neighbors: [{ dev: 'flannel.1', ip: '10.244.2.0', mac: '0e:00:00:00:00:02' }],
  fdb: [{ dev: 'flannel.1', mac: '0e:00:00:00:00:02', dst: '10.200.0.2' }],
  peers: [],
  pending: [],
  podMTU: 1450,
};
const want = indexDesired(
  desired,
  new Map([
    ['flannel.1', 5],
    ['eth0', 2],
  ]),
  ['flannel.1', 'flannel-v6.1'],
);
const route = (over: Partial<Extract<KernelNote, { kind: 'route' }>> = {}): KernelNote => ({
  kind: 'route',
  op: 'new',
  dst: '10.244.2.0/24',
  gateway: '10.244.2.0',
  ifindex: 5,
  onlink: true,
  protocol: 157,
  table: 254,
  ...over,
});

describe('isDrift', () => {
  it('the echo of a wanted route, neighbour or FDB entry is not drift', () => {
    expect(isDrift(route(), want)).toBe(false);
    expect(
      isDrift(
        route({ dst: '10.244.3.0/24', gateway: '10.200.0.3', ifindex: 2, onlink: false }),
        want,
      ),
    ).toBe(false);
    expect(
      isDrift(
        { kind: 'neigh', op: 'new', ip: '10.244.2.0', mac: '0e:00:00:00:00:02', ifindex: 5 },
        want,
      ),
    ).toBe(false);
    expect(
      isDrift(
        { kind: 'fdb', op: 'new', mac: '0e:00:00:00:00:02', dst: '10.200.0.2', ifindex: 5 },
        want,
      ),
    ).toBe(false);
  });

  it('a wanted object changed by someone else is drift', () => {
    expect(isDrift(route({ gateway: '10.9.9.9' }), want)).toBe(true);
    expect(isDrift(route({ ifindex: 2 }), want)).toBe(true);
    expect(isDrift(route({ onlink: false }), want)).toBe(true);
    expect(isDrift(route({ protocol: 4 }), want)).toBe(true);
    expect(
      isDrift(
        { kind: 'neigh', op: 'new', ip: '10.244.2.0', mac: '0e:00:00:00:00:99', ifindex: 5 },
        want,
      ),
    ).toBe(true);
    expect(
      isDrift(
        { kind: 'fdb', op: 'new', mac: '0e:00:00:00:00:02', dst: '10.200.0.9', ifindex: 5 },
        want,
      ),
    ).toBe(true);
  });

  it('an unwanted new object (maybe a leftover to remove) is drift; its deletion is not', () => {
    expect(isDrift(route({ dst: '10.244.9.0/24' }), want)).toBe(true);
    expect(isDrift(route({ op: 'del', dst: '10.244.9.0/24' }), want)).toBe(false);
    expect(
      isDrift(
        { kind: 'fdb', op: 'del', mac: '0e:00:00:00:00:09', dst: '10.200.0.9', ifindex: 5 },
        want,
      ),
    ).toBe(false);
  });

  it("a change of the agent's links is drift, of other links (a pod's veth) not", () => {
    expect(isDrift({ kind: 'link', ifindex: 5, name: 'flannel.1' }, want)).toBe(true);
    expect(isDrift({ kind: 'link', ifindex: 5, name: 'renamed' }, want)).toBe(true);
    expect(isDrift({ kind: 'link', ifindex: 2, name: 'eth0' }, want)).toBe(true);
    // A tunnel device that does not exist (yet): by name.
    expect(isDrift({ kind: 'link', ifindex: 40, name: 'flannel-v6.1' }, want)).toBe(true);
    expect(isDrift({ kind: 'link', ifindex: 41, name: 'veth1a2b3c4d' }, want)).toBe(false);
    // A note that names no link (unreadable, an overrun) may be any of them.
    expect(isDrift({ kind: 'link' }, want)).toBe(true);
  });

  it('links end as wanted: a vxlan device up with its MTU and MAC, the underlay up with its MTU', () => {
    const vxlan = {
      name: 'flannel.1',
      vni: 1,
      port: 8472,
      local: '10.200.0.1',
      linkIndex: 2,
      mtu: 1450,
      mac: '0e:00:00:00:00:01',
      address: '10.244.1.0/32',
    };
    const devices = new Map([
      ['flannel.1', 5],
      ['eth0', 2],
    ]);
    const underlay = { name: 'eth0', mtu: 1500 };
    const known = indexDesired({ ...desired, vxlan }, devices, ['flannel.1'], underlay);
    // Before the first pass created it, no index is known yet.
    const fresh = indexDesired({ ...desired, vxlan }, new Map(), ['flannel.1'], underlay);
    type LinkNote = Extract<KernelNote, { kind: 'link' }>;
    const note = (over: Partial<LinkNote> = {}): LinkNote => ({
      kind: 'link',
      op: 'new',
      ifindex: 5,
      name: 'flannel.1',
      up: true,
      mtu: 1450,
      mac: '0e:00:00:00:00:01',
      ...over,
    });
    const eth0 = note({ name: 'eth0', ifindex: 2, mtu: 1500, mac: '7e:00:00:00:00:09' });
    expect(linksAsWanted([note(), eth0], known)).toBe(true);
    expect(linksAsWanted([note({ ifindex: 9 })], fresh)).toBe(true);
    for (const over of [
      { op: 'del' as const },
      { up: false },
      { mtu: 1500 },
      { mac: '0e:00:00:00:00:99' },
      { ifindex: 9 }, // re-created by someone else
      { up: undefined },
      { name: 'flannel-v6.1' }, // not wanted
      { name: undefined },
    ])
      expect([over, linksAsWanted([note(over)], known)]).toEqual([over, false]);
    expect(linksAsWanted([{ ...eth0, mtu: 9000 }], known)).toBe(false);
  });

  it('keeps the latest note of each link: created down, then up, ends as wanted', () => {
    const notes = new LinkNotes();
    const base = { kind: 'link' as const, op: 'new' as const, ifindex: 5, name: 'flannel.1' };
    notes.add({ ...base, up: false });
    notes.add({ ...base, up: true });
    notes.add({ kind: 'link', op: 'new', ifindex: 7 });
    expect(notes.take()).toEqual([
      { ...base, up: true },
      { kind: 'link', op: 'new', ifindex: 7 },
    ]);
    expect(notes.take()).toEqual([]);
  });

  it("the kernel's own routes that are not wanted (link-local, address prefixes) are not drift", () => {
    const ll = route({ dst: 'fe80::/64', gateway: '', protocol: 2, onlink: false });
    expect(isDrift(ll, want)).toBe(false);
    expect(isDrift(route({ dst: '10.244.9.0/24', protocol: 2 }), want)).toBe(false);
    // A wanted destination is the agent's whatever the protocol: replaced by the next pass.
    expect(isDrift(route({ protocol: 2 }), want)).toBe(true);
    expect(isDrift(route({ dst: '10.244.9.0/24', protocol: 4 }), want)).toBe(true);
  });

  it('deleting a wanted object, and a change of an unknown link, is drift', () => {
    expect(isDrift(route({ op: 'del' }), want)).toBe(true);
    expect(isDrift({ kind: 'neigh', op: 'del', ip: '10.244.2.0', mac: '', ifindex: 5 }, want)).toBe(
      true,
    );
    expect(
      isDrift(
        { kind: 'fdb', op: 'del', mac: '0e:00:00:00:00:02', dst: '10.200.0.2', ifindex: 5 },
        want,
      ),
    ).toBe(true);
    expect(isDrift({ kind: 'link' }, want)).toBe(true);
  });

  it('the same neighbour on another device is not the wanted one', () => {
    expect(
      isDrift(
        { kind: 'neigh', op: 'new', ip: '10.244.2.0', mac: '0e:00:00:00:00:02', ifindex: 9 },
        want,
      ),
    ).toBe(true);
  });

  it('routes outside the main table are not the agent’s', () => {
    expect(isDrift(route({ table: 100, gateway: '1.1.1.1' }), want)).toBe(false);
  });
});
