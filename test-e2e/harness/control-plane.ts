/**
 * A real Kubernetes control plane for integration tests: etcd + kube-apiserver on loopback, built
 * by hack/tools/build.sh. No controller-manager or scheduler runs: nothing garbage-collects owned
 * objects, finalizes namespaces or schedules pods; tests that need those do the work themselves.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request as httpsRequest, Agent } from 'node:https';
import {
  createWriteStream,
  existsSync,
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
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const execFileAsync = promisify(execFile);

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

export class ControlPlaneError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export const SERVICE_CIDR = '10.96.0.0/16';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
// Repository root: nearest ancestor with package.json and crds/ (this file also runs compiled from dist-bench/).
const REPO = findRepo(new URL('.', import.meta.url).pathname);
function findRepo(from: string): string {
  for (let dir = resolve(from); dir !== '/'; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'crds'))) return dir;
  }
  return resolve(from, '../..');
}

export function toolsDir(): string {
  return process.env.FLANNEL_OPERATOR_TOOLS ?? join(homedir(), '.cache/flannel-operator/tools');
}

export function toolPath(name: string): string {
  return join(toolsDir(), 'bin', name);
}

/** Names of the tools the control plane needs that are missing or not executable. */
export function missingTools(names: string[] = ['etcd', 'kube-apiserver']): string[] {
  return names.filter((n) => {
    try {
      accessSync(toolPath(n), fsConstants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Leftover tracking: every running control plane is registered in a file naming its owner pid,
// its children and its dataDir, so a crashed test run (SIGKILL) is cleaned up by the next start
// or by reapLeftoverControlPlanes() (test-e2e/harness/reap.ts).

const REGISTRY = join(tmpdir(), 'flannel-operator-control-planes');

interface RegistryEntry {
  owner: number;
  pids: { pid: number; binary: string }[];
  dataDir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Kills control-plane processes whose owning test process is gone and removes their data. */
export function reapLeftoverControlPlanes(opts: { all?: boolean } = {}): number {
  let reaped = 0;
  let files: string[];
  try {
    files = readdirSync(REGISTRY);
  } catch {
    return 0;
  }
  for (const f of files) {
    const file = join(REGISTRY, f);
    let entry: RegistryEntry;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as RegistryEntry;
    } catch {
      continue;
    }
    if (!opts.all && alive(entry.owner)) continue;
    for (const { pid, binary } of entry.pids) {
      // Pids get reused: only kill a process still running our binary.
      if (alive(pid) && cmdlineOf(pid).includes(binary)) {
        try {
          process.kill(pid, 'SIGKILL');
          reaped++;
        } catch {
          /* gone meanwhile */
        }
      }
    }
    rmSync(entry.dataDir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
  return reaped;
}

// Children of this process, killed synchronously on exit and on SIGINT/SIGTERM/SIGHUP.
const liveChildren = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
// Installed while this module has live children only: jest loads this module once per test file
// and hooks left on `process` would pile up across files.
let signalHandlers: Map<NodeJS.Signals, () => void> | undefined;

function killAllChildrenSync(): void {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function installExitHooks(): void {
  if (signalHandlers) return;
  signalHandlers = new Map();
  process.on('exit', killAllChildrenSync);
  for (const sig of SIGNALS) {
    const onSignal = (): void => {
      killAllChildrenSync();
      // If nobody else handles the signal, restore the default (terminate) behaviour.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    signalHandlers.set(sig, onSignal);
    process.on(sig, onSignal);
  }
}

function removeExitHooksWhenIdle(): void {
  if (!signalHandlers || liveChildren.size > 0) return;
  process.removeListener('exit', killAllChildrenSync);
  for (const [sig, handler] of signalHandlers) process.removeListener(sig, handler);
  signalHandlers = undefined;
}

// setpriv --pdeathsig makes the kernel kill the child when this process dies, even by SIGKILL.
let setprivPath: string | null | undefined;
function pdeathsigPrefix(): string[] {
  if (setprivPath === undefined) {
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  }
  return setprivPath ? [setprivPath, '--pdeathsig', 'SIGKILL', '--'] : [];
}

function startProcess(binary: string, args: string[], logFile: string): ChildProcess {
  const prefix = pdeathsigPrefix();
  const [cmd, ...rest] = [...prefix, binary, ...args];
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let timer: NodeJS.Timeout | undefined;
  if (graceMs > 0) {
    child.kill('SIGTERM');
    timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  } else {
    child.kill('SIGKILL');
  }
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// Certificates (openssl, EC P-256: fast to generate, accepted for serving, client and SA keys).

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (e) {
    const err = e as { stderr?: string; code?: string };
    if (err.code === 'ENOENT') {
      throw new ControlPlaneError('openssl not found (Debian package openssl)', 'ECP_NO_OPENSSL');
    }
    throw new ControlPlaneError(
      `openssl ${args[0]} failed: ${err.stderr ?? String(e)}`,
      'ECP_OPENSSL',
    );
  }
}

async function genKey(name: string, dir: string): Promise<void> {
  await openssl(
    ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`],
    dir,
  );
}

async function issueCert(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await genKey(name, dir);
  await openssl(
    ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`],
    dir,
  );
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

async function makePki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await genKey('ca', dir);
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=flannel-operator-test-ca',
      '-days',
      '2',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  await Promise.all([
    issueCert(
      dir,
      'apiserver',
      '/CN=kube-apiserver',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
          'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
        '',
      ].join('\n'),
    ),
    issueCert(
      dir,
      'admin',
      '/O=system:masters/CN=flannel-operator-test-admin',
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    ),
    (async () => {
      await genKey('sa', dir);
      await openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
    })(),
  ]);
}

// ---------------------------------------------------------------------------------------------

interface Pki {
  ca: string;
  cert: string;
  key: string;
}

function kubeconfigJson(
  server: string,
  ca: string,
  user: { cert?: string; key?: string; token?: string },
) {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const userEntry: Record<string, string> = {};
  if (user.cert && user.key) {
    userEntry['client-certificate-data'] = b64(user.cert);
    userEntry['client-key-data'] = b64(user.key);
  }
  if (user.token) userEntry.token = user.token;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: 'user', user: userEntry }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'user', namespace: 'default' } }],
    'current-context': 'test',
  };
}

function httpJson<T>(
  agent: Agent,
  server: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  timeoutMs = 30_000,
): Promise<{ status: number; body: T; text: string }> {
  const url = new URL(path, server);
  const payload =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((res, rej) => {
    const req = httpsRequest(
      url,
      {
        method,
        agent,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined
            ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
        timeout: timeoutMs,
      },
      (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON (e.g. /readyz) */
          }
          res({ status: resp.statusCode ?? 0, body: parsed as T, text });
        });
        resp.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', rej);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

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

interface CrdObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Server-side applies every crds/*.yaml and waits until each CRD is Established. */
export async function installCrds(
  cp: ControlPlane,
  dir = join(REPO, 'crds'),
  timeoutMs = 30_000,
): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const names: string[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const obj = doc.toJSON() as { kind?: string; metadata?: { name?: string } } | null;
      if (!obj || obj.kind !== 'CustomResourceDefinition' || !obj.metadata?.name) continue;
      await cp.request(
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${obj.metadata.name}?fieldManager=flannel-operator-tests&force=true`,
        obj,
        'application/apply-patch+yaml',
      );
      names.push(obj.metadata.name);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await cp.request<CrdObject>(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      const conds = crd.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
      const bad = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (bad)
        throw new ControlPlaneError(
          `CRD ${name} names not accepted: ${bad.message}`,
          'ECP_CRD_NAMES',
        );
      if (Date.now() > deadline) {
        throw new ControlPlaneError(
          `CRD ${name} not Established after ${timeoutMs}ms`,
          'ECP_CRD_TIMEOUT',
        );
      }
      await sleep(50);
    }
  }
  return names;
}
