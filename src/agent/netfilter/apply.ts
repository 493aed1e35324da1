import { spawn } from 'node:child_process';
import {
  IPT_CHAIN_FWD,
  IPT_CHAIN_NAT,
  iptablesHash,
  iptablesRuleCounts,
  nftTableName,
  renderIptables,
  renderNft,
  type RuleInput,
} from './render.js';

export class NetfilterError extends Error {
  readonly code = 'EAGENT_NETFILTER';
}

export type NetfilterMode = 'nftables' | 'iptables';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
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
 */
export class Netfilter {
  constructor(readonly mode: NetfilterMode) {}

  async apply(i: RuleInput): Promise<void> {
    if (this.mode === 'nftables') {
      const r = await run('nft', ['-f', '-'], renderNft(i).script);
      if (r.code !== 0) throw new NetfilterError(`nft -f failed: ${r.stderr.trim()}`);
      return;
    }
    const bin = i.family === 'ipv4' ? 'iptables' : 'ip6tables';
    const r = await run(`${bin}-restore`, ['--noflush', '-w', '5'], renderIptables(i));
    if (r.code !== 0) throw new NetfilterError(`${bin}-restore failed: ${r.stderr.trim()}`);
    for (const [table, chain, target] of jumpsFor(i)) {
      if (await hasJump(bin, table, chain, target)) continue;
      const ins = await run(bin, ['-w', '5', '-t', table, '-I', chain, '1', ...jumpSpec(target)]);
      if (ins.code !== 0)
        throw new NetfilterError(`${bin} -I ${chain} failed: ${ins.stderr.trim()}`);
    }
  }

  /** True when the kernel holds exactly what `apply(i)` would write. */
  async inSync(i: RuleInput): Promise<boolean> {
    if (this.mode === 'nftables') {
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
    const bin = i.family === 'ipv4' ? 'iptables' : 'ip6tables';
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
