/**
 * The built agent, as the image runs it (`node dist/cli/main.js agent`), does not load
 * @kubernetes/client-node: a module-resolution hook in the child records every module it loads.
 * `--help` loads the agent's whole static module graph, then exits before touching the kernel.
 * The unit test src/agent/imports.test.ts checks the same on the sources, statically.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { CLI } from '../lab/lab.js';

const run = promisify(execFile);

// Runs in the hooks thread: report each resolved URL to the main thread.
const HOOKS = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}`;

// Registers the hooks, runs the CLI, prints the loaded URLs as JSON on exit.
const PRELOAD = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (u) => urls.push(u));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), {
  parentURL: import.meta.url, data: { port: port2 }, transferList: [port2],
});
process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(urls) + '\\n'));
`;

async function loadedModules(args: string[]): Promise<string[]> {
  expect(existsSync(CLI) ? CLI : `${CLI} missing: run npm run build`).toBe(CLI);
  const preload = `data:text/javascript,${encodeURIComponent(PRELOAD)}`;
  const { stderr } = await run(process.execPath, ['--import', preload, CLI, ...args], {
    timeout: 60_000,
  });
  const line = stderr.split('\n').find((l) => l.startsWith('MODULES '));
  expect(line).toBeDefined();
  return JSON.parse(line!.slice('MODULES '.length)) as string[];
}

describe('agent process modules', () => {
  it('`flannel-operator agent` loads the agent and netlink, never @kubernetes/client-node', async () => {
    const urls = await loadedModules(['agent', '--help']);
    expect(urls.some((u) => u.endsWith('/dist/agent/agent.js'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/kube/kubeconfig.js'))).toBe(true);
    expect(urls.some((u) => u.includes('/node_modules/netlink/'))).toBe(true);
    expect(urls.filter((u) => u.includes('@kubernetes/client-node'))).toEqual([]);
  }, 60_000);

  it('the hook does see client-node where it is loaded (`flannel-operator controller`)', async () => {
    const urls = await loadedModules(['controller', '--help']);
    expect(urls.some((u) => u.includes('@kubernetes/client-node'))).toBe(true);
  }, 60_000);
});
