import type { DesiredState, Diff, FdbSpec, NeighSpec, RouteSpec } from './desired.js';
import { ROUTE_PROTOCOL } from './desired.js';

/**
 * Which rtnetlink notifications mean drift (a repair pass is due) and which only echo what the
 * agent wants, such as its own writes. Pure: the watcher parses, the agent keeps the index.
 */

/** The parts of one rtnetlink notification the decision needs. */
export type KernelNote =
  /** A link added, changed or removed; without ifindex and name (unreadable, an overrun): any link. */
  | { kind: 'link'; ifindex?: number; name?: string }
  | {
      kind: 'route';
      op: 'new' | 'del';
      dst: string;
      gateway: string;
      ifindex: number;
      onlink: boolean;
      protocol: number;
      table: number;
    }
  | { kind: 'neigh'; op: 'new' | 'del'; ip: string; mac: string; ifindex: number }
  | { kind: 'fdb'; op: 'new' | 'del'; mac: string; dst: string; ifindex: number };

/** The desired routes, neighbours and FDB entries by key, and the devices' interface indexes. */
export interface DesiredIndex {
  routes: Map<string, RouteSpec>;
  neighbors: Map<string, NeighSpec>;
  fdb: Map<string, FdbSpec>;
  /** Interface name -> index (vxlan devices, underlay). */
  devices: Map<string, number>;
  /** Names of the links whose changes are drift: the devices above and the tunnel devices, present or not. */
  links: ReadonlySet<string>;
}

/** `tunnels`: the network's tunnel device names (vxlan or wireguard), whether they exist or not. */
export function indexDesired(
  desired: DesiredState,
  devices: Map<string, number>,
  tunnels: readonly string[],
): DesiredIndex {
  return {
    routes: new Map(desired.routes.map((r) => [r.dst, r])),
    neighbors: new Map(desired.neighbors.map((n) => [`${devices.get(n.dev)}|${n.ip}`, n])),
    fdb: new Map(desired.fdb.map((f) => [`${devices.get(f.dev)}|${f.mac}`, f])),
    devices,
    links: new Set([...devices.keys(), ...tunnels]),
  };
}

/** Brings an index up to date with a diff of routes, neighbours and FDB entries (a peer pass). */
export function updateIndex(index: DesiredIndex, d: Diff): void {
  const neigh = (n: NeighSpec): string => `${index.devices.get(n.dev)}|${n.ip}`;
  const fdb = (f: FdbSpec): string => `${index.devices.get(f.dev)}|${f.mac}`;
  for (const r of d.removeRoutes) index.routes.delete(r.dst);
  for (const n of d.removeNeighbors) index.neighbors.delete(neigh(n));
  for (const f of d.removeFdb) index.fdb.delete(fdb(f));
  for (const r of [...d.addRoutes, ...d.replaceRoutes]) index.routes.set(r.dst, r);
  for (const n of [...d.addNeighbors, ...d.replaceNeighbors]) index.neighbors.set(neigh(n), n);
  for (const f of [...d.addFdb, ...d.replaceFdb]) index.fdb.set(fdb(f), f);
}

/**
 * Drift: a change of one of the agent's links (its tunnel devices, the underlay; any link when the
 * note does not say which) but not of others, such as a pod's veth; the deletion of something wanted; a new or changed object that is not
 * exactly what is wanted. Not drift: the kernel reporting a wanted object as wanted (the agent's
 * own writes), or the deletion of something not wanted (its own removals).
 */
export function isDrift(note: KernelNote, want: DesiredIndex): boolean {
  switch (note.kind) {
    case 'link':
      if (note.ifindex === undefined && note.name === undefined) return true;
      return (
        (note.name !== undefined && want.links.has(note.name)) ||
        (note.ifindex !== undefined && [...want.devices.values()].includes(note.ifindex))
      );
    case 'route': {
      if (note.table !== 254) return false;
      const r = want.routes.get(note.dst);
      if (note.op === 'del') return !!r;
      return !(
        r &&
        r.gateway === note.gateway &&
        want.devices.get(r.dev) === note.ifindex &&
        r.onlink === note.onlink &&
        note.protocol === ROUTE_PROTOCOL
      );
    }
    case 'neigh': {
      const n = want.neighbors.get(`${note.ifindex}|${note.ip}`);
      return note.op === 'del' ? !!n : !(n && n.mac === note.mac);
    }
    case 'fdb': {
      const f = want.fdb.get(`${note.ifindex}|${note.mac}`);
      return note.op === 'del' ? !!f : !(f && f.dst === note.dst);
    }
  }
}
