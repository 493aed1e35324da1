/**
 * Helpers for the chart tests: run the built helm, render the chart with values, pick objects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { toolPath } from '../harness/tools.js';
import { runProcess, waitFor, type RunResult } from '../harness/process.js';

export { waitFor, type RunResult };

export const REPO = resolve(new URL('.', import.meta.url).pathname, '../..');

let scratchBase: string | undefined;
// Imported while a test file is being defined: remove this file's scratch space after its tests.
if (typeof afterAll === 'function') {
  afterAll(() => {
    if (scratchBase) rmSync(scratchBase, { recursive: true, force: true });
    scratchBase = undefined;
  });
}
/** A fresh temp dir under one per-test-file base, removed after the file's tests. */
export function scratchDir(prefix: string): string {
  scratchBase ??= mkdtempSync(join(tmpdir(), 'fo-chart-tests-'));
  return mkdtempSync(join(scratchBase, prefix));
}
export const CHART = join(REPO, 'charts/flannel-operator');
/** helm built without client-go version ldflags defaults to v1.20; the chart needs >= 1.30. */
export const KUBE_VERSION = '1.34.0';

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return runProcess(cmd, args, { ...opts, timeoutMs: opts.timeoutMs ?? 120_000 });
}

export function helm(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  // Own cache/config dirs: never touch the user's helm state.
  const home = scratchDir('helm-');
  return run(toolPath('helm'), args, {
    ...opts,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [k: string]: unknown;
}

/** Writes values to a temp file for `-f`. */
export function valuesFile(values: Record<string, unknown>): string {
  const dir = scratchDir('values-');
  const file = join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  return file;
}

export function parseObjects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o && typeof o === 'object' && 'kind' in o);
}

/** `helm template` of the chart; throws with helm's stderr on failure. */
export async function render(
  values: Record<string, unknown> = {},
  extra: string[] = [],
): Promise<K8sObject[]> {
  const r = await template(values, extra);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return parseObjects(r.stdout);
}

export function template(
  values: Record<string, unknown> = {},
  extra: string[] = [],
): Promise<RunResult> {
  return helm([
    'template',
    'fo',
    CHART,
    '--namespace',
    'flannel-system',
    '--kube-version',
    KUBE_VERSION,
    '-f',
    valuesFile(values),
    ...extra,
  ]);
}

export function pick<T = K8sObject>(objs: K8sObject[], kind: string, name?: string): T {
  const found = objs.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1)
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found[0] as T;
}

export function kinds(objs: K8sObject[]): string[] {
  return objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

export interface ChildController {
  child: import('node:child_process').ChildProcess;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
}

/** Runs `node dist/cli/main.js controller --kubeconfig K ...args` (no probe server, loopback metrics). */
export async function spawnController(
  kubeconfig: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ChildController> {
  const { spawn } = await import('node:child_process');
  const { createWriteStream, existsSync } = await import('node:fs');
  const { freePort } = await import('../harness/process.js');
  const cli = join(REPO, 'dist/cli/main.js');
  if (!existsSync(cli))
    throw new Error(`${cli} missing: run 'npm run build' (make integration does)`);
  const port = await freePort();
  const logFile = join(scratchDir('controller-'), 'controller.log');
  const out = createWriteStream(logFile);
  let text = '';
  const child = spawn(
    process.execPath,
    [
      cli,
      'controller',
      '--kubeconfig',
      kubeconfig,
      `--metrics-bind-address=127.0.0.1:${port}`,
      '--health-probe-bind-address=0',
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const s of [child.stdout!, child.stderr!]) {
    s.pipe(out);
    s.on('data', (d: Buffer) => (text += d.toString()));
  }
  return {
    child,
    logFile,
    log: () => text,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
