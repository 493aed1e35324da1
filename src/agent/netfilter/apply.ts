import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import {
  findForwardBlockers,
  foreignForwardChains,
  type ForwardBlocker,
  type ForwardProbe,
  type NftItem,
} from './forward-check.js';
import {
  IPT_CHAIN_FWD,
  IPT_CHAIN_NAT,
  iptablesHash,
  iptablesRuleCounts,
  nftTableName,
  renderIptables,
  renderNft,
  renderNftDelete,
  type RuleInput,
} from './render.js';
import type { NftWriters } from './writers.js';
import { FlannelOperatorError } from '../../errors.js';

export class NetfilterError extends FlannelOperatorError {
  readonly code = 'EAGENT_NETFILTER';
}

export type NetfilterMode = 'nftables' | 'iptables';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; `onSpawn` learns its pid (NftWriters). */
export function run(
  cmd: string,
  args: string[],
  input?: string,
  onSpawn?: (pid: number | undefined) => void,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    onSpawn?.(p.pid);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e) => resolve({ code: 127, stdout, stderr: String(e.message) }));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

/** nft when it works here, else iptables. */
export async function detectMode(preferred?: NetfilterMode): Promise<NetfilterMode> {
  if (preferred) return preferred;
  const r = await run('nft', ['list', 'tables']);
  return r.code === 0 ? 'nftables' : 'iptables';
}

/**
 * Owns the agent's netfilter rules: applies them atomically and reports drift
 * (a table/chain/rule deleted or edited by hand) so the agent can re-apply.
 *
 * nftables mode also keeps the pod network's accept rules in the iptables `filter FORWARD` chain
 * of every iptables flavour in use here (see forwardAcceptTables): an accept in our own table
 * cannot override a drop in another base chain at the same hook (Docker's `-P FORWARD DROP`).
 */
export class Netfilter {
  /** `writers`: where the pids of its nft writes go, for the NftWatcher to pass over their echo. */
  constructor(
    readonly mode: NetfilterMode,
    private readonly writers?: NftWriters,
  ) {}

  /** `nft -f -` with a script of ours. */
  private nftWrite(script: string): Promise<RunResult> {
    return run('nft', ['-f', '-'], script, (pid) => this.writers?.add(pid));
  }

  async apply(i: RuleInput): Promise<void> {
    if (this.mode === 'iptables') return new Xtables(i.family, 'default').apply(i);
    const r = await this.nftWrite(renderNft(i).script);
    if (r.code !== 0) throw new NetfilterError(`nft -f failed: ${r.stderr.trim()}`);
    for (const xt of await forwardAcceptTables(i.family)) await xt.apply(forwardOnly(i));
  }

  /** True when the kernel holds exactly what `apply(i)` would write. */
  async inSync(i: RuleInput): Promise<boolean> {
    if (this.mode === 'iptables') return new Xtables(i.family, 'default').inSync(i);
    if (!(await nftInSync(i))) return false;
    for (const xt of await forwardAcceptTables(i.family))
      if (!(await xt.inSync(forwardOnly(i)))) return false;
    return true;
  }

  /**
   * Removes everything of ours for a family, whatever the mode that wrote it: the nft table,
   * and our chains and jumps in every iptables flavour in use. Absent pieces are no error.
   */
  async remove(family: RuleInput['family']): Promise<void> {
    // One listing saves a process per absent piece (an agent removes the family it does not
    // serve at every start): our table, and iptables-nft's tables, live in nftables.
    const tables = await nftTables(family);
    if (!tables || tables.has(nftTableName(family))) await this.nftWrite(renderNftDelete(family));
    const flavours: Xtables[] = [new Xtables(family, 'default')];
    flavours.push(...(await forwardAcceptTables(family)));
    for (const xt of flavours) await xt.remove(tables);
  }

  /**
   * Foreign nftables base chains at the forward hook that would drop pod traffic (after our own
   * rules are in place). Empty when nft is not usable here: nothing can be said then.
   */
  async forwardBlockers(probes: ForwardProbe[]): Promise<ForwardBlocker[]> {
    const chains = await run('nft', ['-j', 'list', 'chains']);
    if (chains.code !== 0) return [];
    const items: NftItem[] = [];
    for (const t of foreignForwardChains(nftItems(chains.stdout))) {
      const r = await run('nft', ['-j', 'list', 'table', t.family, t.table]);
      if (r.code === 0) items.push(...nftItems(r.stdout));
    }
    return findForwardBlockers(items, probes);
  }
}

/** The nftables tables of a family (`nft list tables`); undefined when nft cannot say. */
async function nftTables(family: RuleInput['family']): Promise<Set<string> | undefined> {
  const r = await run('nft', ['list', 'tables', family === 'ipv4' ? 'ip' : 'ip6']);
  if (r.code !== 0) return undefined;
  return new Set(
    r.stdout.split('\n').flatMap((l) => /^table \S+ (\S+)$/.exec(l.trim())?.[1] ?? []),
  );
}

function nftItems(stdout: string): NftItem[] {
  try {
    return (JSON.parse(stdout) as { nftables?: NftItem[] }).nftables ?? [];
  } catch {
    return [];
  }
}

async function nftInSync(i: RuleInput): Promise<boolean> {
  const fam = i.family === 'ipv4' ? 'ip' : 'ip6';
  const want = renderNft(i);
  // Text, not -j: nft 1.0.x leaves the table comment (our hash) out of its JSON.
  const r = await run('nft', ['list', 'table', fam, nftTableName(i.family)]);
  if (r.code !== 0) return false;
  const got = parseNftListing(r.stdout);
  if (got.comment !== `flannel-operator ${want.hash}`) return false;
  if (got.chains.get('forward') !== want.ruleCounts.forward) return false;
  if (i.ipMasq && got.chains.get('postrtg') !== want.ruleCounts.postrtg) return false;
  if (!i.ipMasq && got.chains.has('postrtg')) return false;
  return true;
}

/**
 * nftables mode: the iptables binaries whose filter FORWARD chain lacks our accept rules
 * (doctor's view of what `inSync` checks beyond our own table).
 */
export async function forwardAcceptDrift(i: RuleInput): Promise<string[]> {
  const out: string[] = [];
  for (const xt of await forwardAcceptTables(i.family))
    if (!(await xt.inSync(forwardOnly(i)))) out.push(xt.bin);
  return out;
}

/** The forward accept rules alone (FLANNEL-OP-FWD and its jump), as in upstream's FLANNEL-FWD. */
const forwardOnly = (i: RuleInput): RuleInput => ({ ...i, ipMasq: false });

/** `iptables` on PATH, or the iptables-nft / iptables-legacy flavour by its explicit name. */
export type XtFlavour = 'default' | 'nft' | 'legacy';

const versions = new Map<string, Promise<RunResult>>();
/** `bin -V`, run once per binary (cached: the image does not change under us). */
function version(bin: string): Promise<RunResult> {
  let p = versions.get(bin);
  if (!p) {
    p = run(bin, ['-V']);
    versions.set(bin, p);
  }
  return p;
}

/** Whether a binary runs here. */
async function binaryWorks(bin: string): Promise<boolean> {
  return (await version(bin)).code === 0;
}

/**
 * The iptables flavours whose `filter FORWARD` chain must hold our accept rules: iptables-nft
 * always (created ahead, so a `-P FORWARD DROP` set later, e.g. by Docker starting, finds them
 * already there), iptables-legacy only when this netns has a legacy filter table. The legacy
 * check reads /proc/net/ip{,6}_tables_names: running iptables-legacy would create the table.
 */
export async function forwardAcceptTables(family: RuleInput['family']): Promise<Xtables[]> {
  const base = family === 'ipv4' ? 'iptables' : 'ip6tables';
  const out: Xtables[] = [];
  if (await binaryWorks(`${base}-nft`)) out.push(new Xtables(family, 'nft'));
  if ((await legacyTables(family)).has('filter') && (await binaryWorks(`${base}-legacy`)))
    out.push(new Xtables(family, 'legacy'));
  return out;
}

/** The legacy iptables tables that exist in this netns (listing them with iptables-legacy would create them). */
async function legacyTables(family: RuleInput['family']): Promise<Set<string>> {
  const names = family === 'ipv4' ? 'ip_tables_names' : 'ip6_tables_names';
  const text = await readFile(`/proc/net/${names}`, 'utf8').catch(() => '');
  return new Set(text.split('\n').filter(Boolean));
}

/** Our iptables chains and jumps for one family in one iptables flavour. */
export class Xtables {
  readonly bin: string;
  readonly restore: string;
  constructor(
    readonly family: RuleInput['family'],
    readonly flavour: XtFlavour,
  ) {
    const base = family === 'ipv4' ? 'iptables' : 'ip6tables';
    this.bin = flavour === 'default' ? base : `${base}-${flavour}`;
    this.restore = flavour === 'default' ? `${base}-restore` : `${base}-${flavour}-restore`;
  }

  async apply(i: RuleInput): Promise<void> {
    const bin = this.bin;
    const r = await run(this.restore, ['--noflush', '-w', '5'], renderIptables(i));
    if (r.code !== 0) throw new NetfilterError(`${this.restore} failed: ${r.stderr.trim()}`);
    for (const [table, chain, target] of jumpsFor(i)) {
      if (await hasJump(bin, table, chain, target)) continue;
      const ins = await run(bin, ['-w', '5', '-t', table, '-I', chain, '1', ...jumpSpec(target)]);
      if (ins.code !== 0)
        throw new NetfilterError(`${bin} -I ${chain} failed: ${ins.stderr.trim()}`);
    }
  }

  async inSync(i: RuleInput): Promise<boolean> {
    const bin = this.bin;
    const want = iptablesRuleCounts(i);
    const tag = `flannel-operator ${iptablesHash(i)}`;
    for (const [table, chain, target] of jumpsFor(i)) {
      if (!(await hasJump(bin, table, chain, target))) return false;
    }
    const ours = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('-A '));
    const fwd = await run(bin, ['-w', '5', '-t', 'filter', '-S', IPT_CHAIN_FWD]);
    const fwdRules = ours(fwd.stdout);
    if (
      fwd.code !== 0 ||
      fwdRules.length !== want.filter ||
      !fwdRules.every((l) => l.includes(tag))
    )
      return false;
    if (i.ipMasq) {
      const nat = await run(bin, ['-w', '5', '-t', 'nat', '-S', IPT_CHAIN_NAT]);
      const natRules = ours(nat.stdout);
      if (nat.code !== 0 || natRules.length !== want.nat || !natRules.every((l) => l.includes(tag)))
        return false;
    }
    return true;
  }

  /** `nftTables`: the family's nftables tables, where iptables-nft keeps its own (if known). */
  private async tableExists(table: string, nftTables?: Set<string>): Promise<boolean> {
    const legacy =
      this.flavour === 'legacy' ||
      (this.flavour === 'default' && (await version(this.bin)).stdout.includes('legacy'));
    if (legacy) return (await legacyTables(this.family)).has(table);
    return nftTables?.has(table) ?? true;
  }

  /**
   * Deletes our jumps (every copy) and chains; listing first so nothing is created.
   * `nftTables`: the family's nftables tables, when known (an absent table holds nothing of ours).
   */
  async remove(nftTables?: Set<string>): Promise<void> {
    for (const [table, chain, target] of [
      ['filter', 'FORWARD', IPT_CHAIN_FWD],
      ['nat', 'POSTROUTING', IPT_CHAIN_NAT],
    ] as const) {
      if (!(await this.tableExists(table, nftTables))) continue;
      if ((await run(this.bin, ['-w', '5', '-t', table, '-S', target])).code !== 0) continue;
      while (await hasJump(this.bin, table, chain, target))
        if ((await run(this.bin, ['-w', '5', '-t', table, '-D', chain, ...jumpSpec(target)])).code)
          break;
      await run(this.bin, ['-w', '5', '-t', table, '-F', target]);
      const x = await run(this.bin, ['-w', '5', '-t', table, '-X', target]);
      if (x.code !== 0)
        throw new NetfilterError(`${this.bin} -X ${target} failed: ${x.stderr.trim()}`);
    }
  }
}

/** Jumps from the built-in chains into ours: [table, built-in chain, our chain]. */
function jumpsFor(i: RuleInput): Array<[string, string, string]> {
  const jumps: Array<[string, string, string]> = [['filter', 'FORWARD', IPT_CHAIN_FWD]];
  if (i.ipMasq) jumps.push(['nat', 'POSTROUTING', IPT_CHAIN_NAT]);
  return jumps;
}

const jumpSpec = (target: string): string[] => [
  '-j',
  target,
  '-m',
  'comment',
  '--comment',
  'flannel-operator',
];

async function hasJump(
  bin: string,
  table: string,
  chain: string,
  target: string,
): Promise<boolean> {
  return (await run(bin, ['-w', '5', '-t', table, '-C', chain, ...jumpSpec(target)])).code === 0;
}

/** Table comment and rule count per chain from `nft list table` text. */
export function parseNftListing(text: string): { comment?: string; chains: Map<string, number> } {
  const chains = new Map<string, number>();
  let comment: string | undefined;
  let chain: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const c = /^chain (\S+) \{$/.exec(line);
    if (c) {
      chain = c[1]!;
      chains.set(chain, 0);
    } else if (line === '}') {
      chain = undefined;
    } else if (!chain) {
      const m = /^comment "(.*)"$/.exec(line);
      if (m) comment = m[1];
    } else if (line && !line.startsWith('type ') && !line.startsWith('comment ')) {
      chains.set(chain, (chains.get(chain) ?? 0) + 1);
    }
  }
  return { comment, chains };
}
