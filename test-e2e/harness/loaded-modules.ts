/**
 * Which modules a CLI process loads: a module-resolution hook in the child records every URL it
 * resolves and prints them as JSON on exit. Used to prove what a role does (not) load, from dist/
 * and from the image's bundle alike.
 */
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

// Registers the hooks, runs the CLI, prints the loaded URLs as JSON on exit: the resolved ones,
// then the CommonJS modules (require cache) the hook never sees (createRequire, their requires).
const PRELOAD = `
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
  process.stderr.write('MODULES ' + JSON.stringify(all) + '\\n');
});
`;

/** The modules `node cli ...args` loaded: resolved URLs (ESM, the entry) in order, then CommonJS. */
export async function loadedModules(cli: string, args: string[]): Promise<string[]> {
  const preload = `data:text/javascript,${encodeURIComponent(PRELOAD)}`;
  const r = await runProcess(process.execPath, ['--import', preload, cli, ...args], {
    timeoutMs: 60_000,
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith('MODULES '));
  if (r.code !== 0 || !line)
    throw new Error(`${cli} ${args.join(' ')}: exit ${r.code}, no module list\n${r.stderr}`);
  return JSON.parse(line.slice('MODULES '.length)) as string[];
}
