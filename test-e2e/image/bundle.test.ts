/**
 * The image runs the esbuild bundle of dist/ (hack/image/bundle.js), not dist/ itself. These tests
 * lay out the image's application tree (/opt/flannel-operator) in a temp dir outside the
 * repository, so nothing can resolve from the repository's node_modules, then run each role's entry
 * from it and compare with dist/. The image itself (tools, uid, size) needs Docker:
 * hack/image/check.sh. Any process-level suite runs against the bundle too:
 *   node hack/image/bundle.js --app /tmp/app && FLOP_CLI=/tmp/app/dist/cli/main.js npx jest ...
 */
import { jest } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadedModules } from '../harness/loaded-modules.js';
import { skipUnlessIntegrationPrereqs } from '../harness/jest.js';
import { runProcess } from '../harness/process.js';
import { REPO } from '../harness/tools.js';
import { AGENT_NODE_OPTIONS } from '../../src/agent/launch.js';

jest.setTimeout(90_000);

const DIST_CLI = join(REPO, 'dist/cli/main.js');
skipUnlessIntegrationPrereqs({ build: true });

let scratch = '';
const app = (...p: string[]): string => join(scratch, 'app', ...p);
const bundleCli = (): string => app('dist/cli/main.js');

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'flop-bundle-'));
  const r = await runProcess(
    process.execPath,
    [
      join(REPO, 'hack/image/bundle.js'),
      ...['--out', join(scratch, 'bundle'), '--app', app(), '--snapshot', app('agent.blob')],
    ],
    { timeoutMs: 180_000 },
  );
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
}, 200_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const node = (cli: string, args: string[]) =>
  runProcess(process.execPath, [cli, ...args], { timeoutMs: 60_000 });

/** Node started from the agent's snapshot of the app tree, as the DaemonSet starts it. */
const fromSnapshot = (args: string[], nodeOptions = AGENT_NODE_OPTIONS) =>
  runProcess(process.execPath, ['--snapshot-blob', app('agent.blob'), ...args], {
    timeoutMs: 60_000,
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
  });

/** V8 says so on stderr at every start under --jitless: not an error. */
const withoutWasmWarning = (stderr: string): string =>
  stderr.replace(/^Warning: disabling flag --expose_wasm due to conflicting flags\n/m, '');

/**
 * A YAML kubeconfig with an exec plugin, written to the scratch dir: the agent refuses the plugin
 * after parsing, so exit 1 with EKUBE_CONFIG_UNSUPPORTED shows the external yaml package loaded.
 */
function execPluginKubeconfig(name: string): string {
  const path = join(scratch, name);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      'clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {exec: {command: x, apiVersion: client.authentication.k8s.io/v1}}}]',
      '',
    ].join('\n'),
  );
  return path;
}

/** esbuild's map: output chunk file (relative to the bundle) -> the input modules it holds. */
function chunkInputs(): Map<string, string[]> {
  const meta = JSON.parse(readFileSync(join(scratch, 'bundle/meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  const out = new Map<string, string[]>();
  for (const [file, o] of Object.entries(meta.outputs)) {
    out.set(file.slice(file.indexOf('bundle/') + 'bundle/'.length), Object.keys(o.inputs));
  }
  return out;
}

/** The input modules behind the bundle chunks a process loaded. */
function inputsLoaded(urls: string[]): string[] {
  const base = pathToFileURL(app('dist')).href + '/';
  const chunks = chunkInputs();
  const loaded = urls.filter((u) => u.startsWith(base)).map((u) => u.slice(base.length));
  expect(loaded.length).toBeGreaterThan(0);
  return loaded.flatMap((c) => chunks.get(c) ?? [`(not in meta.json: ${c})`]);
}

describe('the image bundle', () => {
  it.each([
    [['version']],
    [['crds']],
    [['--help']],
    [['controller', '--help']],
    [['agent', '--help']],
    [['status', '--help']],
    [['doctor', '--help']],
    [['migrate', '--help']],
  ])('`flannel-operator %j` prints what dist/ prints', async (args) => {
    const [want, got] = await Promise.all([node(DIST_CLI, args), node(bundleCli(), args)]);
    expect(got).toEqual(want);
    expect(want.stdout.length).toBeGreaterThan(0);
  });

  it('the kubectl plugin entry answers like dist/', async () => {
    const plugin = (dir: string) => node(join(dir, 'cli/kubectl-flannel.js'), ['--help']);
    const [want, got] = await Promise.all([plugin(join(REPO, 'dist')), plugin(app('dist'))]);
    expect(got).toEqual(want);
    expect(got.stdout).toContain('doctor');
  });

  it('ships only the external packages, with the netlink prebuild of this platform only', () => {
    expect(readdirSync(app('node_modules')).sort()).toEqual(['netlink', 'node-gyp-build', 'yaml']);
    expect(readdirSync(app('node_modules/netlink/prebuilds'))).toEqual([
      `${process.platform}-${process.arch}`,
    ]);
  });

  it('the agent loads no @kubernetes/client-node code, and the netlink prebuild loads from the app tree', async () => {
    const urls = await loadedModules(bundleCli(), ['agent', '--help']);
    // netlink loads at the first socket, not at import: the agent's snapshot holds every module
    // the agent imports, and cannot hold a native addon.
    const netlinkDir = pathToFileURL(app('node_modules/netlink')).href;
    expect(urls.filter((u) => u.startsWith(netlinkDir))).toEqual([]);
    const inputs = inputsLoaded(urls);
    expect(inputs).toContain('dist/agent/agent.js');
    expect(inputs.filter((i) => i.includes('@kubernetes/client-node'))).toEqual([]);
    // node-gyp-build loads the .node file with require(): prove it loads here, from the app tree.
    const load = await runProcess(
      process.execPath,
      ['-e', `require(${JSON.stringify(app('node_modules/netlink/dist/raw'))}); console.log('ok')`],
      { timeoutMs: 30_000 },
    );
    expect(load).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('the CLI does load client-node from its chunks (the check above can fail)', async () => {
    const inputs = inputsLoaded(await loadedModules(bundleCli(), ['status', '--help']));
    expect(inputs.some((i) => i.includes('node_modules/@kubernetes/client-node/'))).toBe(true);
  });

  it('the controller loads client-node only for plugin kubeconfigs, not up front', async () => {
    const inputs = inputsLoaded(await loadedModules(bundleCli(), ['controller', '--help']));
    expect(inputs).toContain('dist/kube/load-auth.js');
    expect(inputs.filter((i) => i.includes('@kubernetes/client-node'))).toEqual([]);
  });

  it('the agent parses a YAML kubeconfig with the external yaml package, as from dist/', async () => {
    const kubeconfig = execPluginKubeconfig('kubeconfig.yaml');
    const args = ['agent', '--network', 'default', '--node-name', 'n1', '--kubeconfig', kubeconfig];
    const [want, got] = await Promise.all([node(DIST_CLI, args), node(bundleCli(), args)]);
    for (const r of [want, got]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('EKUBE_CONFIG_UNSUPPORTED');
    }
  });
});

describe("the agent's startup snapshot (src/agent/snapshot.ts)", () => {
  it('starts the agent as dist/ does', async () => {
    const args = ['agent', '--help'];
    const [want, got] = await Promise.all([node(DIST_CLI, args), fromSnapshot(args)]);
    expect({ ...got, stderr: withoutWasmWarning(got.stderr) }).toEqual(want);
    expect(got.stdout).toMatch(/^Usage: flannel-operator agent/);
  });

  it('loads the external yaml package from the app tree at run time', async () => {
    const kubeconfig = execPluginKubeconfig('snapshot-kubeconfig.yaml');
    const r = await fromSnapshot([
      'agent',
      '--network=d',
      '--node-name=n1',
      `--kubeconfig=${kubeconfig}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('EKUBE_CONFIG_UNSUPPORTED');
  });

  it('runs no other role', async () => {
    const r = await fromSnapshot(['controller']);
    expect({ code: r.code, stderr: withoutWasmWarning(r.stderr) }).toEqual({
      code: 2,
      stderr:
        'this snapshot runs the agent only: expected "agent" and its flags, got "controller"\n',
    });
  });

  it('does not start under other V8 flags (why the DaemonSet and the build share them)', async () => {
    const r = await fromSnapshot(['agent', '--help'], '--max-semi-space-size=1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Failed to load the startup snapshot');
  });
});
