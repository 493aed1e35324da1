import type { DesiredState, Diff, FdbSpec, NeighSpec, RouteSpec } from './desired.js';
import { ROUTE_PROTOCOL } from './desired.js';

/**
 * Which rtnetlink notifications mean drift (a repair pass is due) and which only echo what the
 * agent wants, such as its own writes. Pure: the watcher parses, the agent keeps the index.
 */

/** The parts of one rtnetlink notification the decision needs. */
export type KernelNote =
  /**
   * A link added or changed ('new') or removed ('del'), with its state as the note shows it;
   * without ifindex and name (unreadable, an overrun): any link.
   */
  | {
      kind: 'link';
      op?: 'new' | 'del';
      ifindex?: number;
      name?: string;
      up?: boolean;
      mtu?: number;
      mac?: string;
    }
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
  /** How the vxlan devices (MTU, MAC) and the underlay (MTU) are wanted, by name. */
  linkStates: Map<string, { mtu: number; mac?: string }>;
}

/**
 * `tunnels`: the network's tunnel device names (vxlan or wireguard), whether they exist or not;
 * `underlay`: its name and the MTU the pass planned with.
 */
export function indexDesired(
  desired: DesiredState,
  devices: Map<string, number>,
  tunnels: readonly string[],
  underlay?: { name: string; mtu: number },
): DesiredIndex {
  const linkStates = new Map<string, { mtu: number; mac?: string }>();
  if (underlay) linkStates.set(underlay.name, { mtu: underlay.mtu });
  for (const v of [desired.vxlan, desired.vxlan6]) if (v) linkStates.set(v.name, v);
  return {
    routes: new Map(desired.routes.map((r) => [r.dst, r])),
    neighbors: new Map(desired.neighbors.map((n) => [`${devices.get(n.dev)}|${n.ip}`, n])),
    fdb: new Map(desired.fdb.map((f) => [`${devices.get(f.dev)}|${f.mac}`, f])),
    devices,
    links: new Set([...devices.keys(), ...tunnels]),
    linkStates,
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
 * note does not say which) but not of others, such as a pod's veth (linksAsWanted then looks at
 * the latest state of each); the deletion of something wanted; a new or changed object that is
 * not exactly what is wanted, except the kernel's own routes (link-local, address prefixes), which
 * no pass touches. Not drift: the kernel reporting a wanted object as wanted (the agent's own
 * writes), or the deletion of something not wanted (its own removals).
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
      if (!r && note.protocol === RTPROT_KERNEL) return false;
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

const RTPROT_KERNEL = 2;

/** Link notes: the latest of each link, as a link changes in steps (created down, then up). */
export class LinkNotes {
  private readonly latest = new Map<string, Extract<KernelNote, { kind: 'link' }>>();

  add(note: Extract<KernelNote, { kind: 'link' }>): void {
    this.latest.set(note.name ?? `#${note.ifindex}`, note);
  }

  /** The notes since the last call, latest per link; forgets them. */
  take(): Array<Extract<KernelNote, { kind: 'link' }>> {
    const notes = [...this.latest.values()];
    this.latest.clear();
    return notes;
  }
}

/**
 * Whether the latest notes of the agent's links (isDrift's) all show them as the last pass left
 * them: a vxlan device up with the wanted MTU and MAC, the underlay up with the MTU the pass
 * planned with, each at the index the pass knew (or, for a device the pass created, a first one).
 * What the agent's own device creation reports ends that way: creating flannel.1 sends a note of
 * it down, then one of it up. A deletion, any other state, or any other link is drift.
 */
export function linksAsWanted(
  notes: ReadonlyArray<Extract<KernelNote, { kind: 'link' }>>,
  want: DesiredIndex,
): boolean {
  return notes.every((note) => {
    const spec = note.name === undefined ? undefined : want.linkStates.get(note.name);
    if (!spec || note.op !== 'new' || note.up !== true) return false;
    const known = want.devices.get(note.name!);
    if (known !== undefined && known >= 0 && known !== note.ifindex) return false;
    return note.mtu === spec.mtu && (spec.mac === undefined || note.mac === spec.mac);
  });
}
