import { spawn } from 'node:child_process';
import {
  IPT_CHAIN_FWD,
  IPT_CHAIN_NAT,
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
      const r = await run('nft', ['-j', 'list', 'table', fam, nftTableName(i.family)]);
      if (r.code !== 0) return false;
      let items: Array<Record<string, Record<string, unknown>>>;
      try {
        items = (JSON.parse(r.stdout) as { nftables: typeof items }).nftables;
      } catch {
        return false;
      }
      const table = items.find((x) => x.table)?.table as { comment?: string } | undefined;
      if (!table || table.comment !== `flannel-operator ${want.hash}`) return false;
      const count = (chain: string): number =>
        items.filter((x) => x.rule && (x.rule as { chain?: string }).chain === chain).length;
      const chains = items.filter((x) => x.chain).map((x) => (x.chain as { name: string }).name);
      if (!chains.includes('forward') || count('forward') !== want.ruleCounts.forward) return false;
      if (i.ipMasq && (!chains.includes('postrtg') || count('postrtg') !== want.ruleCounts.postrtg))
        return false;
      return true;
    }
    const bin = i.family === 'ipv4' ? 'iptables' : 'ip6tables';
    const want = iptablesRuleCounts(i);
    for (const [table, chain, target] of jumpsFor(i)) {
      if (!(await hasJump(bin, table, chain, target))) return false;
    }
    const fwd = await run(bin, ['-w', '5', '-t', 'filter', '-S', IPT_CHAIN_FWD]);
    if (fwd.code !== 0 || countRules(fwd.stdout) !== want.filter) return false;
    if (i.ipMasq) {
      const nat = await run(bin, ['-w', '5', '-t', 'nat', '-S', IPT_CHAIN_NAT]);
      if (nat.code !== 0 || countRules(nat.stdout) !== want.nat) return false;
    }
    return true;
  }
}

const countRules = (s: string): number => s.split('\n').filter((l) => l.startsWith('-A ')).length;

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
