/**
 * A real Kubernetes control plane for integration tests: etcd + kube-apiserver on loopback, built
 * by hack/tools/build.sh. No controller-manager or scheduler runs: nothing garbage-collects owned
 * objects, finalizes namespaces or schedules pods; tests that need those do the work themselves.
 */
import type { ChildProcess } from 'node:child_process';
import { Agent } from 'node:https';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  accessSync,
  constants as fsConstants,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigJson, makePki, type Pki } from './certs.js';
import { installCrds } from './crds.js';
import { ControlPlaneError } from './errors.js';
import { httpJson } from './http.js';
import { freePort } from './process.js';
import {
  REGISTRY,
  installExitHooks,
  reapLeftoverControlPlanes,
  removeExitHooksWhenIdle,
  startProcess,
  stopProcess,
  tail,
  type RegistryEntry,
} from './reaper.js';
import { missingTools, toolPath, toolsDir } from './tools.js';

export { ControlPlaneError };

export interface ControlPlane {
  server: string; // https://127.0.0.1:<port>
  kubeconfigPath: string; // admin kubeconfig file (system:masters)
  kubeConfig: KubeConfig; // @kubernetes/client-node, admin
  dataDir: string;
  /** Issues a TokenRequest for namespace/serviceAccount (both created when missing). With nodeName the
   * token is bound to that Node (which must exist), so its user info carries the
   * `authentication.kubernetes.io/node-name` extra. */
  tokenFor(
    namespace: string,
    serviceAccount: string,
    opts?: { audiences?: string[]; nodeName?: string; expirationSeconds?: number },
  ): Promise<string>;
  kubeConfigForToken(token: string): KubeConfig;
  kubeconfigFileForToken(token: string): Promise<string>;
  kubectl?: never;
  stop(): Promise<void>;
  // Extensions beyond the team contract.
  /** Directory holding etcd.log and kube-apiserver.log (kept after stop for debugging). */
  logDir: string;
  /** PEM of the cluster CA (the API server's serving cert chains to it). */
  caPem: string;
  etcdEndpoint: string;
  /** Milliseconds from the call to startControlPlane until /readyz answered ok. */
  startupMs: number;
  /** Where the start time went (ms since the call): pki made, etcd healthy, apiserver ready, CRDs established. */
  timings: { pki: number; etcd: number; apiserver: number; crds: number };
  /** Admin request helper: JSON in, parsed JSON out; throws ControlPlaneError on HTTP >= 400. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T>;
}

export interface StartOptions {
  installCrds?: boolean;
  logDir?: string;
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=Foo=true']. */
  apiserverArgs?: string[];
  /** Timeout for the whole start (default 60s; the machine is small and often busy). */
  timeoutMs?: number;
}

export const SERVICE_CIDR = '10.96.0.0/16';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pickDataRoot(): string {
  // etcd in tmpfs: no disk I/O at all (it runs with --unsafe-no-fsync anyway).
  try {
    accessSync('/dev/shm', fsConstants.W_OK);
    if (statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    /* fall through */
  }
  return tmpdir();
}

function defaultLogDir(): string {
  const root = process.env.FLANNEL_OPERATOR_LOG_DIR ?? join(tmpdir(), 'flannel-operator-cp-logs');
  mkdirSync(root, { recursive: true });
  // Keep a day of logs from earlier runs, drop older ones.
  for (const d of readdirSync(root)) {
    try {
      if (Date.now() - statSync(join(root, d)).mtimeMs > 86_400_000) {
        rmSync(join(root, d), { recursive: true, force: true });
      }
    } catch {
      /* raced with another run */
    }
  }
  return mkdtempSync(join(root, `${new Date().toISOString().replace(/[:.]/g, '-')}-`));
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  // Free ports are picked before the processes bind them; another process may win that race.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      const err = e as ControlPlaneError;
      const raced = /address already in use/.test(err.message);
      if (!raced || attempt >= 3) throw e;
    }
  }
}

async function startOnce(opts: StartOptions): Promise<ControlPlane> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const missing = missingTools();
  if (missing.length > 0) {
    throw new ControlPlaneError(
      `missing tools ${missing.join(', ')} in ${join(toolsDir(), 'bin')}: run 'make tools'`,
      'ECP_TOOLS_MISSING',
    );
  }
  reapLeftoverControlPlanes();
  installExitHooks();

  const dataDir = mkdtempSync(join(pickDataRoot(), 'flannel-operator-cp-'));
  const logDir = opts.logDir ?? defaultLogDir();
  mkdirSync(logDir, { recursive: true });
  const pkiDir = join(dataDir, 'pki');
  mkdirSync(REGISTRY, { recursive: true });
  const registryFile = join(REGISTRY, `${process.pid}-${dataDir.split('/').pop()}.json`);
  const entry: RegistryEntry = { owner: process.pid, pids: [], dataDir };
  const children: ChildProcess[] = [];
  const track = (child: ChildProcess, binary: string) => {
    children.push(child);
    if (child.pid) entry.pids.push({ pid: child.pid, binary });
    writeFileSync(registryFile, JSON.stringify(entry));
    writeFileSync(
      join(dataDir, 'pids'),
      entry.pids.map((p) => `${p.pid} ${p.binary}`).join('\n') + '\n',
    );
  };
  writeFileSync(registryFile, JSON.stringify(entry));

  let stopped = false;
  let agent: Agent | undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    agent?.destroy();
    // API server first so it does not spin on a vanished etcd.
    // The data is thrown away, so there is nothing to shut down gracefully for.
    for (const child of [...children].reverse()) await stopProcess(child, 0);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(registryFile, { force: true });
    removeExitHooksWhenIdle();
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    const etcdEndpoint = `http://127.0.0.1:${etcdClientPort}`;
    const etcdLog = join(logDir, 'etcd.log');
    const etcdArgs = [
      '--name=default',
      `--data-dir=${join(dataDir, 'etcd')}`,
      `--listen-client-urls=${etcdEndpoint}`,
      `--advertise-client-urls=${etcdEndpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync',
      `--quota-backend-bytes=${4 * 1024 ** 3}`,
      '--log-level=warn',
    ];
    // Certificates are made while etcd boots.
    const etcd = startProcess(toolPath('etcd'), etcdArgs, etcdLog);
    track(etcd, 'etcd');
    await makePki(pkiDir);
    const timings = { pki: Date.now() - t0, etcd: 0, apiserver: 0, crds: 0 };
    const pki: Pki = {
      ca: readFileSync(join(pkiDir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(pkiDir, 'admin.crt'), 'utf8'),
      key: readFileSync(join(pkiDir, 'admin.key'), 'utf8'),
    };

    const server = `https://127.0.0.1:${apiPort}`;
    const apiLog = join(logDir, 'kube-apiserver.log');
    const apiArgs = [
      `--etcd-servers=${etcdEndpoint}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${pkiDir}`,
      `--tls-cert-file=${join(pkiDir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pkiDir, 'apiserver.key')}`,
      `--client-ca-file=${join(pkiDir, 'ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=${ISSUER}`,
      `--service-account-key-file=${join(pkiDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pkiDir, 'sa.key')}`,
      `--api-audiences=${ISSUER}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // Endpoints for the `kubernetes` Service may not be loopback addresses; nothing here needs them.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
      ...(opts.apiserverArgs ?? []),
    ];
    // etcd must answer before the API server starts, or it logs retries and starts slower.
    const etcdDeadline = Date.now() + timeoutMs;
    for (;;) {
      if (etcd.exitCode !== null || etcd.signalCode !== null) {
        throw new ControlPlaneError(`etcd exited early:\n${tail(etcdLog)}`, 'ECP_ETCD_EXITED');
      }
      const ok = await fetch(`${etcdEndpoint}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > etcdDeadline) {
        throw new ControlPlaneError(
          `etcd not healthy after ${timeoutMs}ms:\n${tail(etcdLog)}`,
          'ECP_ETCD_TIMEOUT',
        );
      }
      await sleep(50);
    }

    timings.etcd = Date.now() - t0;
    const apiserver = startProcess(toolPath('kube-apiserver'), apiArgs, apiLog);
    track(apiserver, 'kube-apiserver');
    agent = new Agent({
      ca: pki.ca,
      cert: pki.cert,
      key: pki.key,
      keepAlive: true,
      maxSockets: 16,
    });
    const adminAgent = agent;

    const deadline = t0 + timeoutMs;
    let lastReady = '';
    for (;;) {
      if (apiserver.exitCode !== null || apiserver.signalCode !== null) {
        throw new ControlPlaneError(
          `kube-apiserver exited early:\n${tail(apiLog)}`,
          'ECP_APISERVER_EXITED',
        );
      }
      const r = await httpJson<string>(
        adminAgent,
        server,
        'GET',
        '/readyz',
        undefined,
        undefined,
        2_000,
      ).catch((e: Error) => ({ status: 0, text: e.message, body: '' }));
      if (r.status === 200) {
        timings.apiserver = Date.now() - t0;
        break;
      }
      lastReady = r.text;
      if (Date.now() > deadline) {
        throw new ControlPlaneError(
          `kube-apiserver not ready after ${timeoutMs}ms: ${lastReady}\n${tail(apiLog)}`,
          'ECP_APISERVER_TIMEOUT',
        );
      }
      await sleep(100);
    }

    const request = async <T = unknown>(
      method: string,
      path: string,
      body?: unknown,
      contentType?: string,
    ): Promise<T> => {
      const r = await httpJson<T>(adminAgent, server, method, path, body, contentType);
      if (r.status >= 400) {
        throw new ControlPlaneError(
          `${method} ${path}: HTTP ${r.status}: ${r.text}`,
          'ECP_HTTP',
          r.status,
        );
      }
      return r.body;
    };
    const createIgnoringConflict = async (path: string, body: unknown) => {
      try {
        await request('POST', path, body);
      } catch (e) {
        if ((e as ControlPlaneError).status !== 409) throw e;
      }
    };

    // The `default` namespace is created by a post-start hook shortly after readiness; its
    // `default` ServiceAccount would come from kube-controller-manager, which does not run here.
    while (
      (await httpJson(adminAgent, server, 'GET', '/api/v1/namespaces/default')).status !== 200 &&
      Date.now() < deadline
    ) {
      await sleep(50);
    }
    await createIgnoringConflict('/api/v1/namespaces/default/serviceaccounts', {
      metadata: { name: 'default' },
    });

    const kubeconfigPath = join(dataDir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, JSON.stringify(kubeconfigJson(server, pki.ca, pki), null, 2), {
      mode: 0o600,
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);

    const tokenFor: ControlPlane['tokenFor'] = async (namespace, serviceAccount, o = {}) => {
      await createIgnoringConflict('/api/v1/namespaces', { metadata: { name: namespace } });
      await createIgnoringConflict(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
        metadata: { name: serviceAccount },
      });
      let boundObjectRef: Record<string, string> | undefined;
      if (o.nodeName) {
        const node = await request<{ metadata: { uid: string } }>(
          'GET',
          `/api/v1/nodes/${encodeURIComponent(o.nodeName)}`,
        ).catch((e: ControlPlaneError) => {
          throw new ControlPlaneError(
            `tokenFor: cannot bind the token to Node ${o.nodeName}: ${e.message}`,
            'ECP_NODE_MISSING',
            e.status,
          );
        });
        boundObjectRef = {
          kind: 'Node',
          apiVersion: 'v1',
          name: o.nodeName,
          uid: node.metadata.uid,
        };
      }
      const tr = await request<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            audiences: o.audiences ?? [ISSUER],
            expirationSeconds: o.expirationSeconds ?? 3600,
            ...(boundObjectRef ? { boundObjectRef } : {}),
          },
        },
      );
      return tr.status.token;
    };

    const kubeConfigForToken = (token: string): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromString(JSON.stringify(kubeconfigJson(server, pki.ca, { token })));
      return kc;
    };
    let tokenFiles = 0;
    const kubeconfigFileForToken = async (token: string): Promise<string> => {
      const file = join(dataDir, `token-${++tokenFiles}.kubeconfig`);
      await writeFile(file, JSON.stringify(kubeconfigJson(server, pki.ca, { token }), null, 2), {
        mode: 0o600,
      });
      return file;
    };

    const cp: ControlPlane = {
      server,
      kubeconfigPath,
      kubeConfig,
      dataDir,
      tokenFor,
      kubeConfigForToken,
      kubeconfigFileForToken,
      stop,
      logDir,
      caPem: pki.ca,
      etcdEndpoint,
      startupMs: 0,
      timings,
      request,
    };
    if (opts.installCrds) await installCrds(cp);
    cp.startupMs = timings.crds = Date.now() - t0;
    return cp;
  } catch (e) {
    await stop();
    throw e;
  }
}
