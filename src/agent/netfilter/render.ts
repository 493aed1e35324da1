import { createHash } from 'node:crypto';

/** Names of the agent's own netfilter objects; nothing else is ever touched. */
export const NFT_TABLE_V4 = 'flannel-operator-ipv4';
export const NFT_TABLE_V6 = 'flannel-operator-ipv6';
export const IPT_CHAIN_NAT = 'FLANNEL-OP-POSTRTG';
export const IPT_CHAIN_FWD = 'FLANNEL-OP-FWD';
export const KUBE_PROXY_MASQ_MARK = '0x4000';

export interface RuleInput {
  family: 'ipv4' | 'ipv6';
  /** Whole pod network. */
  network: string;
  /** This node's pod subnet. */
  podSubnet: string;
  ipMasq: boolean;
}

const multicast = (f: RuleInput['family']): string => (f === 'ipv4' ? '224.0.0.0/4' : 'ff00::/8');

/**
 * The rule set, shared by both backends: pod<->pod never masqueraded, pod->outside masqueraded
 * (random-fully), multicast excluded, kube-proxy's masquerade mark left to kube-proxy.
 */
function natRules(i: RuleInput): Array<{ nft: string; ipt: string }> {
  const a = i.family === 'ipv4' ? 'ip' : 'ip6';
  const N = i.network;
  const P = i.podSubnet;
  const M = multicast(i.family);
  return [
    {
      nft: `meta mark & ${KUBE_PROXY_MASQ_MARK} == ${KUBE_PROXY_MASQ_MARK} return`,
      ipt: `-m mark --mark ${KUBE_PROXY_MASQ_MARK}/${KUBE_PROXY_MASQ_MARK} -j RETURN`,
    },
    { nft: `${a} saddr ${P} ${a} daddr ${N} return`, ipt: `-s ${P} -d ${N} -j RETURN` },
    { nft: `${a} saddr ${N} ${a} daddr ${P} return`, ipt: `-s ${N} -d ${P} -j RETURN` },
    { nft: `${a} saddr != ${N} ${a} daddr ${P} return`, ipt: `! -s ${N} -d ${P} -j RETURN` },
    {
      nft: `${a} saddr ${N} ${a} daddr != ${M} masquerade fully-random`,
      ipt: `-s ${N} ! -d ${M} -j MASQUERADE --random-fully`,
    },
    {
      nft: `${a} saddr != ${N} ${a} daddr ${N} masquerade fully-random`,
      ipt: `! -s ${N} -d ${N} -j MASQUERADE --random-fully`,
    },
  ];
}

function fwdRules(i: RuleInput): Array<{ nft: string; ipt: string }> {
  const a = i.family === 'ipv4' ? 'ip' : 'ip6';
  return [
    { nft: `${a} saddr ${i.network} accept`, ipt: `-s ${i.network} -j ACCEPT` },
    { nft: `${a} daddr ${i.network} accept`, ipt: `-d ${i.network} -j ACCEPT` },
  ];
}

export function nftTableName(f: RuleInput['family']): string {
  return f === 'ipv4' ? NFT_TABLE_V4 : NFT_TABLE_V6;
}

export interface NftRender {
  /** The whole `nft -f -` transaction: (re)creates the table atomically. */
  script: string;
  /** Hash of the rule set, stored as the table comment for drift detection. */
  hash: string;
  ruleCounts: { postrtg: number; forward: number };
}

function rulesetBody(i: RuleInput): { postrtg: string[]; forward: string[] } {
  return {
    postrtg: i.ipMasq ? natRules(i).map((r) => r.nft) : [],
    forward: fwdRules(i).map((r) => r.nft),
  };
}

export function renderNft(i: RuleInput): NftRender {
  const fam = i.family === 'ipv4' ? 'ip' : 'ip6';
  const table = nftTableName(i.family);
  const body = rulesetBody(i);
  const hash = createHash('sha256')
    .update(JSON.stringify({ fam, table, body }))
    .digest('hex')
    .slice(0, 16);
  const lines = [
    // add+delete makes the delete safe when the table does not exist yet; all in one transaction.
    `add table ${fam} ${table}`,
    `delete table ${fam} ${table}`,
    `table ${fam} ${table} {`,
    `\tcomment "flannel-operator ${hash}"`,
  ];
  if (i.ipMasq) {
    lines.push(
      '\tchain postrtg {',
      '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    );
    for (const r of body.postrtg) lines.push(`\t\t${r}`);
    lines.push('\t}');
  }
  lines.push('\tchain forward {', '\t\ttype filter hook forward priority filter; policy accept;');
  for (const r of body.forward) lines.push(`\t\t${r}`);
  lines.push('\t}', '}');
  return {
    script: lines.join('\n') + '\n',
    hash,
    ruleCounts: { postrtg: body.postrtg.length, forward: body.forward.length },
  };
}

/** Script deleting the table (used when a network is removed). */
export function renderNftDelete(f: RuleInput['family']): string {
  const fam = f === 'ipv4' ? 'ip' : 'ip6';
  const table = nftTableName(f);
  return `add table ${fam} ${table}\ndelete table ${fam} ${table}\n`;
}

/**
 * iptables-restore --noflush input: declaring a chain with ':' flushes just that chain, so our
 * chains are rebuilt atomically per table while other chains stay as they are.
 * Jumps from POSTROUTING/FORWARD are ensured separately (they live in built-in chains).
 */
export function renderIptables(i: RuleInput): string {
  // The rule-set hash rides in every rule's comment: the drift check compares it, so a rule
  // set for another network/subnet is never taken for ours.
  const tag = `flannel-operator ${iptablesHash(i)}`;
  const out: string[] = [];
  if (i.ipMasq) {
    out.push('*nat', `:${IPT_CHAIN_NAT} - [0:0]`);
    for (const r of natRules(i))
      out.push(`-A ${IPT_CHAIN_NAT} ${r.ipt} -m comment --comment "${tag}"`);
    out.push('COMMIT');
  }
  out.push('*filter', `:${IPT_CHAIN_FWD} - [0:0]`);
  for (const r of fwdRules(i))
    out.push(`-A ${IPT_CHAIN_FWD} ${r.ipt} -m comment --comment "${tag}"`);
  out.push('COMMIT');
  return out.join('\n') + '\n';
}

export function iptablesHash(i: RuleInput): string {
  const body = {
    nat: i.ipMasq ? natRules(i).map((r) => r.ipt) : [],
    fwd: fwdRules(i).map((r) => r.ipt),
  };
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}

export function iptablesRuleCounts(i: RuleInput): { nat: number; filter: number } {
  return { nat: i.ipMasq ? natRules(i).length : 0, filter: fwdRules(i).length };
}
