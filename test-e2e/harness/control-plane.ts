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

/** Data and log dirs of one start, its leftover-registry entry, and how to stop what it started. */
class Run {
  readonly dataDir = mkdtempSync(join(pickDataRoot(), 'flannel-operator-cp-'));
  readonly pkiDir = join(this.dataDir, 'pki');
  readonly logDir: string;
  agent: Agent | undefined;
  private readonly children: ChildProcess[] = [];
  private readonly entry: RegistryEntry;
  private readonly registryFile: string;
  private stopped = false;

  constructor(logDir: string | undefined) {
    this.logDir = logDir ?? defaultLogDir();
    mkdirSync(this.logDir, { recursive: true });
    mkdirSync(REGISTRY, { recursive: true });
    this.registryFile = join(REGISTRY, `${process.pid}-${this.dataDir.split('/').pop()}.json`);
    this.entry = { owner: process.pid, pids: [], dataDir: this.dataDir };
    writeFileSync(this.registryFile, JSON.stringify(this.entry));
  }

  start(binary: string, args: string[], log: string): ChildProcess {
    const child = startProcess(toolPath(binary), args, join(this.logDir, log));
    this.children.push(child);
    if (child.pid) this.entry.pids.push({ pid: child.pid, binary });
    writeFileSync(this.registryFile, JSON.stringify(this.entry));
    writeFileSync(
      join(this.dataDir, 'pids'),
      this.entry.pids.map((p) => `${p.pid} ${p.binary}`).join('\n') + '\n',
    );
    return child;
  }

  readonly stop = async (): Promise<void> => {
    if (this.stopped) return;
    this.stopped = true;
    this.agent?.destroy();
    // API server first so it does not spin on a vanished etcd.
    // The data is thrown away, so there is nothing to shut down gracefully for.
    for (const child of [...this.children].reverse()) await stopProcess(child, 0);
    rmSync(this.dataDir, { recursive: true, force: true });
    rmSync(this.registryFile, { force: true });
    removeExitHooksWhenIdle();
  };
}

const exited = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

function startEtcd(run: Run, endpoint: string, peerPort: number): ChildProcess {
  return run.start(
    'etcd',
    [
      '--name=default',
      `--data-dir=${join(run.dataDir, 'etcd')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync',
      `--quota-backend-bytes=${4 * 1024 ** 3}`,
      '--log-level=warn',
    ],
    'etcd.log',
  );
}

/** etcd must answer before the API server starts, or it logs retries and starts slower. */
async function waitEtcdHealthy(
  run: Run,
  etcd: ChildProcess,
  endpoint: string,
  timeoutMs: number,
): Promise<void> {
  const log = join(run.logDir, 'etcd.log');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited(etcd))
      throw new ControlPlaneError(`etcd exited early:\n${tail(log)}`, 'ECP_ETCD_EXITED');
    const ok = await fetch(`${endpoint}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) {
      throw new ControlPlaneError(
        `etcd not healthy after ${timeoutMs}ms:\n${tail(log)}`,
        'ECP_ETCD_TIMEOUT',
      );
    }
    await sleep(50);
  }
}

function startApiserver(
  run: Run,
  etcdEndpoint: string,
  port: number,
  extraArgs: string[],
): ChildProcess {
  const pki = run.pkiDir;
  return run.start(
    'kube-apiserver',
    [
      `--etcd-servers=${etcdEndpoint}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${pki}`,
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--client-ca-file=${join(pki, 'ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=${ISSUER}`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      `--api-audiences=${ISSUER}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // Endpoints for the `kubernetes` Service may not be loopback addresses; nothing here needs them.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
      ...extraArgs,
    ],
    'kube-apiserver.log',
  );
}

async function waitApiserverReady(
  run: Run,
  apiserver: ChildProcess,
  server: string,
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  const log = join(run.logDir, 'kube-apiserver.log');
  for (;;) {
    if (exited(apiserver)) {
      throw new ControlPlaneError(
        `kube-apiserver exited early:\n${tail(log)}`,
        'ECP_APISERVER_EXITED',
      );
    }
    const r = await httpJson<string>(
      run.agent!,
      server,
      'GET',
      '/readyz',
      undefined,
      undefined,
      2_000,
    ).catch((e: Error) => ({ status: 0, text: e.message, body: '' }));
    if (r.status === 200) return;
    if (Date.now() > deadline) {
      throw new ControlPlaneError(
        `kube-apiserver not ready after ${timeoutMs}ms: ${r.text}\n${tail(log)}`,
        'ECP_APISERVER_TIMEOUT',
      );
    }
    await sleep(100);
  }
}

/** Admin requests: JSON in, parsed JSON out, ControlPlaneError on HTTP >= 400. */
function adminRequests(agent: Agent, server: string) {
  const request = async <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> => {
    const r = await httpJson<T>(agent, server, method, path, body, contentType);
    if (r.status >= 400) {
      throw new ControlPlaneError(
        `${method} ${path}: HTTP ${r.status}: ${r.text}`,
        'ECP_HTTP',
        r.status,
      );
    }
    return r.body;
  };
  const createIgnoringConflict = async (path: string, body: unknown): Promise<void> => {
    try {
      await request('POST', path, body);
    } catch (e) {
      if ((e as ControlPlaneError).status !== 409) throw e;
    }
  };
  return { request, createIgnoringConflict };
}

type Admin = ReturnType<typeof adminRequests>;

/**
 * The `default` namespace comes from a post-start hook shortly after readiness; its `default`
 * ServiceAccount would come from kube-controller-manager, which does not run here.
 */
async function ensureDefaultServiceAccount(
  agent: Agent,
  server: string,
  admin: Admin,
  deadline: number,
): Promise<void> {
  while (
    (await httpJson(agent, server, 'GET', '/api/v1/namespaces/default')).status !== 200 &&
    Date.now() < deadline
  ) {
    await sleep(50);
  }
  await admin.createIgnoringConflict('/api/v1/namespaces/default/serviceaccounts', {
    metadata: { name: 'default' },
  });
}

/** A TokenRequest for a service account (created when missing), optionally bound to a Node. */
function tokenIssuer(admin: Admin): ControlPlane['tokenFor'] {
  return async (namespace, serviceAccount, o = {}) => {
    await admin.createIgnoringConflict('/api/v1/namespaces', { metadata: { name: namespace } });
    await admin.createIgnoringConflict(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
      metadata: { name: serviceAccount },
    });
    let boundObjectRef: Record<string, string> | undefined;
    if (o.nodeName) {
      const node = await admin
        .request<{ metadata: { uid: string } }>(
          'GET',
          `/api/v1/nodes/${encodeURIComponent(o.nodeName)}`,
        )
        .catch((e: ControlPlaneError) => {
          throw new ControlPlaneError(
            `tokenFor: cannot bind the token to Node ${o.nodeName}: ${e.message}`,
            'ECP_NODE_MISSING',
            e.status,
          );
        });
      boundObjectRef = { kind: 'Node', apiVersion: 'v1', name: o.nodeName, uid: node.metadata.uid };
    }
    const tr = await admin.request<{ status: { token: string } }>(
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
}

/** The admin kubeconfig file and KubeConfig, and kubeconfigs for tokens. */
function kubeconfigs(run: Run, server: string, pki: Pki) {
  const kubeconfigPath = join(run.dataDir, 'admin.kubeconfig');
  writeFileSync(kubeconfigPath, JSON.stringify(kubeconfigJson(server, pki.ca, pki), null, 2), {
    mode: 0o600,
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const kubeConfigForToken = (token: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromString(JSON.stringify(kubeconfigJson(server, pki.ca, { token })));
    return kc;
  };
  let tokenFiles = 0;
  const kubeconfigFileForToken = async (token: string): Promise<string> => {
    const file = join(run.dataDir, `token-${++tokenFiles}.kubeconfig`);
    await writeFile(file, JSON.stringify(kubeconfigJson(server, pki.ca, { token }), null, 2), {
      mode: 0o600,
    });
    return file;
  };
  return { kubeconfigPath, kubeConfig, kubeConfigForToken, kubeconfigFileForToken };
}

function readPki(dir: string): Pki {
  return {
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    cert: readFileSync(join(dir, 'admin.crt'), 'utf8'),
    key: readFileSync(join(dir, 'admin.key'), 'utf8'),
  };
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
  const run = new Run(opts.logDir);
  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    const etcdEndpoint = `http://127.0.0.1:${etcdClientPort}`;
    // Certificates are made while etcd boots.
    const etcd = startEtcd(run, etcdEndpoint, etcdPeerPort);
    await makePki(run.pkiDir);
    const timings = { pki: Date.now() - t0, etcd: 0, apiserver: 0, crds: 0 };
    const pki = readPki(run.pkiDir);
    await waitEtcdHealthy(run, etcd, etcdEndpoint, timeoutMs);
    timings.etcd = Date.now() - t0;

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startApiserver(run, etcdEndpoint, apiPort, opts.apiserverArgs ?? []);
    const agent = new Agent({ ...pki, keepAlive: true, maxSockets: 16 });
    run.agent = agent;
    const deadline = t0 + timeoutMs;
    await waitApiserverReady(run, apiserver, server, deadline, timeoutMs);
    timings.apiserver = Date.now() - t0;

    const admin = adminRequests(agent, server);
    await ensureDefaultServiceAccount(agent, server, admin, deadline);
    const cp: ControlPlane = {
      server,
      ...kubeconfigs(run, server, pki),
      dataDir: run.dataDir,
      tokenFor: tokenIssuer(admin),
      stop: run.stop,
      logDir: run.logDir,
      caPem: pki.ca,
      etcdEndpoint,
      startupMs: 0,
      timings,
      request: admin.request,
    };
    if (opts.installCrds) await installCrds(cp);
    cp.startupMs = timings.crds = Date.now() - t0;
    return cp;
  } catch (e) {
    await run.stop();
    throw e;
  }
}
