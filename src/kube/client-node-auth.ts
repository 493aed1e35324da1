/**
 * KubeAuth over @kubernetes/client-node's KubeConfig, for the CLI, tests and the controller's
 * plugin kubeconfigs (load-auth.ts): it brings exec and auth-provider plugins (and ~80 MiB of RSS). The agent must not import this
 * module; it uses `loadKubeAuth` from kubeconfig.ts. Not re-exported from kube/index.ts for that reason.
 */
import type https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError, type KubeAuth, type TlsConfig } from './auth.js';

/** Loads credentials: an explicit file, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
export function loadKubeConfig(opts: { kubeconfig?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new KubeConfigError(
      'no cluster in kubeconfig (pass --kubeconfig, set KUBECONFIG or run in a pod)',
    );
  }
  return kc;
}

/** Headers from client-node are recomputed at most this often (exec plugins are slow). */
const AUTH_CACHE_MS = 30_000;

export function clientNodeAuth(kc: KubeConfig): KubeAuth {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError('kubeconfig has no current cluster');
  let cached: { headers: Record<string, string>; expires: number } | undefined;
  let pending: Promise<Record<string, string>> | undefined;
  const refresh = async (): Promise<Record<string, string>> => {
    try {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      cached = { headers, expires: Date.now() + AUTH_CACHE_MS };
      return headers;
    } finally {
      pending = undefined;
    }
  };
  return {
    server: cluster.server,
    async tls(): Promise<TlsConfig> {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const t: TlsConfig = {};
      if (opts.ca) t.ca = opts.ca as Buffer | string;
      if (opts.cert) t.cert = opts.cert as Buffer | string;
      if (opts.key) t.key = opts.key as Buffer | string;
      if (opts.rejectUnauthorized !== undefined) t.rejectUnauthorized = opts.rejectUnauthorized;
      if (opts.servername) t.servername = opts.servername;
      return t;
    },
    async headers(): Promise<Record<string, string>> {
      if (cached && cached.expires > Date.now()) return cached.headers;
      pending ??= refresh();
      return pending;
    },
  };
}
