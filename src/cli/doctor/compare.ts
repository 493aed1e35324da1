import {
  ROUTE_PROTOCOL,
  normalizeMac,
  type ActualState,
  type DesiredState,
  type Diff,
  type FdbSpec,
  type NeighSpec,
  type RouteSpec,
  type VxlanSpec,
} from '../../agent/desired.js';
import { tryCanonicalCidr } from '../../ipam/index.js';
import type { WgDeviceSpec } from '../../agent/wireguard/desired.js';
import { diffWireguard, type WgActual } from '../../agent/wireguard/diff.js';

/**
 * The pure part of `kubectl flannel doctor`: the agent's own diff (src/agent/desired.ts
 * diffState) turned into one line per difference, with what is wanted and what the kernel has.
 */

export type DifferenceKind =
  'device' | 'route' | 'neighbor' | 'fdb' | 'netfilter' | 'sysctl' | 'file' | 'wireguard-peer';
/** `drops`: something not ours (another chain at the forward hook) drops pod traffic. */
export type Change = 'missing' | 'extra' | 'wrong' | 'drops';

export interface Difference {
  kind: DifferenceKind;
  change: Change;
  /** What it is about: a CIDR, an IP, a MAC, a table name, a path. */
  object: string;
  want?: string;
  have?: string;
}

export const routeText = (r: RouteSpec & { protocol?: number }): string =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}${r.onlink ? ' onlink' : ''}${
    r.protocol !== undefined && r.protocol !== ROUTE_PROTOCOL ? ` proto ${r.protocol}` : ''
  }`;
const neighText = (n: NeighSpec & { permanent?: boolean }): string =>
  `${n.ip} lladdr ${n.mac} dev ${n.dev}${n.permanent === false ? ' (not permanent)' : n.permanent ? ' permanent' : ''}`;
const fdbText = (f: FdbSpec): string => `${f.mac} dev ${f.dev} dst ${f.dst}`;

/** One vxlan device (flannel.<vni> or flannel-v6.<vni>) against what the diff decided for it. */
function deviceDifferences(
  want: VxlanSpec | undefined,
  have: ActualState['vxlan'],
  action: Diff['vxlan'],
): Difference[] {
  if (action === 'ok') return [];
  if (action === 'delete' && have)
    return [{ kind: 'device', change: 'extra', object: have.name, have: `vxlan id ${have.vni}` }];
  if (!want) return [];
  if (!have) {
    return [
      {
        kind: 'device',
        change: 'missing',
        object: want.name,
        want: `vxlan id ${want.vni} dstport ${want.port} local ${want.local} mtu ${want.mtu} address ${want.mac}`,
      },
    ];
  }
  const out: Difference[] = [];
  const field = (name: string, w: unknown, h: unknown): void => {
    if (String(w) !== String(h))
      out.push({
        kind: 'device',
        change: 'wrong',
        object: `${want.name} ${name}`,
        want: String(w),
        have: String(h),
      });
  };
  field('vni', want.vni, have.vni);
  field('dstport', want.port, have.port);
  field('local', want.local, have.local);
  field('link', want.linkIndex, have.linkIndex);
  field('learning', 'off', have.learning ? 'on' : 'off');
  field('mtu', want.mtu, have.mtu);
  field('address', want.mac, normalizeMac(have.mac));
  field('state', 'up', have.up ? 'up' : 'down');
  if (!have.addresses.includes(want.address))
    out.push({
      kind: 'device',
      change: 'wrong',
      object: `${want.name} ip`,
      want: want.address,
      have: have.addresses.join(',') || '<none>',
    });
  return out;
}

/** What the kernel (link) and `wg show dump` report for one WireGuard device. */
export interface WgDeviceHere {
  link?: { mtu: number; up: boolean; addresses: string[] };
  dump?: WgActual;
}

const peerText = (p: { endpoint?: string; allowedIPs: string[]; keepalive: number }): string =>
  `endpoint ${p.endpoint ?? '(none)'} allowed-ips ${p.allowedIPs.join(',') || '(none)'} keepalive ${p.keepalive || 'off'}`;

/**
 * The WireGuard devices against the agent's own desired state and diff (src/agent/wireguard):
 * device, key, port, MTU, addresses, then one line per missing, wrong or extra peer.
 * Pre-shared keys are not compared (doctor does not read the Secret).
 */
export function wireguardDifferences(
  want: WgDeviceSpec[],
  here: Map<string, WgDeviceHere>,
  publicKey: string | undefined,
): Difference[] {
  const out: Difference[] = [];
  for (const w of want) {
    const h = here.get(w.name);
    if (!h?.link || !h.dump) {
      out.push({
        kind: 'device',
        change: 'missing',
        object: w.name,
        want: `wireguard listen-port ${w.listenPort} mtu ${w.mtu}`,
        ...(h?.link ? { have: 'a link that is no WireGuard device' } : {}),
      });
      continue;
    }
    const field = (name: string, wv: unknown, hv: unknown): void => {
      if (String(wv) !== String(hv))
        out.push({
          kind: 'device',
          change: 'wrong',
          object: `${w.name} ${name}`,
          want: String(wv),
          have: String(hv),
        });
    };
    field('public-key', publicKey ?? '(not published)', h.dump.publicKey);
    field('listen-port', w.listenPort, h.dump.listenPort);
    field('mtu', w.mtu, h.link.mtu);
    field('state', 'up', h.link.up ? 'up' : 'down');
    for (const a of w.addresses)
      if (!h.link.addresses.includes(a)) field('ip', a, h.link.addresses.join(',') || '<none>');
    const dump = { ...h.dump, peers: h.dump.peers.map(({ pskDigest: _, ...p }) => p) };
    const change = diffWireguard(w, dump, { publicKey: h.dump.publicKey });
    const havePeers = new Map(h.dump.peers.map((p) => [p.publicKey, p]));
    for (const p of change.upsert) {
      const hp = havePeers.get(p.publicKey);
      out.push({
        kind: 'wireguard-peer',
        change: hp ? 'wrong' : 'missing',
        object: `${w.name} ${p.nodeName} ${p.publicKey}`,
        want: peerText(p),
        ...(hp ? { have: peerText(hp) } : {}),
      });
    }
    for (const k of change.remove)
      out.push({
        kind: 'wireguard-peer',
        change: 'extra',
        object: `${w.name} ${k}`,
        have: peerText(havePeers.get(k)!),
      });
  }
  return out;
}

export function describeDiff(desired: DesiredState, actual: ActualState, d: Diff): Difference[] {
  const out = [
    ...deviceDifferences(desired.vxlan, actual.vxlan, d.vxlan),
    ...deviceDifferences(desired.vxlan6, actual.vxlan6, d.vxlan6 ?? 'ok'),
  ];
  const routeByDst = new Map(
    actual.routes.filter((r) => r.table === 254).map((r) => [tryCanonicalCidr(r.dst) ?? r.dst, r]),
  );
  for (const r of d.addRoutes)
    out.push({ kind: 'route', change: 'missing', object: r.dst, want: routeText(r) });
  for (const r of d.replaceRoutes) {
    const have = routeByDst.get(r.dst);
    out.push({
      kind: 'route',
      change: 'wrong',
      object: r.dst,
      want: routeText(r),
      ...(have ? { have: routeText(have) } : {}),
    });
  }
  for (const r of d.removeRoutes)
    out.push({ kind: 'route', change: 'extra', object: r.dst, have: routeText(r) });

  // When the device must be recreated every neighbor/fdb entry counts as missing; say so once per entry.
  const neighByIp = new Map(actual.neighbors.map((n) => [`${n.dev}|${n.ip}`, n]));
  for (const n of d.addNeighbors)
    out.push({ kind: 'neighbor', change: 'missing', object: n.ip, want: neighText(n) });
  for (const n of d.replaceNeighbors) {
    const have = neighByIp.get(`${n.dev}|${n.ip}`);
    out.push({
      kind: 'neighbor',
      change: 'wrong',
      object: n.ip,
      want: neighText({ ...n, permanent: true }),
      ...(have ? { have: neighText(have) } : {}),
    });
  }
  for (const n of d.removeNeighbors)
    out.push({ kind: 'neighbor', change: 'extra', object: n.ip, have: neighText(n) });

  const fdbByMac = new Map(actual.fdb.map((f) => [`${f.dev}|${normalizeMac(f.mac)}`, f]));
  for (const f of d.addFdb)
    out.push({ kind: 'fdb', change: 'missing', object: f.mac, want: fdbText(f) });
  for (const f of d.replaceFdb) {
    const have = fdbByMac.get(`${f.dev}|${f.mac}`);
    out.push({
      kind: 'fdb',
      change: 'wrong',
      object: f.mac,
      want: fdbText(f),
      ...(have ? { have: fdbText(have) } : {}),
    });
  }
  for (const f of d.removeFdb)
    out.push({ kind: 'fdb', change: 'extra', object: f.mac, have: fdbText(f) });
  return out;
}

/** What `nft -j list table` showed, reduced to what we compare. */
export interface NftObserved {
  present: boolean;
  comment?: string;
  chains: Record<string, number>;
}

/** Netfilter differences against the agent's renderer output (hash in the table comment + rule counts). */
export function nftDifferences(
  table: string,
  want: { hash: string; ruleCounts: { postrtg: number; forward: number } },
  ipMasq: boolean,
  have: NftObserved,
): Difference[] {
  if (!have.present)
    return [
      {
        kind: 'netfilter',
        change: 'missing',
        object: `table ${table}`,
        want: `flannel-operator ${want.hash}`,
      },
    ];
  const out: Difference[] = [];
  const expected: Record<string, number> = { forward: want.ruleCounts.forward };
  if (ipMasq) expected.postrtg = want.ruleCounts.postrtg;
  for (const [chain, n] of Object.entries(expected)) {
    const got = have.chains[chain];
    if (got === undefined)
      out.push({
        kind: 'netfilter',
        change: 'missing',
        object: `chain ${table}/${chain}`,
        want: `${n} rules`,
      });
    else if (got !== n)
      out.push({
        kind: 'netfilter',
        change: 'wrong',
        object: `chain ${table}/${chain}`,
        want: `${n} rules`,
        have: `${got} rules`,
      });
  }
  for (const chain of Object.keys(have.chains))
    if (!(chain in expected))
      out.push({
        kind: 'netfilter',
        change: 'extra',
        object: `chain ${table}/${chain}`,
        have: `${have.chains[chain]} rules`,
      });
  if (have.comment !== `flannel-operator ${want.hash}`)
    out.push({
      kind: 'netfilter',
      change: 'wrong',
      object: `table ${table} rules`,
      want: `flannel-operator ${want.hash}`,
      have: have.comment ?? '<no comment>',
    });
  return out;
}

/** Parses `nft -j list table ...` output. */
export function parseNftJson(stdout: string): NftObserved {
  const items = (JSON.parse(stdout) as { nftables: Array<Record<string, Record<string, unknown>>> })
    .nftables;
  const table = items.find((x) => x.table)?.table as { comment?: string } | undefined;
  const chains: Record<string, number> = {};
  for (const x of items) if (x.chain) chains[(x.chain as { name: string }).name] = 0;
  for (const x of items) {
    const c = (x.rule as { chain?: string } | undefined)?.chain;
    if (c !== undefined) chains[c] = (chains[c] ?? 0) + 1;
  }
  return { present: !!table, comment: table?.comment, chains };
}

/** Line-level differences of a small text file (subnet.env). */
export function fileDifferences(
  path: string,
  want: string,
  have: string | undefined,
): Difference[] {
  if (have === undefined)
    return [
      { kind: 'file', change: 'missing', object: path, want: want.trim().replace(/\n/g, ' ') },
    ];
  const w = want.trim().split('\n');
  const h = have.trim().split('\n');
  const out: Difference[] = [];
  const key = (l: string): string => l.split('=')[0]!;
  const hm = new Map(h.map((l) => [key(l), l]));
  const wm = new Map(w.map((l) => [key(l), l]));
  for (const l of w) {
    const got = hm.get(key(l));
    if (got === undefined)
      out.push({ kind: 'file', change: 'missing', object: `${path} ${key(l)}`, want: l });
    else if (got !== l)
      out.push({ kind: 'file', change: 'wrong', object: `${path} ${key(l)}`, want: l, have: got });
  }
  for (const l of h)
    if (l && !wm.has(key(l)))
      out.push({ kind: 'file', change: 'extra', object: `${path} ${key(l)}`, have: l });
  return out;
}
