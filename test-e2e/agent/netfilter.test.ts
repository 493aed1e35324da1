/**
 * The agent's netfilter layer against the real nft / iptables in a throwaway network namespace:
 * atomic apply, idempotence, drift detection (rule or table removed by hand), both families,
 * both backends. Runs the built module inside the namespace (never touches the root netns).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO, sh } from '../lab/lab.js';
import { skipUnlessIntegrationPrereqs } from '../harness/jest.js';

skipUnlessIntegrationPrereqs({ root: true, commands: ['ip', 'nft', 'iptables'], build: true });

const ns = `flop-${randomBytes(3).toString('hex')}-nf`;
/** A second, clean namespace for the nftables-mode FORWARD tests. */
const ns2 = `flop-${randomBytes(3).toString('hex')}-nf2`;
const MODULE = join(REPO, 'dist/agent/netfilter/apply.js');

/** Runs `body` (an async function body with `Netfilter` in scope) inside the namespace; returns its JSON. */
async function inNs(body: string, netns = ns): Promise<unknown> {
  const script = `import(${JSON.stringify(MODULE)}).then(async ({ Netfilter }) => { const out = await (async () => { ${body} })(); process.stdout.write(JSON.stringify(out)); }).catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });`;
  const r = await sh(process.execPath, ['-e', script], { ns: netns });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const v4 = `{ family: 'ipv4', network: '10.244.0.0/16', podSubnet: '10.244.1.0/24', ipMasq: true }`;
const v6 = `{ family: 'ipv6', network: 'fd00:10:244::/56', podSubnet: 'fd00:10:244:1::/64', ipMasq: true }`;

describe('agent netfilter in a netns', () => {
  beforeAll(async () => {
    expect((await sh('ip', ['netns', 'add', ns])).code).toBe(0);
  });
  afterAll(async () => {
    await sh('ip', ['netns', 'del', ns]);
    await sh('ip', ['netns', 'del', ns2]);
  });

  for (const mode of ['nftables', 'iptables'] as const) {
    it(`${mode}: apply both families, in sync, drift detected and repaired`, async () => {
      const out = (await inNs(`
        const nf = new Netfilter('${mode}');
        const r = {};
        for (const [name, rules] of [['v4', ${v4}], ['v6', ${v6}]]) {
          r[name + 'Before'] = await nf.inSync(rules);
          await nf.apply(rules);
          await nf.apply(rules);
          r[name + 'After'] = await nf.inSync(rules);
        }
        r.otherNetwork = await nf.inSync({ ...${v4}, network: '10.245.0.0/16' });
        return r;
      `)) as Record<string, boolean>;
      expect(out).toEqual({
        v4Before: false,
        v4After: true,
        v6Before: false,
        v6After: true,
        otherNetwork: false,
      });

      // Damage by hand, then the drift check must notice.
      const damage =
        mode === 'nftables'
          ? ['nft', ['delete', 'table', 'ip', 'flannel-operator-ipv4']]
          : [
              'iptables',
              [
                '-t',
                'nat',
                '-D',
                'POSTROUTING',
                '-j',
                'FLANNEL-OP-POSTRTG',
                '-m',
                'comment',
                '--comment',
                'flannel-operator',
              ],
            ];
      expect((await sh(damage[0] as string, damage[1] as string[], { ns })).code).toBe(0);
      const after = (await inNs(`
        const nf = new Netfilter('${mode}');
        const drift = await nf.inSync(${v4});
        await nf.apply(${v4});
        return { drift, repaired: await nf.inSync(${v4}) };
      `)) as Record<string, boolean>;
      expect(after).toEqual({ drift: false, repaired: true });
    }, 30_000);
  }

  it('iptables: rules only in the agent chains, one jump each (no duplicates on re-apply)', async () => {
    const s = await sh('iptables', ['-t', 'nat', '-S', 'POSTROUTING'], { ns });
    expect(s.stdout.split('\n').filter((l) => l.includes('FLANNEL-OP-POSTRTG'))).toHaveLength(1);
    const f = await sh('ip6tables', ['-t', 'filter', '-S', 'FORWARD'], { ns });
    expect(f.stdout.split('\n').filter((l) => l.includes('FLANNEL-OP-FWD'))).toHaveLength(1);
  });

  it('nftables mode: accepts in iptables-nft FORWARD, in iptables-legacy once it is in use; blockers; remove()', async () => {
    expect((await sh('ip', ['netns', 'add', ns2])).code).toBe(0);
    const x = (cmd: string, args: string[]) => sh(cmd, args, { ns: ns2 });
    const jumps = async (bin: string): Promise<number> =>
      (await x(bin, ['-S', 'FORWARD'])).stdout
        .split('\n')
        .filter((l) => l.includes('-j FLANNEL-OP-FWD')).length;
    const first = (await inNs(
      `
      const nf = new Netfilter('nftables');
      const before = await nf.inSync(${v4});
      for (const r of [${v4}, ${v6}]) { await nf.apply(r); await nf.apply(r); }
      return { before, v4: await nf.inSync(${v4}), v6: await nf.inSync(${v6}) };
    `,
      ns2,
    )) as Record<string, boolean>;
    expect(first).toEqual({ before: false, v4: true, v6: true });
    for (const bin of ['iptables-nft', 'ip6tables-nft']) expect(await jumps(bin)).toBe(1);
    const fwd = (await x('iptables-nft', ['-S', 'FLANNEL-OP-FWD'])).stdout;
    expect(fwd).toContain('-s 10.244.0.0/16');
    expect(fwd).toContain('-d 10.244.0.0/16');
    expect((await x('ip6tables-nft', ['-S', 'FLANNEL-OP-FWD'])).stdout).toContain(
      '-s fd00:10:244::/56',
    );
    // No masquerade in iptables (that is in our nft table), and legacy iptables never created.
    expect((await x('iptables-nft', ['-t', 'nat', '-S'])).stdout).not.toContain('FLANNEL-OP');
    expect((await x('cat', ['/proc/net/ip_tables_names'])).stdout.trim()).toBe('');

    // Someone starts using iptables-legacy (Docker with legacy iptables) with FORWARD DROP.
    expect((await x('iptables-legacy', ['-P', 'FORWARD', 'DROP'])).code).toBe(0);
    expect((await x('iptables-nft', ['-P', 'FORWARD', 'DROP'])).code).toBe(0);
    const legacy = (await inNs(
      `
      const nf = new Netfilter('nftables');
      const drift = await nf.inSync(${v4});
      await nf.apply(${v4});
      const probes = [{ family: 'ipv4', network: '10.244.0.0/16' }, { family: 'ipv6', network: 'fd00:10:244::/56' }];
      return { drift, repaired: await nf.inSync(${v4}), blockers: await nf.forwardBlockers(probes) };
    `,
      ns2,
    )) as Record<string, unknown>;
    expect(legacy).toEqual({ drift: false, repaired: true, blockers: [] });
    expect(await jumps('iptables-legacy')).toBe(1);
    expect((await x('cat', ['/proc/net/ip6_tables_names'])).stdout.trim()).toBe('');

    // A host firewall chain that drops: reported, for IPv6 only when only IPv4 is accepted.
    const fw =
      'table inet hostfw {\n chain hostfwd {\n  type filter hook forward priority 0; policy drop;\n  ip saddr 10.244.0.0/16 accept\n  ip daddr 10.244.0.0/16 accept\n }\n}\n';
    expect((await sh('nft', ['-f', '-'], { ns: ns2, input: fw })).code).toBe(0);
    const blocked = (await inNs(
      `return new Netfilter('nftables').forwardBlockers([{ family: 'ipv4', network: '10.244.0.0/16' }, { family: 'ipv6', network: 'fd00:10:244::/56' }]);`,
      ns2,
    )) as Array<Record<string, unknown>>;
    expect(blocked).toEqual([
      {
        family: 'ipv6',
        network: 'fd00:10:244::/56',
        chain: 'inet hostfw hostfwd',
        directions: ['from-pods', 'to-pods'],
        by: 'policy drop',
      },
    ]);

    // remove() takes every piece of ours, in every flavour, and nothing else.
    await inNs(
      `const nf = new Netfilter('nftables'); await nf.remove('ipv4'); await nf.remove('ipv6'); return 0;`,
      ns2,
    );
    for (const bin of ['iptables-nft', 'ip6tables-nft', 'iptables-legacy']) {
      const save = await x(`${bin}-save`, []);
      expect({ bin, ours: save.stdout.includes('FLANNEL-OP') }).toEqual({ bin, ours: false });
    }
    const tables = (await x('nft', ['list', 'tables'])).stdout;
    expect(tables).not.toContain('flannel-operator');
    expect(tables).toContain('inet hostfw');
    expect((await x('iptables-nft', ['-S', 'FORWARD'])).stdout).toContain('-P FORWARD DROP');
  }, 30_000);
});
