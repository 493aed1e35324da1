/**
 * The agent's netfilter layer against the real nft / iptables in a throwaway network namespace:
 * atomic apply, idempotence, drift detection (rule or table removed by hand), both families,
 * both backends. Runs the built module inside the namespace (never touches the root netns).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO, labUnavailable, sh } from '../lab/lab.js';

const why = labUnavailable();
if (why && process.env.CI === 'true')
  throw new Error(`netns prerequisites missing under CI: ${why}`);
const d = why ? describe.skip : describe;

const ns = `flop-${randomBytes(3).toString('hex')}-nf`;
const MODULE = join(REPO, 'dist/agent/netfilter/apply.js');

/** Runs `body` (an async function body with `Netfilter` in scope) inside the namespace; returns its JSON. */
async function inNs(body: string): Promise<unknown> {
  const script = `import(${JSON.stringify(MODULE)}).then(async ({ Netfilter }) => { const out = await (async () => { ${body} })(); process.stdout.write(JSON.stringify(out)); }).catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });`;
  const r = await sh(process.execPath, ['-e', script], { ns });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const v4 = `{ family: 'ipv4', network: '10.244.0.0/16', podSubnet: '10.244.1.0/24', ipMasq: true }`;
const v6 = `{ family: 'ipv6', network: 'fd00:10:244::/56', podSubnet: 'fd00:10:244:1::/64', ipMasq: true }`;

d(`agent netfilter in a netns${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    expect((await sh('ip', ['netns', 'add', ns])).code).toBe(0);
  });
  afterAll(async () => {
    await sh('ip', ['netns', 'del', ns]);
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
});
