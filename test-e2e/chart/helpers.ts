/**
 * Helpers for the chart tests: run the built helm, render the chart with values, pick objects.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { toolPath } from '../harness/control-plane.js';

export const REPO = resolve(new URL('.', import.meta.url).pathname, '../..');
export const CHART = join(REPO, 'charts/flannel-operator');
/** helm built without client-go version ldflags defaults to v1.20; the chart needs >= 1.30. */
export const KUBE_VERSION = '1.34.0';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export function helm(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  // Own cache/config dirs: never touch the user's helm state.
  const home = mkdtempSync(join(tmpdir(), 'fo-helm-'));
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
  const dir = mkdtempSync(join(tmpdir(), 'fo-values-'));
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
