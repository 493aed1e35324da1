import { bitsOf, lastAddr, parseCidr, tryParseIp, type Family } from '../../ipam/index.js';
import { NFT_TABLE_V4, NFT_TABLE_V6 } from './render.js';

/**
 * Would another nftables base chain at the forward hook drop pod traffic? In nftables an accept
 * ends only the chain it is in: every base chain at the hook still sees the packet, so one foreign
 * `policy drop` chain kills pod traffic whatever our own table says. This walks each such chain
 * (jumps, gotos, returns) for two probe flows per family, as the first packet of a connection:
 * pod network -> anywhere and anywhere -> pod network. Pure: input is `nft -j` output.
 *
 * Matches it understands: ip/ip6 saddr/daddr (address, prefix, range, anonymous set, ==/!=),
 * ct state, meta nfproto, iptables-nft comments. Any other match (iifname, tcp dport, ...) is
 * taken as not matching: an accept it guards is not relied on, a drop it guards is not reported.
 * A drop of only part of the pod network is reported; a drop of only part of "anywhere" is not.
 */

export interface ForwardProbe {
  family: 'ipv4' | 'ipv6';
  /** The pod network (canonical CIDR). */
  network: string;
}

export interface ForwardBlocker {
  family: 'ipv4' | 'ipv6';
  network: string;
  /** `<family> <table> <chain>`, e.g. `inet filter forward`. */
  chain: string;
  /** Which flows it drops. */
  directions: Array<'from-pods' | 'to-pods'>;
  /** What drops them: `policy drop`, or the rule (`rule handle 7`). */
  by: string;
}

/** The objects of `nft -j list ...` output (metainfo, table, chain, rule). */
export type NftItem = Record<string, Record<string, unknown>>;

interface Chain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  type?: string;
  policy?: string;
  rules: Array<{ handle?: number; expr: unknown[] }>;
}

/** Tables the agent owns: their chains are ours, not the host's. */
const OWN_TABLES = new Set([`ip ${NFT_TABLE_V4}`, `ip6 ${NFT_TABLE_V6}`]);
const FAMILIES: Record<string, Array<ForwardProbe['family']>> = {
  ip: ['ipv4'],
  ip6: ['ipv6'],
  inet: ['ipv4', 'ipv6'],
};

interface Range {
  lo: bigint;
  hi: bigint;
}
/** A flow: its source and destination address ranges; `pod` says which side is the pod network. */
interface Flow {
  family: Family;
  saddr: Range;
  daddr: Range;
  pod: 'saddr' | 'daddr';
  direction: 'from-pods' | 'to-pods';
}
/** yes: every packet of the flow matches; no: none does; partial/unknown: cannot rely on it. */
type Tri = 'yes' | 'no' | 'partial' | 'unknown';
type Outcome = { verdict: 'accept' | 'drop' | 'return'; by?: string };

export function parseChains(items: NftItem[]): Map<string, Chain> {
  const chains = new Map<string, Chain>();
  const key = (f: unknown, t: unknown, n: unknown): string =>
    `${String(f)} ${String(t)} ${String(n)}`;
  for (const it of items) {
    const c = it.chain;
    if (!c) continue;
    chains.set(key(c.family, c.table, c.name), {
      family: String(c.family),
      table: String(c.table),
      name: String(c.name),
      hook: c.hook as string | undefined,
      type: c.type as string | undefined,
      policy: c.policy as string | undefined,
      rules: [],
    });
  }
  for (const it of items) {
    const r = it.rule;
    if (!r) continue;
    chains
      .get(key(r.family, r.table, r.chain))
      ?.rules.push({ handle: r.handle as number, expr: (r.expr as unknown[]) ?? [] });
  }
  return chains;
}

/** Base chains at the forward hook that are not the agent's own (tables to list in full). */
export function foreignForwardChains(items: NftItem[]): Array<{ family: string; table: string }> {
  const out = new Map<string, { family: string; table: string }>();
  for (const c of parseChains(items).values()) {
    const t = `${c.family} ${c.table}`;
    if (c.hook === 'forward' && FAMILIES[c.family] && !OWN_TABLES.has(t))
      out.set(t, { family: c.family, table: c.table });
  }
  return [...out.values()];
}

export function findForwardBlockers(items: NftItem[], probes: ForwardProbe[]): ForwardBlocker[] {
  const chains = parseChains(items);
  const out: ForwardBlocker[] = [];
  for (const c of chains.values()) {
    if (c.hook !== 'forward' || OWN_TABLES.has(`${c.family} ${c.table}`)) continue;
    for (const p of probes) {
      if (!FAMILIES[c.family]?.includes(p.family)) continue;
      const dropped: ForwardBlocker['directions'] = [];
      let by = '';
      for (const flow of flowsOf(p)) {
        const o = runChain(chains, c, flow, 0);
        const verdict = o.verdict === 'return' ? policyOf(c) : o;
        if (verdict.verdict === 'drop') {
          dropped.push(flow.direction);
          by ||= verdict.by ?? 'policy drop';
        }
      }
      if (dropped.length)
        out.push({
          family: p.family,
          network: p.network,
          chain: `${c.family} ${c.table} ${c.name}`,
          directions: dropped,
          by,
        });
    }
  }
  return out;
}

/** One line for logs, Events and the lease condition. */
export function describeBlocker(b: ForwardBlocker): string {
  const a = b.family === 'ipv4' ? 'ip' : 'ip6';
  const what = b.directions
    .map((d) => (d === 'from-pods' ? `from ${b.network}` : `to ${b.network}`))
    .join(' and ');
  return (
    `nftables chain ${b.chain} (hook forward) drops forwarded pod traffic ${what} (${b.by}); ` +
    `an accept in another table cannot override it: add \`${a} saddr ${b.network} accept\` and ` +
    `\`${a} daddr ${b.network} accept\` to that chain`
  );
}

function flowsOf(p: ForwardProbe): Flow[] {
  const net = parseCidr(p.network, 'pod network');
  const pods: Range = { lo: net.addr, hi: lastAddr(net) };
  const any: Range = { lo: 0n, hi: (1n << BigInt(bitsOf(net.family))) - 1n };
  return [
    { family: net.family, saddr: pods, daddr: any, pod: 'saddr', direction: 'from-pods' },
    { family: net.family, saddr: any, daddr: pods, pod: 'daddr', direction: 'to-pods' },
  ];
}

function policyOf(c: Chain): Outcome {
  return c.policy === 'drop' ? { verdict: 'drop', by: 'policy drop' } : { verdict: 'accept' };
}

const MAX_DEPTH = 16;

function runChain(chains: Map<string, Chain>, c: Chain, flow: Flow, depth: number): Outcome {
  for (const rule of c.rules) {
    const o = runRule(chains, c, rule, flow, depth);
    if (o) return o;
  }
  return { verdict: 'return' };
}

/** The rule's outcome for the flow, or undefined to go on with the next rule. */
function runRule(
  chains: Map<string, Chain>,
  c: Chain,
  rule: Chain['rules'][number],
  flow: Flow,
  depth: number,
): Outcome | undefined {
  let m: Tri = 'yes';
  for (const e of rule.expr as Array<Record<string, unknown>>) {
    const v = verdictOf(e);
    if (!v) {
      m = and(m, exprMatches(e, flow));
      if (m === 'no') return undefined;
      continue;
    }
    const by = `rule handle ${rule.handle ?? '?'} in ${c.family} ${c.table} ${c.name}`;
    if (v.kind === 'accept' || v.kind === 'queue')
      return m === 'yes' ? { verdict: 'accept' } : undefined;
    if (v.kind === 'drop')
      return m === 'yes' || m === 'partial' ? { verdict: 'drop', by } : undefined;
    if (m !== 'yes') return undefined;
    if (v.kind === 'return') return { verdict: 'return' };
    if (v.kind === 'continue') return undefined;
    const target = chains.get(`${c.family} ${c.table} ${v.target}`);
    if (!target || depth >= MAX_DEPTH) return undefined;
    const o = runChain(chains, target, flow, depth + 1);
    if (o.verdict !== 'return') return o;
    // A goto's return goes back to the caller of this chain.
    return v.kind === 'goto' ? { verdict: 'return' } : undefined;
  }
  return undefined;
}

function verdictOf(
  e: Record<string, unknown>,
):
  | { kind: 'accept' | 'drop' | 'queue' | 'return' | 'continue' | 'jump' | 'goto'; target?: string }
  | undefined {
  if ('accept' in e) return { kind: 'accept' };
  if ('drop' in e || 'reject' in e) return { kind: 'drop' };
  if ('queue' in e) return { kind: 'queue' };
  if ('return' in e) return { kind: 'return' };
  if ('continue' in e) return { kind: 'continue' };
  for (const k of ['jump', 'goto'] as const)
    if (k in e) return { kind: k, target: String((e[k] as { target?: unknown })?.target) };
  return undefined;
}

const NOOP = new Set(['counter', 'log', 'mangle', 'notrack', 'comment']);

function exprMatches(e: Record<string, unknown>, flow: Flow): Tri {
  if ('match' in e) return matchOf(e.match as Record<string, unknown>, flow);
  if ('xt' in e) return (e.xt as { name?: string })?.name === 'comment' ? 'yes' : 'unknown';
  return Object.keys(e).every((k) => NOOP.has(k)) ? 'yes' : 'unknown';
}

function matchOf(m: Record<string, unknown>, flow: Flow): Tri {
  const left = m.left as Record<string, Record<string, unknown>> | undefined;
  const negate = m.op === '!=';
  const flip = (t: Tri): Tri => (!negate ? t : t === 'yes' ? 'no' : t === 'no' ? 'yes' : t);
  if (left?.payload) {
    const { protocol, field } = left.payload;
    const fam: Family | undefined = protocol === 'ip' ? 4 : protocol === 'ip6' ? 6 : undefined;
    if (fam === undefined) return 'unknown';
    // ip saddr in an inet chain implies "IPv4 only": an IPv6 packet never matches.
    if (fam !== flow.family) return 'no';
    if (field !== 'saddr' && field !== 'daddr') return 'unknown';
    const set = rangesOf(m.right, fam);
    if (!set) return 'unknown';
    const t = cover(flow[field], set);
    // Only the pod side of a flow matters: part of "anywhere" is not part of pod traffic.
    return flip(t === 'partial' && flow.pod !== field ? 'unknown' : t);
  }
  if (left?.ct && left.ct.key === 'state') {
    const states = ([] as unknown[]).concat(m.right);
    return flip(states.includes('new') ? 'yes' : 'no');
  }
  if (left?.meta && left.meta.key === 'nfproto') {
    const want = flow.family === 4 ? 'ipv4' : 'ipv6';
    return flip(([] as unknown[]).concat(m.right).includes(want) ? 'yes' : 'no');
  }
  return 'unknown';
}

/** Address ranges of a match's right-hand side, or undefined for what cannot be read (@named sets). */
function rangesOf(right: unknown, fam: Family): Range[] | undefined {
  const one = (x: unknown): Range | undefined => {
    if (typeof x === 'string') {
      const ip = tryParseIp(x);
      return ip?.family === fam ? { lo: ip.addr, hi: ip.addr } : undefined;
    }
    const o = x as { prefix?: { addr?: string; len?: number }; range?: unknown[] };
    if (o?.prefix) {
      const ip = tryParseIp(o.prefix.addr);
      const len = Number(o.prefix.len);
      if (ip?.family !== fam || !(len >= 0 && len <= bitsOf(fam))) return undefined;
      const host = (1n << BigInt(bitsOf(fam) - len)) - 1n;
      return { lo: ip.addr & ~host, hi: (ip.addr & ~host) | host };
    }
    if (Array.isArray(o?.range)) {
      const [a, b] = o.range.map((r) => one(r));
      return a && b ? { lo: a.lo, hi: b.hi } : undefined;
    }
    return undefined;
  };
  const items = (right as { set?: unknown[] })?.set ?? [right];
  const out: Range[] = [];
  for (const x of items) {
    const r = one(x);
    if (!r) return undefined;
    out.push(r);
  }
  return out;
}

function cover(r: Range, set: Range[]): Tri {
  if (set.some((s) => s.lo <= r.lo && r.hi <= s.hi)) return 'yes';
  return set.some((s) => s.lo <= r.hi && r.lo <= s.hi) ? 'partial' : 'no';
}

function and(a: Tri, b: Tri): Tri {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  if (a === 'partial' || b === 'partial') return 'partial';
  return 'yes';
}
