/**
 * Which modules a CLI process loads: a module-resolution hook in the child records every URL it
 * resolves and prints them as JSON on exit. Used to prove what a role does (not) load, from dist/
 * and from the image's bundle alike.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from './process.js';

// Runs in the hooks thread: report each resolved URL to the main thread.
const HOOKS = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}`;

// Registers the hooks, runs the CLI, writes the loaded URLs as JSON to $FLOP_MODULES_OUT on exit:
// the resolved ones, then the CommonJS modules (require cache) the hook never sees (createRequire,
// their requires). A file, not stderr: a list of 200+ KB written to a pipe at exit came out cut.
const PRELOAD = `
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (u) => urls.push(u));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), {
  parentURL: import.meta.url, data: { port: port2 }, transferList: [port2],
});
process.on('exit', () => {
  const cjs = Object.keys(createRequire(process.cwd() + '/').cache).map((f) => pathToFileURL(f).href);
  const all = [...urls, ...cjs.filter((u) => !urls.includes(u))];
  writeFileSync(process.env.FLOP_MODULES_OUT, JSON.stringify(all));
});
`;

/** The modules `node cli ...args` loaded: resolved URLs (ESM, the entry) in order, then CommonJS. */
export async function loadedModules(cli: string, args: string[]): Promise<string[]> {
  const preload = `data:text/javascript,${encodeURIComponent(PRELOAD)}`;
  const dir = mkdtempSync(join(tmpdir(), 'flop-modules-'));
  const out = join(dir, 'modules.json');
  try {
    const r = await runProcess(process.execPath, ['--import', preload, cli, ...args], {
      timeoutMs: 60_000,
      env: { ...process.env, FLOP_MODULES_OUT: out },
    });
    if (r.code !== 0 || !existsSync(out))
      throw new Error(`${cli} ${args.join(' ')}: exit ${r.code}, no module list\n${r.stderr}`);
    return JSON.parse(readFileSync(out, 'utf8')) as string[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
