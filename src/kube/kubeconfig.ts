/**
 * A minimal kubeconfig and in-cluster loader for processes that must stay small (the agent).
 * Supported: current-context -> cluster server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name; user client-certificate[-data] / client-key[-data],
 * token, tokenFile (re-read like client-go, so rotating projected tokens keep working). Plugins
 * (exec, auth-provider), basic auth, impersonation and proxy-url are refused with
 * EKUBE_CONFIG_UNSUPPORTED: use the controller/CLI loader (client-node) for those.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { parse as parseYaml } from 'yaml';
import { KubeConfigError, type KubeAuth, type TlsConfig } from './auth.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How often a token file is re-read: client-go's cached file token source uses one minute. */
export const TOKEN_FILE_PERIOD_MS = 60_000;

export interface LoadOptions {
  /** An explicit kubeconfig file (the --kubeconfig flag): used alone. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  serviceAccountDir?: string;
  /** Clock for token-file refresh (tests). */
  now?: () => number;
}

/**
 * Resolution as client-go's BuildConfigFromFlags (what flanneld does): --kubeconfig, else in-cluster
 * (KUBERNETES_SERVICE_HOST/PORT and a service account token), else $KUBECONFIG, else ~/.kube/config.
 */
export function loadKubeAuth(opts: LoadOptions = {}): KubeAuth {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return kubeconfigAuth([opts.kubeconfig], opts);
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (
    env.KUBERNETES_SERVICE_HOST &&
    env.KUBERNETES_SERVICE_PORT &&
    existsSync(join(saDir, 'token'))
  )
    return inClusterAuth(opts);
  if (env.KUBECONFIG) {
    // Like kubectl: listed files that do not exist are skipped.
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f));
    if (files.length > 0) return kubeconfigAuth(files, opts);
    throw new KubeConfigError(
      `none of the files in $KUBECONFIG exist (${env.KUBECONFIG})`,
      'EKUBE_CONFIG_NOT_FOUND',
    );
  }
  const home = join(opts.homeDir ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return kubeconfigAuth([home], opts);
  throw new KubeConfigError(
    'no kubeconfig: pass --kubeconfig, run in a pod with a service account, set $KUBECONFIG or create ~/.kube/config',
    'EKUBE_CONFIG_NOT_FOUND',
  );
}

/** The pod's service account: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, its CA and token. */
export function inClusterAuth(opts: LoadOptions = {}): KubeAuth {
  const env = opts.env ?? process.env;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new KubeConfigError(
      'not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set',
      'EKUBE_CONFIG_IN_CLUSTER',
    );
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  try {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const token = fileToken(join(dir, 'token'), opts.now);
    return bearerAuth(server, { ca }, token);
  } catch (e) {
    throw new KubeConfigError(
      `in-cluster config: ${(e as Error).message}`,
      'EKUBE_CONFIG_IN_CLUSTER',
    );
  }
}

type Entry = Record<string, unknown> & { dir: string };

interface Merged {
  source: string;
  currentContext?: string;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

/** Files merged as kubectl does: the first file that sets a name or current-context wins. */
function kubeconfigAuth(files: string[], opts: LoadOptions): KubeAuth {
  const m: Merged = {
    source: files.join(delimiter),
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const file of files) mergeFile(m, file);
  return authFor(m, opts);
}

const require = createRequire(import.meta.url);

/** JSON is YAML: only YAML text loads the YAML parser (a few MiB an in-cluster agent never needs). */
function parseText(text: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON after all: YAML flow mappings start with '{' too
    }
  }
  return (require('yaml') as { parse: typeof parseYaml }).parse(text);
}

function mergeFile(m: Merged, file: string): void {
  let doc: unknown;
  try {
    doc = parseText(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new KubeConfigError(`kubeconfig ${file}: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new KubeConfigError(`kubeconfig ${file}: not a kubeconfig (expected a mapping)`);
  const d = doc as Record<string, unknown>;
  const dir = dirname(resolve(file));
  if (typeof d['current-context'] === 'string' && d['current-context'] && !m.currentContext)
    m.currentContext = d['current-context'];
  for (const [key, field, into] of [
    ['clusters', 'cluster', m.clusters],
    ['users', 'user', m.users],
    ['contexts', 'context', m.contexts],
  ] as const) {
    const list = d[key] ?? [];
    if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${file}: ${key} is not a list`);
    for (const item of list as Array<Record<string, unknown>>) {
      const name = item?.name;
      if (typeof name !== 'string' || !name)
        throw new KubeConfigError(`kubeconfig ${file}: an entry of ${key} has no name`);
      if (!into.has(name))
        into.set(name, { ...((item[field] ?? {}) as Record<string, unknown>), dir });
    }
  }
}

function authFor(m: Merged, opts: LoadOptions): KubeAuth {
  const fail = (msg: string): never => {
    throw new KubeConfigError(`kubeconfig ${m.source}: ${msg}`);
  };
  const ctxName = m.currentContext ?? fail('no current-context');
  const ctx = m.contexts.get(ctxName) ?? fail(`context "${ctxName}" not found`);
  const clusterName = str(ctx.cluster) ?? fail(`context "${ctxName}" names no cluster`);
  const cluster = m.clusters.get(clusterName) ?? fail(`cluster "${clusterName}" not found`);
  const userName = str(ctx.user);
  const user: Entry = userName
    ? (m.users.get(userName) ?? fail(`user "${userName}" not found`))
    : { dir: cluster.dir };
  refuseUnsupported(m.source, cluster, user);
  const server = serverURL(str(cluster.server), m.source);
  const tls: TlsConfig = {};
  const at = (what: string): string => `${what} of ${m.source}`;
  const ca = material(cluster, 'certificate-authority', at(`cluster "${clusterName}"`));
  if (ca) tls.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) {
    if (ca) fail(`cluster "${clusterName}": certificate-authority and insecure-skip-tls-verify`);
    tls.rejectUnauthorized = false;
  }
  const sni = str(cluster['tls-server-name']);
  if (sni) tls.servername = sni;
  const who = at(`user "${userName}"`);
  const cert = material(user, 'client-certificate', who);
  const key = material(user, 'client-key', who);
  if (!!cert !== !!key) fail(`user "${userName}": client-certificate and client-key go together`);
  if (cert && key) Object.assign(tls, { cert, key });
  const tokenFile = str(user.tokenFile);
  const token = str(user.token);
  if (tokenFile) {
    try {
      return bearerAuth(server, tls, fileToken(resolve(user.dir, tokenFile), opts.now));
    } catch (e) {
      return fail(`user "${userName}": tokenFile: ${(e as Error).message}`);
    }
  }
  return bearerAuth(server, tls, token ? () => token : undefined);
}

/** Fields of the current cluster/user that this loader does not implement: a clear error, never ignored. */
function refuseUnsupported(source: string, cluster: Entry, user: Entry): void {
  const refuse = (feature: string, what: string): never => {
    throw new KubeConfigError(
      `kubeconfig ${source}: ${what} is not supported by the agent's kubeconfig loader; ` +
        'use client certificates, a token or tokenFile (e.g. a service account token)',
      'EKUBE_CONFIG_UNSUPPORTED',
      feature,
    );
  };
  if (user.exec) refuse('exec', 'an exec credential plugin (users[].user.exec)');
  if (user['auth-provider']) {
    const name = str((user['auth-provider'] as { name?: unknown }).name) ?? '?';
    refuse('auth-provider', `the auth-provider plugin "${name}" (users[].user.auth-provider)`);
  }
  if (user.username !== undefined || user.password !== undefined)
    refuse('basic-auth', 'basic auth (users[].user.username/password)');
  for (const f of ['as', 'as-uid', 'as-groups', 'as-user-extra'])
    if (user[f] !== undefined) refuse('impersonation', `impersonation (users[].user.${f})`);
  if (cluster['proxy-url'] !== undefined)
    refuse('proxy-url', 'a proxy (clusters[].cluster.proxy-url)');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function serverURL(server: string | undefined, source: string): string {
  let u: URL | undefined;
  try {
    u = server ? new URL(server) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:'))
    throw new KubeConfigError(
      `kubeconfig ${source}: cluster server "${server ?? ''}" is not an http(s) URL`,
    );
  return server!;
}

/** `<field>-data` (base64) or `<field>` (a file, relative to the kubeconfig's directory). */
function material(e: Entry, field: string, where: string): Buffer | undefined {
  const data = str(e[`${field}-data`]);
  const file = str(e[field]);
  if (data && file) throw new KubeConfigError(`${where}: both ${field} and ${field}-data are set`);
  if (data) return Buffer.from(data, 'base64');
  if (!file) return undefined;
  try {
    return readFileSync(resolve(e.dir, file));
  } catch (e) {
    throw new KubeConfigError(`${where}: ${field}: ${(e as Error).message}`);
  }
}

/**
 * A token file read now (it must be readable) and again once per TOKEN_FILE_PERIOD_MS, so a
 * rotated projected service account token is picked up. A failed or empty re-read keeps the last
 * good token, as client-go does: kubelet replaces the file atomically, a read error is transient.
 */
function fileToken(file: string, now: () => number = Date.now): () => string {
  const read = (): string => {
    const t = readFileSync(file, 'utf8').trim();
    if (!t) throw new Error(`${file} is empty`);
    return t;
  };
  let token = read();
  let readAt = now();
  return () => {
    if (now() - readAt >= TOKEN_FILE_PERIOD_MS) {
      readAt = now();
      try {
        token = read();
      } catch {
        // keep the last good token
      }
    }
    return token;
  };
}

function bearerAuth(server: string, tls: TlsConfig, token?: () => string): KubeAuth {
  const none: Record<string, string> = {};
  return {
    server,
    tls: () => Promise.resolve(tls),
    headers: () => Promise.resolve(token ? { Authorization: `Bearer ${token()}` } : none),
  };
}
