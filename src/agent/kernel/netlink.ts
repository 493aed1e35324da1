import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as NetlinkPackage from 'netlink';
import type * as NetlinkConstants from 'netlink/dist/constants.js';
import type * as NetlinkRaw from 'netlink/dist/raw.js';
import type * as NetlinkRt from 'netlink/dist/rt/rt.js';
import type * as NetlinkStructs from 'netlink/dist/structs.js';
import type { RawNetlinkSocket, RtNetlinkSocket } from 'netlink';
import type { KernelNote } from '../drift.js';
import { eachMessage, macText, readLink, readNeigh, readRoute, type RawRoute } from './parse.js';
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
import { NetlinkBatch } from './batch.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  RTNH_F_ONLINK,
  RT_TABLE_MAIN,
  deleteFdbRequest,
  deleteNeighborRequest,
  deleteRouteRequest,
  ipBytes,
  ipText,
  replaceFdbRequest,
  replaceNeighborRequest,
  replaceRouteRequest,
  type NlRequest,
} from './messages.js';

// A CommonJS package loaded by require: an ESM import makes Node lex its source and every module
// it re-exports (cjs-module-lexer), 6-11 MiB of agent RSS that stays (issue 13, measured). Only
// the modules rtnetlink needs: the package's index also loads genl, nl80211 (240 kB of structs)
// and wg, half of its load time (~30 -> ~16 ms CPU, measured). Loaded on first use, not at import:
// the agent's startup snapshot (snapshot.ts) holds every module it imports, and a native addon
// cannot be in a snapshot.
const requireCjs = createRequire(import.meta.url);
function loadNetlink() {
  const { FlagsGet, FlagsNew, Protocol } = requireCjs(
    'netlink/dist/constants',
  ) as typeof NetlinkConstants;
  return {
    FlagsGet,
    FlagsNew,
    Protocol,
    AttrStream: (requireCjs('netlink/dist/structs') as typeof NetlinkStructs).AttrStream,
    RawSocket: (requireCjs('netlink/dist/raw') as typeof NetlinkRaw).RawNetlinkSocket,
    createRtNetlink: (requireCjs('netlink/dist/rt/rt') as typeof NetlinkRt).createRtNetlink,
    ifla: requireCjs('netlink/dist/rt/ifla') as typeof NetlinkPackage.ifla,
    rt: requireCjs('netlink/dist/rt/structs') as typeof NetlinkPackage.rt,
  };
}
let netlinkPackage: ReturnType<typeof loadNetlink> | undefined;
const nl = (): ReturnType<typeof loadNetlink> => (netlinkPackage ??= loadNetlink());

export class KernelError extends FlannelOperatorError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'EAGENT_KERNEL') {
    super(message);
    this.code = code;
  }
}

/** Address bytes, 4 or 16 of them. */
const ip4 = ipBytes;
const familyOf = (s: string): number => (s.includes(':') ? AF_INET6 : AF_INET);
const macBuf = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');
const macStr = (b?: Buffer): string => (b ? macText(b) : '');
const ipStr = ipText;

export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  mac: string;
  up: boolean;
  kind?: string;
}

export interface LinkState extends LinkInfo {
  /** address/prefix of both families. */
  addresses: string[];
}

/**
 * Reads and writes the routes, neighbors, FDB entries and the vxlan device of the network
 * namespace the process runs in, over rtnetlink (npm `netlink`). Not a singleton: one per agent.
 */
export class Kernel {
  private sock: RtNetlinkSocket;
  private readonly batch: NetlinkBatch;
  private queue: Promise<unknown> = Promise.resolve();
  constructor() {
    const raw = nl().createRtNetlink();
    this.batch = new NetlinkBatch(new (nl().RawSocket)(nl().Protocol.ROUTE));
    // The netlink package keeps one multipart buffer per socket: two dumps in flight corrupt
    // each other ("Multipart message not terminated properly"). Serialize the dumps.
    this.sock = new Proxy(raw, {
      get: (target, key, receiver) => {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof v !== 'function') return v;
        const fn = v as (...a: unknown[]) => unknown;
        if (typeof key === 'string' && /^get[A-Z]/.test(key)) {
          return (...args: unknown[]) =>
            this.serial(() => fn.apply(target, args) as Promise<unknown>);
        }
        return fn.bind(target);
      },
    });
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.queue.then(op, op);
    this.queue = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.sock.socket.close();
    this.batch.close();
  }

  /** The netlink port of the batched writes (applyDiff): the kernel names it in their notifications. */
  get port(): number {
    return this.batch.port;
  }

  async links(): Promise<LinkInfo[]> {
    const msgs = await this.sock.getLinks();
    return msgs.map((m) => {
      let kind: string | undefined;
      if (m.attrs.linkinfo) kind = nl().ifla.parseInfo(m.attrs.linkinfo).kind;
      return {
        index: m.data.index ?? 0,
        name: m.attrs.ifname ?? '',
        mtu: m.attrs.mtu ?? 0,
        mac: macStr(m.attrs.address),
        up: !!m.data.flags?.up,
        kind,
      };
    });
  }

  async ipv4Addresses(): Promise<Array<{ index: number; ip: string; prefixLen: number }>> {
    const msgs = await this.sock.getAddresses({ family: AF_INET });
    return msgs
      .filter((m) => m.data.family === AF_INET)
      .map((m) => ({
        index: m.data.index ?? 0,
        ip: ipStr(m.attrs.local ?? m.attrs.address),
        prefixLen: m.data.prefixlen ?? 32,
      }));
  }

  /** Global (not link-local) IPv6 addresses. */
  async ipv6Addresses(): Promise<Array<{ index: number; ip: string; prefixLen: number }>> {
    const msgs = await this.sock.getAddresses({ family: AF_INET6 });
    return msgs
      .filter((m) => m.data.family === AF_INET6)
      .map((m) => ({
        index: m.data.index ?? 0,
        ip: ipStr(m.attrs.address ?? m.attrs.local),
        prefixLen: m.data.prefixlen ?? 128,
      }))
      .filter((a) => a.ip && !cidrContainsIp('fe80::/10', a.ip));
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
    const links = await this.sock.getLinks();
    const byIndex = new Map<number, string>();
    let vx: ActualState['vxlan'];
    let vx6: ActualState['vxlan6'];
    let vxIndex = -1;
    let vx6Index = -1;
    for (const m of links) {
      byIndex.set(m.data.index ?? 0, m.attrs.ifname ?? '');
      const name = m.attrs.ifname;
      if ((name !== dev && (!dev6 || name !== dev6)) || !m.attrs.linkinfo) continue;
      const info = nl().ifla.parseInfo(m.attrs.linkinfo);
      if (info.kind !== 'vxlan' || !info.data) continue;
      const v = nl().ifla.parseVxlan(info.data);
      const found: NonNullable<ActualState['vxlan']> = {
        name,
        vni: v.id ?? 0,
        port: v.port ? v.port.readUInt16BE(0) : 0,
        local: ipStr(v.local ?? v.local6),
        linkIndex: v.link ?? 0,
        mtu: m.attrs.mtu ?? 0,
        mac: macStr(m.attrs.address),
        address: '',
        up: !!m.data.flags?.up,
        learning: !!v.learning,
        addresses: [],
        index: m.data.index ?? 0,
      };
      if (name === dev) {
        vx = found;
        vxIndex = m.data.index ?? 0;
      } else {
        vx6 = found;
        vx6Index = m.data.index ?? 0;
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
      for (const data of await this.dump(RTM_GETROUTE, family)) {
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
      for (const data of await this.dump(RTM_GETNEIGH, family)) {
        const n = readNeigh(data);
        if (!n || n.ifindex !== index || n.family !== family || !n.mac) continue;
        neighbors.push({ dev: name, ip: n.dst, mac: n.mac, permanent: n.permanent });
      }
      for (const data of await this.dump(RTM_GETNEIGH, AF_BRIDGE, index)) {
        const n = readNeigh(data);
        if (!n || n.ifindex !== index || !n.self || !n.dst || !n.mac) continue;
        if (n.mac === '00:00:00:00:00:00') continue;
        fdb.push({ dev: name, mac: n.mac, dst: n.dst });
      }
    }
    return { vxlan: vx, vxlan6: vx6, routes, neighbors, fdb };
  }

  /**
   * Payloads of a route or neighbour dump (rtmsg/ndmsg with the family, and an interface for
   * FDB dumps), read by parse.ts rather than the package's parser; serialized like every dump.
   */
  private dump(type: number, family: number, ifindex = 0): Promise<Buffer[]> {
    const head = Buffer.alloc(12);
    head[0] = family;
    if (type === RTM_GETNEIGH) head.writeInt32LE(ifindex, 4);
    return this.serial(async () => {
      const [msgs] = await this.sock.socket.request(type, head, { flags: nl().FlagsGet.DUMP });
      return msgs.map((m) => m.data);
    });
  }

  async linkIndex(name: string): Promise<number> {
    const index = await this.indexOf(name);
    if (index === undefined)
      throw new KernelError(`interface ${name} not found`, 'EAGENT_NO_IFACE');
    return index;
  }

  /**
   * A link's index by name, undefined when there is none: one RTM_GETLINK, not a dump of every
   * link (a node has one per pod) parsed by the package.
   */
  private async indexOf(name: string): Promise<number | undefined> {
    try {
      const [m] = await this.sock.getLink({}, { ifname: name });
      return m?.data.index;
    } catch (e) {
      if ((e as Error).message.endsWith('ENODEV')) return undefined;
      throw e;
    }
  }

  async deleteLink(name: string): Promise<void> {
    const index = await this.linkIndex(name).catch(() => -1);
    if (index >= 0) await this.sock.delLink({ index });
  }

  /** Creates flannel.<vni> (learning off, stable MAC), or fixes MTU/MAC/address/up on an existing one. */
  async ensureVxlan(spec: VxlanSpec, mode: 'create' | 'update'): Promise<void> {
    if (mode === 'create') {
      await this.deleteLink(spec.name);
      const data = new (nl().AttrStream)();
      const v6 = familyOf(spec.local) === AF_INET6;
      data.emit(
        nl().ifla.formatVxlan({
          id: spec.vni,
          ...(v6 ? { local6: ip4(spec.local) } : { local: ip4(spec.local) }),
          link: spec.linkIndex,
          learning: 0,
          port: Buffer.from([spec.port >> 8, spec.port & 0xff]),
        }),
      );
      const info = new (nl().AttrStream)();
      const encoded = nl().ifla.formatInfo({ kind: 'vxlan', data: Buffer.concat(data.bufs) });
      info.emit(encoded);
      await this.sock.newLink(
        {},
        {
          ifname: spec.name,
          mtu: spec.mtu,
          address: macBuf(spec.mac),
          linkinfo: Buffer.concat(info.bufs),
        },
        { flags: nl().FlagsNew.CREATE | nl().FlagsNew.EXCL },
      );
      // IPv6 overlay only (an IPv4-only network writes no IPv6 sysctl): no router advertisements
      // before the device is up (no autoconf on the overlay), no duplicate address detection
      // (the /128 is usable at once).
      if (v6) {
        for (const key of ['accept_ra', 'accept_dad'])
          await writeFile(`/proc/sys/net/ipv6/conf/${spec.name}/${key}`, '0').catch(
            () => undefined,
          );
      }
    }
    const index = await this.linkIndex(spec.name);
    // A device just created has them from newLink.
    if (mode === 'update')
      await this.sock.setLink({ index }, { mtu: spec.mtu, address: macBuf(spec.mac) });
    const [addr, len] = spec.address.split('/') as [string, string];
    await this.sock.newAddress(
      { family: familyOf(addr), prefixlen: Number(len), index },
      { local: ip4(addr), address: ip4(addr) },
      { flags: nl().FlagsNew.CREATE | nl().FlagsNew.REPLACE },
    );
    await this.sock.setLink({ index, flags: { up: true }, change: { up: true } });
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
    const info = new (nl().AttrStream)();
    info.emit(nl().ifla.formatInfo({ kind: 'wireguard' }));
    await this.sock.newLink(
      {},
      { ifname: name, mtu, linkinfo: Buffer.concat(info.bufs) },
      { flags: nl().FlagsNew.CREATE | nl().FlagsNew.EXCL },
    );
  }

  /** MTU, addresses and up on an existing link (a tunnel device the agent owns). */
  async configureLink(name: string, mtu: number, addresses: string[]): Promise<void> {
    const index = await this.linkIndex(name);
    // No router advertisements or DAD on the overlay: the /128 is usable at once.
    if (addresses.some((a) => a.includes(':')))
      for (const key of ['accept_ra', 'accept_dad'])
        await writeFile(`/proc/sys/net/ipv6/conf/${name}/${key}`, '0').catch(() => undefined);
    await this.sock.setLink({ index }, { mtu });
    for (const a of addresses) {
      const [addr, len] = a.split('/') as [string, string];
      await this.sock.newAddress(
        { family: familyOf(addr), prefixlen: Number(len), index },
        { local: ip4(addr), address: ip4(addr) },
        { flags: nl().FlagsNew.CREATE | nl().FlagsNew.REPLACE },
      );
    }
    await this.sock.setLink({ index, flags: { up: true }, change: { up: true } });
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

/** The devices a diff's neighbours, FDB entries and routes name (route deletes need none). */
function devicesOf(d: Diff): Set<string> {
  const names = new Set<string>();
  for (const list of [d.removeNeighbors, d.addNeighbors, d.replaceNeighbors])
    for (const n of list) names.add(n.dev);
  for (const list of [d.removeFdb, d.addFdb, d.replaceFdb]) for (const f of list) names.add(f.dev);
  for (const list of [d.addRoutes, d.replaceRoutes]) for (const r of list) names.add(r.dev);
  return names;
}

const RTN_UNICAST = 1;

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
const RTM_GETROUTE = 26;
const RTM_GETNEIGH = 30;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;

/** What one notification says, or undefined when it cannot concern the agent. */
export function noteOf(type: number, data: Buffer): KernelNote | undefined {
  if (type === RTM_NEWLINK || type === RTM_DELLINK) return { kind: 'link', ...readLink(data) };
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

  start(): void {
    // The raw socket: notifications are read by noteOf, not the package's generic parser.
    const s = new (nl().RawSocket)(nl().Protocol.ROUTE);
    s.setRecvBufferSize(WATCH_RCVBUF);
    for (const g of ['LINK', 'IPV4_ROUTE', 'IPV6_ROUTE', 'NEIGH'] as const)
      s.addMembership(nl().rt.MulticastGroups[g]);
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

  stop(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
