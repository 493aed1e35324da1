/**
 * The agent's batched rtnetlink writes (src/agent/kernel/batch.ts) against a real kernel, in a
 * namespace of its own: more requests than one sendmsg carries, one the kernel refuses in the
 * middle. Every other request is applied, the refused one is reported by what it did, and
 * deleting something already gone is no error.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sh } from '../lab/lab.js';
import { REPO } from '../harness/tools.js';
import { describeLab } from './helpers.js';

const NS = `flop-nlb-${randomBytes(3).toString('hex')}`;
const KERNEL = join(REPO, 'dist/agent/kernel/netlink.js');
const PEERS = 200; // 600 requests: many chunks

/** Runs in the namespace: one applyDiff with PEERS peers, one bad route and one missing delete. */
const SCRIPT = `
const { Kernel } = await import(${JSON.stringify(KERNEL)});
const d = { vxlan: 'ok', addRoutes: [], replaceRoutes: [], removeRoutes: [], addNeighbors: [],
  replaceNeighbors: [], removeNeighbors: [], addFdb: [], replaceFdb: [], removeFdb: [] };
for (let i = 1; i <= ${PEERS}; i++) {
  const gw = '10.128.' + i + '.0';
  const mac = '0e:00:00:00:00:' + i.toString(16).padStart(2, '0');
  d.addNeighbors.push({ dev: 'flannel.1', ip: gw, mac });
  d.addFdb.push({ dev: 'flannel.1', mac, dst: '10.200.0.' + i });
  d.addRoutes.push({ dst: gw + '/24', gateway: gw, dev: 'flannel.1', onlink: true });
  // No onlink, gateway on no connected network: the kernel refuses this one.
  if (i === 100) d.addRoutes.push({ dst: '10.50.0.0/24', gateway: '10.99.99.1', dev: 'flannel.1', onlink: false });
}
d.removeRoutes.push({ dst: '10.51.0.0/24', gateway: '', dev: 'flannel.1', onlink: true });
const k = new Kernel();
const errors = await k.applyDiff(d);
k.close();
process.stdout.write(JSON.stringify(errors.map((e) => e.message)));
`;

/**
 * Runs in the namespace: the watcher deafened (twice, undone one at a time) while routes are added
 * with `ip` and the vxlan device's MTU changes; what it heard at each step.
 */
const DEAFEN_SCRIPT = `
const { Kernel, KernelWatcher } = await import(${JSON.stringify(KERNEL)});
const { execFileSync } = await import('node:child_process');
const k = new Kernel();
const w = new KernelWatcher(k.port);
let heard = [];
w.on('change', (what, n) => heard.push(n.kind === 'route' ? 'route ' + n.op + ' ' + n.dst : n.kind));
w.start();
const step = async (...ipArgs) => {
  execFileSync('ip', ipArgs);
  await new Promise((r) => setTimeout(r, 300));
  const out = [...new Set(heard)];
  heard = [];
  return out;
};
const steps = {};
const first = w.deafen();
const second = w.deafen();
steps.deaf = await step('route', 'add', '10.60.0.0/24', 'dev', 'flannel.1');
steps.link = await step('link', 'set', 'flannel.1', 'mtu', '1400');
first();
steps.stillDeaf = await step('route', 'add', '10.61.0.0/24', 'dev', 'flannel.1');
second();
steps.hearing = await step('route', 'add', '10.62.0.0/24', 'dev', 'flannel.1');
w.stop();
k.close();
process.stdout.write(JSON.stringify(steps));
`;

describeLab('batched rtnetlink writes (netns)', () => {
  beforeAll(async () => {
    for (const args of [
      ['netns', 'add', NS],
      // Without a loopback the kernel refuses every gateway (EINVAL), as in any real namespace.
      ['-n', NS, 'link', 'set', 'lo', 'up'],
      [
        '-n',
        NS,
        'link',
        'add',
        'flannel.1',
        'type',
        'vxlan',
        'id',
        '1',
        'dstport',
        '8472',
        'nolearning',
      ],
      ['-n', NS, 'link', 'set', 'flannel.1', 'up'],
    ])
      expect((await sh('ip', args)).code).toBe(0);
  });

  afterAll(async () => {
    await sh('ip', ['netns', 'del', NS]);
  });

  it('applies every request across several sendmsg calls and reports exactly the refused one', async () => {
    const r = await sh(process.execPath, ['--input-type=module', '-e', SCRIPT], { ns: NS });
    expect(r.code).toBe(0);
    const errors = JSON.parse(r.stdout) as string[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^replace route 10\.50\.0\.0\/24: E[A-Z]+$/);
    const count = async (cmd: string, args: string[]): Promise<number> =>
      (await sh(cmd, args, { ns: NS })).stdout.split('\n').filter((l) => l.trim()).length;
    expect(await count('ip', ['route', 'show', 'dev', 'flannel.1', 'proto', '157'])).toBe(PEERS);
    expect(await count('ip', ['neigh', 'show', 'dev', 'flannel.1', 'nud', 'permanent'])).toBe(
      PEERS,
    );
    expect(await count('bridge', ['fdb', 'show', 'dev', 'flannel.1', 'self', 'permanent'])).toBe(
      PEERS,
    );
    // Routes and neighbours are the ones asked for (spot check of the last peer).
    const route = (await sh('ip', ['route', 'show', '10.128.200.0/24'], { ns: NS })).stdout;
    expect(route).toMatch(/via 10\.128\.200\.0 dev flannel\.1 proto 157 onlink/);
  }, 30_000);

  it('a deafened watcher hears no route change until every deafen is undone, and links all along', async () => {
    const r = await sh(process.execPath, ['--input-type=module', '-e', DEAFEN_SCRIPT], { ns: NS });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      deaf: [],
      link: ['link'],
      stillDeaf: [],
      hearing: ['route new 10.62.0.0/24'],
    });
  }, 30_000);
});
