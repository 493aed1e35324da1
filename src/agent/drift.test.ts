import type { DesiredState } from './desired.js';
import { indexDesired, isDrift, type KernelNote } from './drift.js';

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
