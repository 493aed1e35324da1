/**
 * The image's root filesystem without Docker: hack/image/rootfs.sh (what the Dockerfile's rootfs
 * stage runs) assembles the tree from this Debian host, the app tree goes to /opt/flannel-operator
 * as in the Dockerfile, and every entry point and tool runs from a chroot of it, as uid 65532 like
 * the image's default user; netfilter rules are written as root in a network namespace of their
 * own. The built image itself (size as Docker counts it, USER): hack/image/check.sh.
 */
import { jest } from '@jest/globals';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessIntegrationPrereqs } from '../harness/jest.js';
import { runProcess, type RunResult } from '../harness/process.js';
import { REPO } from '../harness/tools.js';
import { AGENT_COMMAND, AGENT_NODE_OPTIONS } from '../../src/agent/launch.js';

jest.setTimeout(90_000);
skipUnlessIntegrationPrereqs({
  root: true,
  build: true,
  commands: [
    'dpkg',
    'ldd',
    'chroot',
    'unshare',
    'nft',
    'iptables-nft',
    'iptables-legacy',
    'ip',
    'wg',
  ],
});

let scratch = '';
const root = (...p: string[]): string => join(scratch, 'rootfs', ...p);
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'flop-rootfs-'));
  const app = join(scratch, 'app');
  const bundle = await runProcess(
    process.execPath,
    [join(REPO, 'hack/image/bundle.js'), '--out', join(scratch, 'bundle'), '--app', app],
    { timeoutMs: 180_000 },
  );
  expect({ code: bundle.code, stderr: bundle.stderr }).toEqual({ code: 0, stderr: '' });
  const fs = await runProcess('bash', [join(REPO, 'hack/image/rootfs.sh'), root()], {
    timeoutMs: 180_000,
  });
  expect({ code: fs.code, stderr: fs.stderr }).toEqual({ code: 0, stderr: '' });
  cpSync(app, root('opt/flannel-operator'), { recursive: true });
  // The Dockerfile's next step: the agent's startup snapshot, built and started in the tree.
  const snap = await runProcess('bash', [join(REPO, 'hack/image/snapshot.sh'), root()], {
    timeoutMs: 120_000,
  });
  expect({ code: snap.code, stderr: snap.stderr }).toEqual({ code: 0, stderr: '' });
  expect(snap.stdout).toMatch(
    /^agent snapshot \/opt\/flannel-operator\/agent\.blob: \d+ bytes, starts/,
  );
}, 400_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a command in the tree as the image's default user, with its PATH and nothing else. */
function inTree(args: string[]): Promise<RunResult> {
  return runProcess('chroot', ['--userspec=65532:65532', root(), ...args], {
    timeoutMs: 60_000,
    env: { PATH },
  });
}

/** Bytes of every file and symlink under dir, not following links (what an image layer holds). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += lstatSync(p).size;
    if (e.isDirectory()) total += treeBytes(p);
  }
  return total;
}

describe('the image root filesystem (hack/image/rootfs.sh)', () => {
  it.each([
    [['node', '-p', 'process.getuid() + ":" + process.getgid()'], '65532:65532'],
    [['flannel-operator', 'version'], 'flannel-operator '],
    [['flannel-operator', 'agent', '--help'], 'Usage: flannel-operator agent'],
    [['kubectl-flannel', '--help'], 'doctor'],
    [['nft', '--version'], 'nftables v'],
    [['iptables-nft', '-V'], '(nf_tables)'],
    [['iptables-legacy', '-V'], '(legacy)'],
    [['ip6tables-nft-restore', '-V'], '(nf_tables)'],
    [['ip6tables-legacy-save', '-V'], '(legacy)'],
    [['iptables', '-V'], 'iptables v'],
    [['ip', '-V'], 'iproute2'],
    [['wg', '--version'], 'wireguard-tools'],
    [
      ['node', '-e', "require('/opt/flannel-operator/node_modules/netlink'); console.log('ok')"],
      'ok',
    ],
  ])('%j runs as uid 65532', async (args, want) => {
    const r = await inTree(args);
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({
      code: 0,
      out: expect.stringContaining(want),
    });
  });

  it('the agent starts from its snapshot as the DaemonSet starts it, and not under other flags', async () => {
    const run = (nodeOptions: string) =>
      runProcess('chroot', ['--userspec=65532:65532', root(), ...AGENT_COMMAND, '--help'], {
        timeoutMs: 60_000,
        env: { PATH, NODE_OPTIONS: nodeOptions },
      });
    const ok = await run(AGENT_NODE_OPTIONS);
    expect({ code: ok.code, stdout: ok.stdout.split('\n')[0] }).toEqual({
      code: 0,
      stdout: 'Usage: flannel-operator agent --network NAME [flags]',
    });
    const refused = await run('--jitless');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Failed to load the startup snapshot');
  });

  it('nft, both iptables flavours and ip write rules and links as root, in a netns of their own', async () => {
    // The host's bash drives, each tool runs from the tree; all in one new network namespace.
    const script = `set -e
      c() { chroot "$1" "\${@:2}"; }
      c "$1" nft add table ip flop-rootfs
      c "$1" iptables-nft -t nat -A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE
      c "$1" iptables-legacy -A FORWARD -s 10.244.0.0/16 -m comment --comment x -j ACCEPT
      c "$1" ip link add flop-br type bridge
      c "$1" nft list tables
      c "$1" iptables-nft-save -t nat
      c "$1" iptables-legacy-save -t filter
      c "$1" ip -br link`;
    const r = await runProcess('unshare', ['--net', 'bash', '-c', script, 'netfilter', root()], {
      timeoutMs: 60_000,
      env: { PATH },
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('table ip flop-rootfs');
    expect(r.stdout).toContain('-A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE');
    expect(r.stdout).toContain('-A FORWARD -s 10.244.0.0/16 -m comment --comment x -j ACCEPT');
    expect(r.stdout).toContain('flop-br');
  });

  it('holds no shell and stays under 150 MB', () => {
    expect(existsSync(root('bin/sh'))).toBe(false);
    expect(existsSync(root('usr/bin/bash'))).toBe(false);
    expect(treeBytes(root())).toBeLessThanOrEqual(150e6);
  });
});
