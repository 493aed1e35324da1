import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as NetlinkRaw from 'netlink/dist/raw.js';
import type { RawNetlinkSocket } from 'netlink';
import type { KernelNote } from '../drift.js';
import {
  eachMessage,
  readAddress,
  readLinkInfo,
  readNeigh,
  readRoute,
  type RawLinkInfo,
  type RawRoute,
} from './parse.js';
import {
  type ActualRoute,
  type ActualState,
  type Diff,
  type FdbSpec,
  type UnderlayInfo,
  type VxlanSpec,
} from '../desired.js';
import { canonicalCidr, cidrContainsIp, tryCanonicalIp } from '../../ipam/index.js';
import { FlannelOperatorError, type ErrorCode } from '../../errors.js';
import { NetlinkBatch, NetlinkRequestError } from './batch.js';
import {
  deleteFdbRequest,
  deleteNeighborRequest,
  deleteRouteRequest,
  replaceFdbRequest,
  replaceNeighborRequest,
  replaceRouteRequest,
  type NlRequest,
} from './messages.js';
import {
  createVxlanRequest,
  createWireguardRequest,
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  dumpNeighborsRequest,
  dumpRoutesRequest,
  getLinkRequest,
  replaceAddressRequest,
  setLinkRequest,
  setLinkUpRequest,
} from './link-messages.js';
import { NetlinkRequester } from './request.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  NETLINK_ROUTE,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  RTNLGRP_NEIGH,
  RTN_UNICAST,
  RT_TABLE_MAIN,
} from './constants.js';

// Only the package's raw socket (the native binding): every message is encoded and read here
// (messages.ts, link-messages.ts, parse.ts), not by its generic rtnetlink layer, whose modules
// took ~8 ms more CPU to load and build objects for every attribute (measured, --jitless). A
// CommonJS module loaded by require: an ESM import makes Node lex its source and every module it
// re-exports (cjs-module-lexer), 6-11 MiB of agent RSS that stays (issue 13, measured). Loaded on
// first use, not at import: the agent's startup snapshot (snapshot.ts) holds every module it
// imports, and a native addon cannot be in a snapshot.
const requireCjs = createRequire(import.meta.url);
let rawSocketClass: typeof NetlinkRaw.RawNetlinkSocket | undefined;
/**
 * A new rtnetlink socket (NETLINK_ROUTE, protocol 0). Message peeking stays on (the package's
 * default): each datagram is read at its own size. A fixed buffer (`messagePeeking: false`)
 * truncates a longer one, and a dump datagram's 32 KiB is no bound: a link with many alternative
 * names made a 52 KiB RTM_GETLINK reply (measured). Fewer, larger dump datagrams were no clear
 * CPU gain either (11-16 against 14-20 ms per links() + readState, 244 links, --jitless).
 */
function routeSocket(): RawNetlinkSocket {
  rawSocketClass ??= (requireCjs('netlink/dist/raw') as typeof NetlinkRaw).RawNetlinkSocket;
  return new rawSocketClass(NETLINK_ROUTE);
}

export class KernelError extends FlannelOperatorError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'EAGENT_KERNEL') {
    super(message);
    this.code = code;
  }
}

/** A link as links() reports it: what readLinkInfo reads, without the vxlan attributes. */
export type LinkInfo = Omit<RawLinkInfo, 'vxlan'>;

export interface LinkState extends LinkInfo {
  /** address/prefix of both families. */
  addresses: string[];
}

/**
 * Reads and writes the routes, neighbors, FDB entries and the vxlan device of the network
 * namespace the process runs in, over rtnetlink (the npm `netlink` raw socket). Not a singleton:
 * one per agent.
 */
export class Kernel {
  /** Dumps and the link and address writes, one at a time. */
  private readonly requests: NetlinkRequester;
  private readonly batch: NetlinkBatch;
  constructor() {
    this.requests = new NetlinkRequester(routeSocket());
    this.batch = new NetlinkBatch(routeSocket());
  }

  close(): void {
    this.requests.close();
    this.batch.close();
  }

  /** The netlink port of the batched writes (applyDiff): the kernel names it in their notifications. */
  get port(): number {
    return this.batch.port;
  }

  async links(): Promise<LinkInfo[]> {
    const links: LinkInfo[] = [];
    for (const data of await this.requests.dump(dumpLinksRequest())) {
      const l = readLinkInfo(data);
      if (!l) continue;
      const { vxlan: _vxlan, ...link } = l;
      links.push(link);
    }
    return links;
  }

  async ipv4Addresses(): Promise<Array<{ index: number; ip: string; prefixLen: number }>> {
    const out: Array<{ index: number; ip: string; prefixLen: number }> = [];
    for (const data of await this.requests.dump(dumpAddressesRequest(AF_INET))) {
      const a = readAddress(data);
      // IFA_LOCAL is the interface's own address (IFA_ADDRESS the peer's on point-to-point).
      if (a?.family === AF_INET)
        out.push({ index: a.index, ip: a.local || a.address, prefixLen: a.prefixLen });
    }
    return out;
  }

  /** Global (not link-local) IPv6 addresses. */
  async ipv6Addresses(): Promise<Array<{ index: number; ip: string; prefixLen: number }>> {
    const out: Array<{ index: number; ip: string; prefixLen: number }> = [];
    for (const data of await this.requests.dump(dumpAddressesRequest(AF_INET6))) {
      const a = readAddress(data);
      if (a?.family !== AF_INET6) continue;
      const ip = a.address || a.local;
      if (ip && !cidrContainsIp('fe80::/10', ip))
        out.push({ index: a.index, ip, prefixLen: a.prefixLen });
    }
    return out;
  }

  /**
   * The IPv6 side of the underlay interface: `ip` when the interface holds it, else its first
   * global address. Undefined when it has none (a v4-only node).
   */
  async underlayV6(
    underlay: UnderlayInfo,
    ip?: string,
  ): Promise<{ ipv6: string; prefixV6: string } | undefined> {
    const onLink = (await this.ipv6Addresses()).filter((a) => a.index === underlay.index);
    const addr = onLink.find((a) => a.ip === ip) ?? onLink[0];
    if (!addr) return undefined;
    return { ipv6: addr.ip, prefixV6: canonicalCidr(`${addr.ip}/${addr.prefixLen}`) };
  }

  /**
   * Underlay facts: by interface name, or the interface holding `ip` (IPv4 or, on an IPv6-only
   * underlay, IPv6). The IPv4 fields stay empty when the interface has no IPv4 address; the IPv6
   * ones come from underlayV6.
   */
  async underlay(sel: { iface?: string; ip?: string }): Promise<UnderlayInfo> {
    const [links, addrs, addrs6] = await Promise.all([
      this.links(),
      this.ipv4Addresses(),
      this.ipv6Addresses(),
    ]);
    let link: LinkInfo | undefined;
    if (sel.iface) {
      link = links.find((l) => l.name === sel.iface);
      if (!link) throw new KernelError(`interface ${sel.iface} not found`, 'EAGENT_NO_IFACE');
    } else if (sel.ip) {
      const want = tryCanonicalIp(sel.ip) ?? sel.ip;
      const held = [...addrs, ...addrs6].find((a) => a.ip === want);
      link = held && links.find((l) => l.index === held.index);
    }
    const onLink = addrs.filter((a) => a.index === link?.index);
    // --public-ip may be a NAT address not on the interface: then use the interface's own.
    const addr = onLink.find((a) => a.ip === sel.ip) ?? onLink[0];
    if (!link || (!addr && !addrs6.some((a) => a.index === link.index))) {
      throw new KernelError(
        `no interface holds ${sel.ip ?? 'an IP address'}${sel.iface ? ` on ${sel.iface}` : ''}`,
        'EAGENT_NO_IFACE',
      );
    }
    const info: UnderlayInfo = { name: link.name, index: link.index, mtu: link.mtu };
    if (addr) {
      info.ip = addr.ip;
      info.prefix = canonicalCidr(`${addr.ip}/${addr.prefixLen}`);
    }
    return info;
  }

  /**
   * Everything the diff needs about flannel.<vni> (and flannel-v6.<vni> when `dev6` is given)
   * and the main IPv4 (and IPv6) routing table.
   */
  async readState(dev: string, dev6?: string): Promise<ActualState> {
    const byIndex = new Map<number, string>();
    let vx: ActualState['vxlan'];
    let vx6: ActualState['vxlan6'];
    let vxIndex = -1;
    let vx6Index = -1;
    for (const data of await this.requests.dump(dumpLinksRequest())) {
      const l = readLinkInfo(data);
      if (!l) continue;
      byIndex.set(l.index, l.name);
      if ((l.name !== dev && (!dev6 || l.name !== dev6)) || !l.vxlan) continue;
      const found: NonNullable<ActualState['vxlan']> = {
        name: l.name,
        vni: l.vxlan.vni,
        port: l.vxlan.port,
        local: l.vxlan.local,
        linkIndex: l.vxlan.linkIndex,
        mtu: l.mtu,
        mac: l.mac,
        address: '',
        up: l.up,
        learning: l.vxlan.learning,
        addresses: [],
        index: l.index,
      };
      if (l.name === dev) {
        vx = found;
        vxIndex = l.index;
      } else {
        vx6 = found;
        vx6Index = l.index;
      }
    }
    if (vx) {
      const addrs = await this.ipv4Addresses();
      vx.addresses = addrs.filter((a) => a.index === vxIndex).map((a) => `${a.ip}/${a.prefixLen}`);
    }
    if (vx6) {
      const addrs = await this.ipv6Addresses();
      vx6.addresses = addrs
        .filter((a) => a.index === vx6Index)
        .map((a) => `${a.ip}/${a.prefixLen}`);
    }
    const routes: ActualRoute[] = [];
    for (const family of dev6 ? [AF_INET, AF_INET6] : [AF_INET]) {
      for (const data of await this.requests.dump(dumpRoutesRequest(family))) {
        const r = mainRoute(readRoute(data));
        if (r) routes.push({ ...r, dev: byIndex.get(r.oif) ?? '' });
      }
    }
    const neighbors: ActualState['neighbors'] = [];
    const fdb: FdbSpec[] = [];
    const devices: Array<[string, number, number]> = [[dev, vxIndex, AF_INET]];
    if (dev6) devices.push([dev6, vx6Index, AF_INET6]);
    for (const [name, index, family] of devices) {
      if (index < 0) continue;
      for (const data of await this.requests.dump(dumpNeighborsRequest(family))) {
        const n = readNeigh(data);
        if (!n || n.ifindex !== index || n.family !== family || !n.mac) continue;
        neighbors.push({ dev: name, ip: n.dst, mac: n.mac, permanent: n.permanent });
      }
      for (const data of await this.requests.dump(dumpNeighborsRequest(AF_BRIDGE, index))) {
        const n = readNeigh(data);
        if (!n || n.ifindex !== index || !n.self || !n.dst || !n.mac) continue;
        if (n.mac === '00:00:00:00:00:00') continue;
        fdb.push({ dev: name, mac: n.mac, dst: n.dst });
      }
    }
    return { vxlan: vx, vxlan6: vx6, routes, neighbors, fdb };
  }

  async linkIndex(name: string): Promise<number> {
    const index = await this.indexOf(name);
    if (index === undefined)
      throw new KernelError(`interface ${name} not found`, 'EAGENT_NO_IFACE');
    return index;
  }

  /**
   * A link's index by name, undefined when there is none: one RTM_GETLINK, not a dump of every
   * link (a node has one per pod).
   */
  private async indexOf(name: string): Promise<number | undefined> {
    try {
      const [reply] = await this.requests.request(getLinkRequest(name));
      return reply && readLinkInfo(reply)?.index;
    } catch (e) {
      if (isMissingLink(e)) return undefined;
      throw e;
    }
  }

  /** Deletes a link; one that does not exist is already deleted. Any other refusal rejects. */
  async deleteLink(name: string): Promise<void> {
    await this.requests.request(deleteLinkRequest(name)).catch((e: unknown) => {
      if (!isMissingLink(e)) throw e;
    });
  }

  /** Creates flannel.<vni> (learning off, stable MAC), or fixes MTU/MAC/address/up on an existing one. */
  async ensureVxlan(spec: VxlanSpec, mode: 'create' | 'update'): Promise<void> {
    if (mode === 'create') {
      await this.deleteLink(spec.name);
      const v6 = spec.local.includes(':');
      // Up from its creation, so its link notes show it as wanted (drift.ts), except for an
      // IPv6 overlay: no router advertisements before the device is up (no autoconf on the
      // overlay), no duplicate address detection (the /128 is usable at once). An IPv4-only
      // network writes no IPv6 sysctl.
      await this.requests.request(createVxlanRequest(spec, { up: !v6 }));
      if (v6) await quietIpv6(spec.name);
    }
    const index = await this.linkIndex(spec.name);
    // A device just created has them from its creation.
    if (mode === 'update')
      await this.requests.request(setLinkRequest(index, { mtu: spec.mtu, mac: spec.mac }));
    await this.requests.request(replaceAddressRequest(index, spec.address));
    await this.requests.request(setLinkUpRequest(index));
  }

  /** A link's MTU, state and addresses (both families), or undefined when it does not exist. */
  async linkState(name: string): Promise<LinkState | undefined> {
    const link = (await this.links()).find((l) => l.name === name);
    if (!link) return undefined;
    const addrs = [...(await this.ipv4Addresses()), ...(await this.ipv6Addresses())];
    return {
      ...link,
      addresses: addrs.filter((a) => a.index === link.index).map((a) => `${a.ip}/${a.prefixLen}`),
    };
  }

  /** Creates a kernel WireGuard link; rejects (EOPNOTSUPP) on a kernel without WireGuard. */
  async createWireguardLink(name: string, mtu: number): Promise<void> {
    await this.requests.request(createWireguardRequest(name, mtu));
  }

  /** MTU, addresses and up on an existing link (a tunnel device the agent owns). */
  async configureLink(name: string, mtu: number, addresses: string[]): Promise<void> {
    const index = await this.linkIndex(name);
    // No router advertisements or DAD on the overlay: the /128 is usable at once.
    if (addresses.some((a) => a.includes(':'))) await quietIpv6(name);
    await this.requests.request(setLinkRequest(index, { mtu }));
    for (const a of addresses) await this.requests.request(replaceAddressRequest(index, a));
    await this.requests.request(setLinkUpRequest(index));
  }

  /**
   * Applies a diff (device changes are the caller's, via ensureVxlan). Order per upstream:
   * neighbor and fdb before the route that uses them; the route goes first on removal. All of it
   * goes out in batches (batch.ts), in that order. Returns the errors of individual operations
   * (the rest still applies).
   */
  async applyDiff(d: Diff): Promise<Error[]> {
    const index = await this.indexes(devicesOf(d));
    const errors: Error[] = [];
    /** A missing device fails the writes that need it; deletes of what it held are done. */
    const missing = (dev: string): undefined => {
      errors.push(new KernelError(`interface ${dev} not found`, 'EAGENT_NO_IFACE'));
      return undefined;
    };
    // Encoded as the batch sends them, a chunk at a time, rather than all of a pass's thousands
    // held at once (they outlived the young generation). No closure per request: --jitless.
    function* requests(): Generator<NlRequest | undefined> {
      for (const r of d.removeRoutes) yield deleteRouteRequest(r);
      for (const n of d.removeNeighbors) {
        const i = index.get(n.dev);
        if (i !== undefined) yield deleteNeighborRequest(n, i);
      }
      for (const f of d.removeFdb) {
        const i = index.get(f.dev);
        if (i !== undefined) yield deleteFdbRequest(f, i);
      }
      for (const list of [d.addNeighbors, d.replaceNeighbors])
        for (const n of list) {
          const i = index.get(n.dev);
          yield i === undefined ? missing(n.dev) : replaceNeighborRequest(n, i);
        }
      for (const list of [d.addFdb, d.replaceFdb])
        for (const f of list) {
          const i = index.get(f.dev);
          yield i === undefined ? missing(f.dev) : replaceFdbRequest(f, i);
        }
      for (const list of [d.addRoutes, d.replaceRoutes])
        for (const r of list) {
          const i = index.get(r.dev);
          yield i === undefined ? missing(r.dev) : replaceRouteRequest(r, i);
        }
    }
    errors.push(...(await this.batch.send(requests())));
    return errors;
  }

  /** Indexes of the links among `names` that exist. */
  private async indexes(names: Set<string>): Promise<Map<string, number>> {
    const found = await Promise.all(
      [...names].map(async (n) => [n, await this.indexOf(n)] as const),
    );
    return new Map(found.filter((f): f is [string, number] => f[1] !== undefined));
  }
}

/** ENODEV: the kernel has no link of that name (a get or delete by name). */
const isMissingLink = (e: unknown): boolean =>
  e instanceof NetlinkRequestError && e.errno === 'ENODEV';

/** Router advertisements and duplicate address detection off on an IPv6 overlay device. */
async function quietIpv6(name: string): Promise<void> {
  for (const key of ['accept_ra', 'accept_dad'])
    await writeFile(`/proc/sys/net/ipv6/conf/${name}/${key}`, '0').catch(() => undefined);
}

/** The devices a diff's neighbours, FDB entries and routes name (route deletes need none). */
function devicesOf(d: Diff): Set<string> {
  const names = new Set<string>();
  for (const list of [d.removeNeighbors, d.addNeighbors, d.replaceNeighbors])
    for (const n of list) names.add(n.dev);
  for (const list of [d.removeFdb, d.addFdb, d.replaceFdb]) for (const f of list) names.add(f.dev);
  for (const list of [d.addRoutes, d.replaceRoutes]) for (const r of list) names.add(r.dev);
  return names;
}

/** A unicast route of the main table (no multipath): what readState and the watcher look at. */
function mainRoute(
  r: RawRoute | undefined,
): (Omit<ActualRoute, 'dev'> & { oif: number }) | undefined {
  if (!r || (r.family !== AF_INET && r.family !== AF_INET6) || r.multipath) return undefined;
  if (r.table !== RT_TABLE_MAIN || r.type !== RTN_UNICAST) return undefined;
  const dst = r.dst ? `${r.dst}/${r.dstLen}` : r.family === AF_INET6 ? '::/0' : '0.0.0.0/0';
  return {
    dst,
    gateway: r.gateway,
    oif: r.oif,
    onlink: (r.flags & RTNH_F_ONLINK) !== 0,
    protocol: r.protocol,
    table: r.table,
  };
}

/** Asked for; the kernel caps it at net.core.rmem_max. */
const WATCH_RCVBUF = 4 << 20;

/** The groups of what the agent writes in bulk: routes of both families, neighbours and FDB entries. */
const OBJECT_GROUPS = [RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH];

/** What one notification says, or undefined when it cannot concern the agent. */
export function noteOf(type: number, data: Buffer): KernelNote | undefined {
  if (type === RTM_NEWLINK || type === RTM_DELLINK) {
    const l = readLinkInfo(data);
    if (!l) return { kind: 'link' };
    const op = type === RTM_NEWLINK ? 'new' : 'del';
    const { index: ifindex, up } = l;
    // Empty fields: the note did not carry them.
    return {
      kind: 'link',
      op,
      ifindex,
      name: l.name || undefined,
      up,
      mtu: l.mtu || undefined,
      mac: l.mac || undefined,
    };
  }
  const op = type === RTM_NEWROUTE || type === RTM_NEWNEIGH ? 'new' : 'del';
  if (type === RTM_NEWROUTE || type === RTM_DELROUTE) {
    const r = mainRoute(readRoute(data));
    return r && { kind: 'route', op, ...r, ifindex: r.oif };
  }
  if (type !== RTM_NEWNEIGH && type !== RTM_DELNEIGH) return undefined;
  const n = readNeigh(data);
  // ARP churn of ordinary neighbours (and learned bridge entries) is not ours to repair. A
  // deletion reports the state the entry ended in, so it is kept whatever its state: isDrift
  // tells whether it was wanted.
  if (!n || (op === 'new' && !n.permanent)) return undefined;
  if (n.family === AF_BRIDGE)
    return n.dst ? { kind: 'fdb', op, mac: n.mac, dst: n.dst, ifindex: n.ifindex } : undefined;
  return { kind: 'neigh', op, ip: n.dst, mac: n.mac, ifindex: n.ifindex };
}

/**
 * Watches rtnetlink multicast groups (links, IPv4/IPv6 routes, neighbours) and emits 'change'
 * with what changed, so the agent can repair hand-made damage within the debounce delay and
 * ignore the echo of its own writes (drift.ts).
 */
export class KernelWatcher extends EventEmitter {
  private sock?: RawNetlinkSocket;
  /**
   * `writerPort`: the agent's writing socket (Kernel.port). The kernel sends a route or neighbour
   * change made by a request with the requester's port (FDB entries and link changes with 0), so
   * those are the agent's own writes: not drift, passed over unparsed (a pass's thousands of
   * echoes were a third of its CPU at 1,000 peers).
   */
  constructor(private readonly writerPort?: number) {
    super();
  }

  /** Open deafen() calls: the object groups are left while any is. */
  private deafened = 0;

  start(): void {
    // The raw socket: notifications are read by noteOf, not the package's generic parser.
    const s = routeSocket();
    s.setRecvBufferSize(WATCH_RCVBUF);
    s.addMembership(RTNLGRP_LINK);
    if (this.deafened === 0) for (const g of OBJECT_GROUPS) s.addMembership(g);
    s.on('message', (buf: Buffer) =>
      eachMessage(
        buf,
        (type, data) => {
          let note: KernelNote | undefined;
          try {
            note = noteOf(type, data);
          } catch {
            note = { kind: 'link' }; // unparseable: repair to be safe
          }
          if (note) this.emit('change', note.kind, note);
        },
        this.ownEcho,
      ),
    );
    // ENOBUFS: notifications were dropped (a burst of writes overran the receive buffer), so
    // drift may have gone unseen: ask for a full pass. Only when recvmsg reports it: when epoll
    // does first, the package aborts the process instead (see CHUNK in batch.ts).
    s.on('error', () => this.emit('change', 'overrun', { kind: 'link' }));
    s.ref();
    this.sock = s;
  }
  /** A route or neighbour notification of the agent's own write (see the constructor). */
  private readonly ownEcho = (type: number, port: number): boolean =>
    port !== 0 &&
    port === this.writerPort &&
    (type === RTM_NEWROUTE ||
      type === RTM_DELROUTE ||
      type === RTM_NEWNEIGH ||
      type === RTM_DELNEIGH);

  /**
   * Stops hearing route, neighbour and FDB changes until the returned function is called; link
   * changes are still heard. For the agent's bulk writes: the kernel sends every listener a
   * notification of each write, and each costs a native callback here (two recvmsg, a Buffer, an
   * event), about 6 µs of CPU: 19 ms of the 3,000 writes of a first pass at 1,000 peers, half
   * as much as the writes themselves (issue 13). A change someone else makes meanwhile is not
   * heard; the periodic resync repairs it.
   */
  deafen(): () => void {
    if (this.deafened++ === 0) for (const g of OBJECT_GROUPS) this.sock?.dropMembership(g);
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      if (--this.deafened === 0) for (const g of OBJECT_GROUPS) this.sock?.addMembership(g);
    };
  }

  stop(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
