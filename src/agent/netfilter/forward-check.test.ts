import {
  describeBlocker,
  findForwardBlockers,
  foreignForwardChains,
  type NftItem,
} from './forward-check.js';

const V4 = { family: 'ipv4' as const, network: '10.244.0.0/16' };
const V6 = { family: 'ipv6' as const, network: 'fd00:10::/48' };

type Expr = Array<Record<string, unknown>>;
const chain = (
  family: string,
  table: string,
  name: string,
  more: Record<string, unknown> = {},
): NftItem => ({
  chain: { family, table, name, handle: 1, ...more },
});
const base = (
  family: string,
  table: string,
  name: string,
  policy: string,
  hook = 'forward',
): NftItem => chain(family, table, name, { type: 'filter', hook, prio: 0, policy });
let handle = 10;
const rule = (family: string, table: string, c: string, expr: Expr): NftItem => ({
  rule: { family, table, chain: c, handle: handle++, expr },
});
const addr = (
  protocol: string,
  field: string,
  right: unknown,
  op = '==',
): Record<string, unknown> => ({
  match: { op, left: { payload: { protocol, field } }, right },
});
const prefix = (a: string, len: number) => ({ prefix: { addr: a, len } });
const established = {
  match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] },
};

/** A host firewall as often written: inet filter forward, policy drop, established only. */
function hostInetDrop(extra: Expr[] = []): NftItem[] {
  return [
    base('inet', 'filter', 'forward', 'drop'),
    rule('inet', 'filter', 'forward', [established, { accept: null }]),
    ...extra.map((e) => rule('inet', 'filter', 'forward', e)),
  ];
}

describe('forward hook check (which foreign chains drop pod traffic)', () => {
  it('inet policy drop with only established accepted: both families, both directions', () => {
    const b = findForwardBlockers(hostInetDrop(), [V4, V6]);
    expect(b).toEqual([
      {
        ...V4,
        chain: 'inet filter forward',
        directions: ['from-pods', 'to-pods'],
        by: 'policy drop',
      },
      {
        ...V6,
        chain: 'inet filter forward',
        directions: ['from-pods', 'to-pods'],
        by: 'policy drop',
      },
    ]);
    expect(describeBlocker(b[0]!)).toMatch(
      /inet filter forward .* from 10\.244\.0\.0\/16 and to 10\.244\.0\.0\/16 \(policy drop\).*ip saddr 10\.244\.0\.0\/16 accept/,
    );
  });

  it('accepts for the pod network (upstream FLANNEL-FWD style) unblock that family only', () => {
    const items = hostInetDrop([
      [addr('ip', 'saddr', prefix('10.244.0.0', 16)), { counter: null }, { accept: null }],
      [addr('ip', 'daddr', prefix('10.0.0.0', 8)), { accept: null }],
    ]);
    expect(findForwardBlockers(items, [V4, V6]).map((b) => b.family)).toEqual(['ipv6']);
  });

  it('iptables-nft FORWARD policy DROP: blocked until the jump to FLANNEL-OP-FWD is in place', () => {
    const comment = { xt: { type: 'match', name: 'comment' } };
    const docker = [
      base('ip', 'filter', 'FORWARD', 'drop'),
      chain('ip', 'filter', 'DOCKER-USER'),
      rule('ip', 'filter', 'FORWARD', [{ counter: null }, { jump: { target: 'DOCKER-USER' } }]),
    ];
    expect(findForwardBlockers(docker, [V4, V6])).toEqual([
      {
        ...V4,
        chain: 'ip filter FORWARD',
        directions: ['from-pods', 'to-pods'],
        by: 'policy drop',
      },
    ]);
    const ours = [
      ...docker,
      chain('ip', 'filter', 'FLANNEL-OP-FWD'),
      rule('ip', 'filter', 'FORWARD', [
        comment,
        { counter: null },
        { jump: { target: 'FLANNEL-OP-FWD' } },
      ]),
      rule('ip', 'filter', 'FLANNEL-OP-FWD', [
        addr('ip', 'saddr', prefix('10.244.0.0', 16)),
        comment,
        { counter: null },
        { accept: null },
      ]),
      rule('ip', 'filter', 'FLANNEL-OP-FWD', [
        addr('ip', 'daddr', prefix('10.244.0.0', 16)),
        comment,
        { counter: null },
        { accept: null },
      ]),
    ];
    expect(findForwardBlockers(ours, [V4])).toEqual([]);
  });

  it('ignores the agent own tables, other hooks and the bridge family', () => {
    const items = [
      base('ip', 'flannel-operator-ipv4', 'forward', 'drop'),
      base('inet', 'filter', 'input', 'drop', 'input'),
      base('bridge', 'filter', 'forward', 'drop'),
    ];
    expect(findForwardBlockers(items, [V4, V6])).toEqual([]);
    expect(foreignForwardChains([...items, base('inet', 'fw', 'fwd', 'accept')])).toEqual([
      { family: 'inet', table: 'fw' },
    ]);
  });

  it('a drop of part of "anywhere" (metadata service) is not reported; of part of the pod network it is', () => {
    const meta = [
      base('inet', 'filter', 'forward', 'accept'),
      rule('inet', 'filter', 'forward', [addr('ip', 'daddr', '169.254.169.254'), { drop: null }]),
      rule('inet', 'filter', 'forward', [
        addr('ip', 'saddr', '192.0.2.7'),
        { reject: { type: 'icmp' } },
      ]),
    ];
    expect(findForwardBlockers(meta, [V4])).toEqual([]);
    const part = [
      ...meta,
      rule('inet', 'filter', 'forward', [
        addr('ip', 'daddr', prefix('10.244.5.0', 24)),
        { drop: null },
      ]),
    ];
    const b = findForwardBlockers(part, [V4]);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ directions: ['to-pods'] });
    expect(b[0]!.by).toMatch(/^rule handle \d+ in inet filter forward$/);
  });

  it('accepts guarded by matches it cannot evaluate are not relied on; such drops are not reported', () => {
    const items = [
      base('inet', 'filter', 'forward', 'drop'),
      rule('inet', 'filter', 'forward', [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'cni0' } },
        { accept: null },
      ]),
      rule('inet', 'filter', 'forward', [addr('ip', 'saddr', '@allowed'), { accept: null }]),
    ];
    expect(findForwardBlockers(items, [V4])).toHaveLength(1);
    const drops = [
      base('inet', 'filter', 'forward', 'accept'),
      rule('inet', 'filter', 'forward', [
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'eth9' } },
        { drop: null },
      ]),
    ];
    expect(findForwardBlockers(drops, [V4])).toEqual([]);
  });

  it('follows jump (return continues), goto (return ends the base chain), negation, sets, ranges, nfproto, ct state new', () => {
    const items = [
      base('inet', 't', 'fwd', 'drop'),
      chain('inet', 't', 'sub'),
      chain('inet', 't', 'v4'),
      rule('inet', 't', 'sub', [{ return: null }]),
      rule('inet', 't', 'fwd', [{ jump: { target: 'sub' } }]),
      rule('inet', 't', 'fwd', [
        addr('ip', 'saddr', prefix('10.244.0.0', 16), '!='),
        { drop: null },
      ]),
      rule('inet', 't', 'fwd', [
        { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
        { goto: { target: 'v4' } },
      ]),
      rule('inet', 't', 'fwd', [
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
        addr('ip6', 'saddr', { set: ['fd00:10::1', prefix('fd00::', 16)] }),
        { accept: null },
      ]),
      rule('inet', 't', 'fwd', [
        addr('ip6', 'daddr', { range: ['fd00:10::', 'fd00:10:0:0:ffff:ffff:ffff:ffff'] }),
        { accept: null },
      ]),
      rule('inet', 't', 'v4', [addr('ip', 'saddr', prefix('10.244.0.0', 16)), { accept: null }]),
    ];
    // v4: goto v4 -> from-pods accepted; to-pods falls off v4 -> back to the base chain's policy.
    // v6: the set covers the network (from-pods); the range covers only the first /64 of
    // fd00:10::/48, so to-pods is not relied on and the policy drops it.
    expect(findForwardBlockers(items, [V4, V6])).toEqual([
      { ...V4, chain: 'inet t fwd', directions: ['to-pods'], by: 'policy drop' },
      { ...V6, chain: 'inet t fwd', directions: ['to-pods'], by: 'policy drop' },
    ]);
  });

  it('a jump loop ends (depth bound) instead of hanging', () => {
    const items = [
      base('ip', 't', 'fwd', 'accept'),
      chain('ip', 't', 'a'),
      rule('ip', 't', 'fwd', [{ jump: { target: 'a' } }]),
      rule('ip', 't', 'a', [{ jump: { target: 'a' } }]),
    ];
    expect(findForwardBlockers(items, [V4])).toEqual([]);
  });
});
