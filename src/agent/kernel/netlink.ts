import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import ipaddr from 'ipaddr.js';
import { AttrStream, FlagsNew, createRtNetlink, ifla, rt, type RtNetlinkSocket } from 'netlink';
import {
  ROUTE_PROTOCOL,
  type ActualRoute,
  type ActualState,
  type Diff,
  type FdbSpec,
  type NeighSpec,
  type RouteSpec,
  type UnderlayInfo,
  type VxlanSpec,
} from '../desired.js';
import { canonicalCidr, cidrContainsIp, tryCanonicalIp } from '../../ipam/index.js';
import { FlannelOperatorError, type ErrorCode } from '../../errors.js';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_BRIDGE = 7;
const RT_TABLE_MAIN = 254;
/** RTNH_F_ONLINK: the netlink package has no name for it. */
const RTNH_F_ONLINK = 4;
/** Netlink write requests in flight at once while applying a diff. */
const WRITE_WINDOW = 64;
const CREATE_OR_REPLACE = { flags: FlagsNew.CREATE | FlagsNew.REPLACE };

export class KernelError extends FlannelOperatorError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'EAGENT_KERNEL') {
    super(message);
    this.code = code;
  }
}

/** Address bytes, 4 or 16 of them. */
const ip4 = (s: string): Buffer => Buffer.from(ipaddr.parse(s).toByteArray());
const familyOf = (s: string): number => (ipaddr.parse(s).kind() === 'ipv6' ? AF_INET6 : AF_INET);
const macBuf = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');
const macStr = (b?: Buffer): string =>
  b ? [...b].map((x) => x.toString(16).padStart(2, '0')).join(':') : '';
const ipStr = (b?: Buffer): string => (b ? ipaddr.fromByteArray([...b]).toString() : '');

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
  private queue: Promise<unknown> = Promise.resolve();
  constructor() {
    const raw = createRtNetlink();
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
  }

  async links(): Promise<LinkInfo[]> {
    const msgs = await this.sock.getLinks();
    return msgs.map((m) => {
      let kind: string | undefined;
      if (m.attrs.linkinfo) kind = ifla.parseInfo(m.attrs.linkinfo).kind;
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
      const info = ifla.parseInfo(m.attrs.linkinfo);
      if (info.kind !== 'vxlan' || !info.data) continue;
      const v = ifla.parseVxlan(info.data);
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
    const routeMsgs = [...(await this.sock.getRoutes({ family: AF_INET }))];
    if (dev6) routeMsgs.push(...(await this.sock.getRoutes({ family: AF_INET6 })));
    for (const m of routeMsgs) {
      const fam = m.data.family;
      if ((fam !== AF_INET && fam !== AF_INET6) || m.attrs.multipath) continue;
      const table = m.attrs.table ?? m.data.table ?? 0;
      if (table !== RT_TABLE_MAIN) continue;
      const type = m.data.type;
      if (type !== 'UNICAST' && type !== 1) continue;
      const dstLen = m.data.dstLen ?? 0;
      const dst = m.attrs.dst
        ? `${ipStr(m.attrs.dst)}/${dstLen}`
        : fam === AF_INET6
          ? '::/0'
          : `0.0.0.0/0`;
      const protocol =
        typeof m.data.protocol === 'number' ? m.data.protocol : protoNumber(m.data.protocol);
      routes.push({
        dst,
        gateway: ipStr(m.attrs.gateway),
        dev: byIndex.get(m.attrs.oif ?? -1) ?? '',
        onlink: ((m.data.flags?.__unknown ?? 0) & RTNH_F_ONLINK) !== 0,
        protocol,
        table,
      });
    }
    const neighbors: ActualState['neighbors'] = [];
    const fdb: FdbSpec[] = [];
    const devices: Array<[string, number, number]> = [[dev, vxIndex, AF_INET]];
    if (dev6) devices.push([dev6, vx6Index, AF_INET6]);
    for (const [name, index, family] of devices) {
      if (index < 0) continue;
      for (const m of await this.sock.getNeighbors({ family })) {
        if (m.data.ifindex !== index || m.data.family !== family || !m.attrs.lladdr) continue;
        neighbors.push({
          dev: name,
          ip: ipStr(m.attrs.dst),
          mac: macStr(m.attrs.lladdr),
          permanent: !!m.data.state?.permanent,
        });
      }
      for (const m of await this.sock.getNeighbors({ family: AF_BRIDGE, ifindex: index })) {
        if (m.data.ifindex !== index || !m.data.flags?.self || !m.attrs.dst || !m.attrs.lladdr)
          continue;
        const mac = macStr(m.attrs.lladdr);
        if (mac === '00:00:00:00:00:00') continue;
        fdb.push({ dev: name, mac, dst: ipStr(m.attrs.dst) });
      }
    }
    return { vxlan: vx, vxlan6: vx6, routes, neighbors, fdb };
  }

  /** Interface indexes cached for the duration of one applyDiff (saves a link dump per object). */
  private indexCache?: Map<string, number>;

  async linkIndex(name: string): Promise<number> {
    const cached = this.indexCache?.get(name);
    if (cached !== undefined) return cached;
    const l = (await this.links()).find((x) => x.name === name);
    if (!l) throw new KernelError(`interface ${name} not found`, 'EAGENT_NO_IFACE');
    return l.index;
  }

  async deleteLink(name: string): Promise<void> {
    const index = await this.linkIndex(name).catch(() => -1);
    if (index >= 0) await this.sock.delLink({ index });
  }

  /** Creates flannel.<vni> (learning off, stable MAC), or fixes MTU/MAC/address/up on an existing one. */
  async ensureVxlan(spec: VxlanSpec, mode: 'create' | 'update'): Promise<void> {
    if (mode === 'create') {
      await this.deleteLink(spec.name);
      const data = new AttrStream();
      const v6 = familyOf(spec.local) === AF_INET6;
      data.emit(
        ifla.formatVxlan({
          id: spec.vni,
          ...(v6 ? { local6: ip4(spec.local) } : { local: ip4(spec.local) }),
          link: spec.linkIndex,
          learning: 0,
          port: Buffer.from([spec.port >> 8, spec.port & 0xff]),
        }),
      );
      const info = new AttrStream();
      const encoded = ifla.formatInfo({ kind: 'vxlan', data: Buffer.concat(data.bufs) });
      info.emit(encoded);
      await this.sock.newLink(
        {},
        {
          ifname: spec.name,
          mtu: spec.mtu,
          address: macBuf(spec.mac),
          linkinfo: Buffer.concat(info.bufs),
        },
        { flags: FlagsNew.CREATE | FlagsNew.EXCL },
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
    await this.sock.setLink({ index }, { mtu: spec.mtu, address: macBuf(spec.mac) });
    const [addr, len] = spec.address.split('/') as [string, string];
    await this.sock.newAddress(
      { family: familyOf(addr), prefixlen: Number(len), index },
      { local: ip4(addr), address: ip4(addr) },
      CREATE_OR_REPLACE,
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
    const info = new AttrStream();
    info.emit(ifla.formatInfo({ kind: 'wireguard' }));
    await this.sock.newLink(
      {},
      { ifname: name, mtu, linkinfo: Buffer.concat(info.bufs) },
      { flags: FlagsNew.CREATE | FlagsNew.EXCL },
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
        CREATE_OR_REPLACE,
      );
    }
    await this.sock.setLink({ index, flags: { up: true }, change: { up: true } });
  }

  async replaceRoute(r: RouteSpec): Promise<void> {
    const [dst, len] = canonicalCidr(r.dst).split('/') as [string, string];
    await this.sock.newRoute(
      {
        family: familyOf(dst),
        dstLen: Number(len),
        table: RT_TABLE_MAIN,
        protocol: ROUTE_PROTOCOL as unknown as rt.RouteProtocol,
        // A route straight over a tunnel device (wireguard) has no gateway: scope link.
        scope: r.gateway ? 'UNIVERSE' : 'LINK',
        type: 'UNICAST',
        flags: r.onlink ? { __unknown: RTNH_F_ONLINK } : {},
      },
      {
        dst: ip4(dst),
        ...(r.gateway ? { gateway: ip4(r.gateway) } : {}),
        oif: await this.linkIndex(r.dev),
      },
      CREATE_OR_REPLACE,
    );
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    const [dst, len] = canonicalCidr(r.dst).split('/') as [string, string];
    await ignoreMissing(
      this.sock.delRoute(
        // NOWHERE matches any scope (as `ip route del`): a device route is scope link.
        { family: familyOf(dst), dstLen: Number(len), table: RT_TABLE_MAIN, scope: 'NOWHERE' },
        { dst: ip4(dst), ...(r.gateway ? { gateway: ip4(r.gateway) } : {}) },
      ),
    );
  }

  async replaceNeighbor(n: NeighSpec): Promise<void> {
    await this.sock.newNeighbor(
      { family: familyOf(n.ip), ifindex: await this.linkIndex(n.dev), state: { permanent: true } },
      { dst: ip4(n.ip), lladdr: macBuf(n.mac) },
      CREATE_OR_REPLACE,
    );
  }

  async deleteNeighbor(n: NeighSpec): Promise<void> {
    const ifindex = await this.linkIndex(n.dev).catch(() => -1);
    if (ifindex < 0) return;
    await ignoreMissing(
      this.sock.delNeighbor({ family: familyOf(n.ip), ifindex }, { dst: ip4(n.ip) }),
    );
  }

  async replaceFdb(f: FdbSpec): Promise<void> {
    await this.sock.newNeighbor(
      {
        family: AF_BRIDGE,
        ifindex: await this.linkIndex(f.dev),
        state: { permanent: true },
        flags: { self: true },
      },
      { dst: ip4(f.dst), lladdr: macBuf(f.mac) },
      CREATE_OR_REPLACE,
    );
  }

  async deleteFdb(f: FdbSpec): Promise<void> {
    const ifindex = await this.linkIndex(f.dev).catch(() => -1);
    if (ifindex < 0) return;
    await ignoreMissing(
      this.sock.delNeighbor(
        { family: AF_BRIDGE, ifindex, flags: { self: true } },
        { dst: ip4(f.dst), lladdr: macBuf(f.mac) },
      ),
    );
  }

  /**
   * Applies a diff (device changes are the caller's, via ensureVxlan). Order per upstream:
   * neighbor and fdb before the route that uses them; the route goes first on removal.
   * Returns the errors of individual operations (the rest still applies).
   */
  async applyDiff(d: Diff): Promise<Error[]> {
    const errors: Error[] = [];
    const run = async (op: () => Promise<void>): Promise<void> => {
      try {
        await op();
      } catch (e) {
        errors.push(e as Error);
      }
    };
    this.indexCache = new Map((await this.links()).map((l) => [l.name, l.index]));
    try {
      await this.applyOps(d, run);
    } finally {
      this.indexCache = undefined;
    }
    return errors;
  }

  /**
   * Writes go out pipelined (up to WRITE_WINDOW in flight): only dumps need the socket to
   * themselves, and no dump runs during applyDiff (link indexes are cached). Groups stay ordered.
   */
  private async applyOps(d: Diff, run: (op: () => Promise<void>) => Promise<void>): Promise<void> {
    const group = async <T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> => {
      for (let i = 0; i < items.length; i += WRITE_WINDOW) {
        await Promise.all(items.slice(i, i + WRITE_WINDOW).map((x) => run(() => fn(x))));
      }
    };
    await group(d.removeRoutes, (r) => this.deleteRoute(r));
    await group(d.removeNeighbors, (n) => this.deleteNeighbor(n));
    await group(d.removeFdb, (f) => this.deleteFdb(f));
    await group([...d.addNeighbors, ...d.replaceNeighbors], (n) => this.replaceNeighbor(n));
    await group([...d.addFdb, ...d.replaceFdb], (f) => this.replaceFdb(f));
    await group([...d.addRoutes, ...d.replaceRoutes], (r) => this.replaceRoute(r));
  }
}

function protoNumber(p: unknown): number {
  const names: Record<string, number> = { UNSPEC: 0, REDIRECT: 1, KERNEL: 2, BOOT: 3, STATIC: 4 };
  return typeof p === 'string'
    ? (names[p] ?? rt.RouteProtocol[p as keyof typeof rt.RouteProtocol] ?? -1)
    : -1;
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    const msg = String((e as Error).message ?? e);
    if (/ENOENT|ESRCH|ENODEV/.test(msg)) return;
    throw e;
  }
}

/**
 * Watches rtnetlink multicast groups (links, IPv4 routes, neighbors) and emits 'change'
 * for deletions and link changes, so hand-made damage is repaired within the debounce delay.
 */
export class KernelWatcher extends EventEmitter {
  private sock?: RtNetlinkSocket;
  start(): void {
    const s = createRtNetlink();
    for (const g of ['LINK', 'IPV4_ROUTE', 'IPV6_ROUTE', 'NEIGH'] as const) s.addMembership(g);
    s.on('message', (msgs) => {
      for (const m of msgs) {
        // ARP churn of ordinary neighbors is not ours to repair.
        if (m.kind === 'neighbor' && m.data.state && !m.data.state.permanent) continue;
        this.emit('change', m.kind);
        return;
      }
    });
    s.socket.ref(true);
    this.sock = s;
  }
  stop(): void {
    this.sock?.socket.close();
    this.sock = undefined;
  }
}
