import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeConfigError } from './auth.js';
import { KubeClient } from './client.js';
import { TOKEN_FILE_PERIOD_MS, inClusterAuth, loadKubeAuth } from './kubeconfig.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
  return p;
}

/** A one-context kubeconfig; `cluster`/`user` fields merged into the defaults. */
function kubeconfig(
  cluster: Record<string, unknown> = {},
  user: Record<string, unknown> | null = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', ...cluster } }],
    users: user ? [{ name: 'u', user }] : [],
    contexts: [{ name: 'ctx', context: { cluster: 'c', ...(user ? { user: 'u' } : {}) } }],
    'current-context': 'ctx',
    ...extra,
  };
}
const writeConfig = (obj: unknown, name = 'config'): string => write(name, stringify(obj));
const load = (obj: unknown, now?: () => number) =>
  loadKubeAuth({ kubeconfig: writeConfig(obj), env: {}, now });

function loadError(fn: () => unknown): KubeConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KubeConfigError);
    return e as KubeConfigError;
  }
  throw new Error('expected a KubeConfigError');
}

describe('kubeconfig loader: credential forms', () => {
  it('reads inline CA, client certificate and key (base64 -data fields)', async () => {
    const auth = load(
      kubeconfig(
        { 'certificate-authority-data': b64('CA PEM') },
        { 'client-certificate-data': b64('CERT PEM'), 'client-key-data': b64('KEY PEM') },
      ),
    );
    expect(auth.server).toBe('https://api.example:6443');
    const tls = await auth.tls();
    expect(String(tls.ca)).toBe('CA PEM');
    expect(String(tls.cert)).toBe('CERT PEM');
    expect(String(tls.key)).toBe('KEY PEM');
    expect(tls.rejectUnauthorized).toBeUndefined();
    expect(await auth.headers()).toEqual({});
  });

  it('reads CA, certificate and key files relative to the kubeconfig directory', async () => {
    write('pki/ca.crt', 'CA FILE');
    write('pki/client.crt', 'CERT FILE');
    write('abs.key', 'KEY FILE');
    const auth = load(
      kubeconfig(
        { 'certificate-authority': 'pki/ca.crt', 'tls-server-name': 'kubernetes' },
        { 'client-certificate': 'pki/client.crt', 'client-key': join(dir, 'abs.key') },
      ),
    );
    const tls = await auth.tls();
    expect([String(tls.ca), String(tls.cert), String(tls.key)]).toEqual([
      'CA FILE',
      'CERT FILE',
      'KEY FILE',
    ]);
    expect(tls.servername).toBe('kubernetes');
  });

  it('insecure-skip-tls-verify turns verification off; a bearer token goes into Authorization', async () => {
    const auth = load(kubeconfig({ 'insecure-skip-tls-verify': true }, { token: 'abc.def' }));
    expect((await auth.tls()).rejectUnauthorized).toBe(false);
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer abc.def' });
  });

  it('a context without a user is anonymous', async () => {
    const auth = load(kubeconfig({}, null));
    expect(await auth.headers()).toEqual({});
  });

  it('re-reads tokenFile once a period, keeping the last good token when a re-read fails', async () => {
    write('tok', 'first\n');
    let t = 1_000_000;
    const auth = load(kubeconfig({}, { tokenFile: 'tok', token: 'ignored' }), () => t);
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer first' });
    write('tok', 'second');
    t += TOKEN_FILE_PERIOD_MS - 1;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer first' });
    t += 1;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer second' });
    write('tok', '');
    t += TOKEN_FILE_PERIOD_MS;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer second' });
    rmSync(join(dir, 'tok'));
    t += TOKEN_FILE_PERIOD_MS;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer second' });
    write('tok', 'third');
    t += TOKEN_FILE_PERIOD_MS;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer third' });
  });

  it('only the current context is checked: other users may use plugins', async () => {
    const cfg = kubeconfig({}, { token: 't' });
    (cfg.users as unknown[]).push({ name: 'gke', user: { exec: { command: 'gke-auth' } } });
    expect(await load(cfg).headers()).toEqual({ Authorization: 'Bearer t' });
  });
});

describe('kubeconfig loader: where the config comes from', () => {
  function serviceAccount(token = 'sa-token'): string {
    const sa = join(dir, 'sa');
    write('sa/token', token);
    write('sa/ca.crt', 'SA CA');
    return sa;
  }
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('in-cluster: service host/port, the service account CA and a token re-read periodically', async () => {
    let t = 0;
    const sa = serviceAccount();
    const auth = loadKubeAuth({
      env: { ...inCluster, KUBECONFIG: writeConfig(kubeconfig()) },
      serviceAccountDir: sa,
      now: () => t,
    });
    expect(auth.server).toBe('https://10.96.0.1:443');
    expect(String((await auth.tls()).ca)).toBe('SA CA');
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer sa-token' });
    write('sa/token', 'rotated');
    t += TOKEN_FILE_PERIOD_MS;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer rotated' });
  });

  it('in-cluster: an IPv6 service host is bracketed', () => {
    const auth = inClusterAuth({
      env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountDir: serviceAccount(),
    });
    expect(auth.server).toBe('https://[fd00:10:96::1]:443');
  });

  it('in-cluster: a missing token or CA is EKUBE_CONFIG_IN_CLUSTER', () => {
    const sa = serviceAccount();
    rmSync(join(sa, 'ca.crt'));
    expect(loadError(() => inClusterAuth({ env: inCluster, serviceAccountDir: sa })).code).toBe(
      'EKUBE_CONFIG_IN_CLUSTER',
    );
    expect(loadError(() => inClusterAuth({ env: {}, serviceAccountDir: sa })).message).toMatch(
      /KUBERNETES_SERVICE_HOST/,
    );
  });

  it('--kubeconfig beats in-cluster, which beats $KUBECONFIG, which beats ~/.kube/config', () => {
    const sa = serviceAccount();
    const flag = writeConfig(kubeconfig({ server: 'https://flag:1' }), 'flag');
    const env = writeConfig(kubeconfig({ server: 'https://env:1' }), 'env');
    write('home/.kube/config', stringify(kubeconfig({ server: 'https://home:1' })));
    const base = { serviceAccountDir: sa, homeDir: join(dir, 'home') };
    const server = (o: Parameters<typeof loadKubeAuth>[0]) =>
      loadKubeAuth({ ...base, ...o }).server;
    expect(server({ kubeconfig: flag, env: { ...inCluster, KUBECONFIG: env } })).toBe(
      'https://flag:1',
    );
    expect(server({ env: { ...inCluster, KUBECONFIG: env } })).toBe('https://10.96.0.1:443');
    // Service env vars but no token (not a pod with a service account): fall through.
    expect(
      server({ env: { ...inCluster, KUBECONFIG: env }, serviceAccountDir: join(dir, 'none') }),
    ).toBe('https://env:1');
    expect(server({ env: {} })).toBe('https://home:1');
  });

  it('$KUBECONFIG: files merge, the first to set a name or current-context wins, missing files are skipped', async () => {
    const a = writeConfig(
      {
        clusters: [{ name: 'c', cluster: { server: 'https://first:1' } }],
        users: [{ name: 'u', user: { token: 'from-a' } }],
      },
      'a',
    );
    const b = writeConfig(kubeconfig({ server: 'https://second:1' }, { token: 'from-b' }), 'b');
    const auth = loadKubeAuth({
      env: { KUBECONFIG: [join(dir, 'missing'), a, b].join(':') },
    });
    expect(auth.server).toBe('https://first:1');
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer from-a' });
  });

  it('nothing found is EKUBE_CONFIG_NOT_FOUND, naming where it looked', () => {
    const e = loadError(() =>
      loadKubeAuth({ env: {}, homeDir: join(dir, 'nohome'), serviceAccountDir: dir }),
    );
    expect(e.code).toBe('EKUBE_CONFIG_NOT_FOUND');
    expect(e.message).toMatch(/--kubeconfig.*service account.*KUBECONFIG.*~\/\.kube\/config/);
    expect(loadError(() => loadKubeAuth({ env: { KUBECONFIG: join(dir, 'x') } })).code).toBe(
      'EKUBE_CONFIG_NOT_FOUND',
    );
  });
});

describe('kubeconfig loader: errors', () => {
  it.each([
    [
      'exec',
      { exec: { command: 'aws', args: ['eks', 'get-token'] } },
      {},
      /exec credential plugin/,
    ],
    ['auth-provider', { 'auth-provider': { name: 'oidc' } }, {}, /auth-provider plugin "oidc"/],
    ['basic-auth', { username: 'admin', password: 'x' }, {}, /basic auth/],
    ['impersonation', { token: 't', as: 'system:admin' }, {}, /impersonation/],
    ['proxy-url', {}, { 'proxy-url': 'http://proxy:3128' }, /proxy-url/],
  ])(
    'refuses %s with EKUBE_CONFIG_UNSUPPORTED naming the feature',
    (feature, user, cluster, re) => {
      const e = loadError(() => load(kubeconfig(cluster, user)));
      expect(e.code).toBe('EKUBE_CONFIG_UNSUPPORTED');
      expect(e.feature).toBe(feature);
      expect(e.message).toMatch(re);
      expect(e.message).toMatch(/not supported by the agent's kubeconfig loader/);
    },
  );

  it.each([
    ['no current-context', kubeconfig({}, {}, { 'current-context': '' }), /no current-context/],
    ['an unknown context', kubeconfig({}, {}, { 'current-context': 'x' }), /context "x" not found/],
    ['an unknown user', { ...kubeconfig(), users: [] }, /user "u" not found/],
    ['an unknown cluster', { ...kubeconfig(), clusters: [] }, /cluster "c" not found/],
    ['a server that is not a URL', kubeconfig({ server: 'api:6443' }), /not an http\(s\) URL/],
    ['no server', kubeconfig({ server: '' }), /not an http\(s\) URL/],
    [
      'a certificate without a key',
      kubeconfig({}, { 'client-certificate-data': b64('c') }),
      /client-certificate and client-key go together/,
    ],
    [
      'a file and inline data for the same thing',
      kubeconfig({ 'certificate-authority': '/x', 'certificate-authority-data': b64('x') }),
      /both certificate-authority and certificate-authority-data/,
    ],
    [
      'a CA together with insecure-skip-tls-verify',
      kubeconfig({ 'certificate-authority-data': b64('x'), 'insecure-skip-tls-verify': true }),
      /insecure-skip-tls-verify/,
    ],
    [
      'an unreadable CA file',
      kubeconfig({ 'certificate-authority': 'nope.crt' }),
      /certificate-authority: ENOENT/,
    ],
    ['an unreadable tokenFile', kubeconfig({}, { tokenFile: 'nope' }), /tokenFile: ENOENT/],
    ['clusters that are not a list', { ...kubeconfig(), clusters: {} }, /clusters is not a list/],
  ])('%s is EKUBE_CONFIG with a clear message', (_what, cfg, re) => {
    const e = loadError(() => load(cfg));
    expect(e.code).toBe('EKUBE_CONFIG');
    expect(e.message).toMatch(re);
  });

  it('malformed YAML is EKUBE_CONFIG naming the file', () => {
    const file = write('bad', 'clusters: [\n');
    const e = loadError(() => loadKubeAuth({ kubeconfig: file }));
    expect(e.code).toBe('EKUBE_CONFIG');
    expect(e.message).toContain(file);
  });
});

describe('KubeClient with the loader', () => {
  it('sends the token file content and picks up a rotated token after the period', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.setHeader('Content-Type', 'application/json');
      res.end('{"kind":"Status"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    write('tok', 'one');
    let t = 0;
    const client = new KubeClient(
      load(kubeconfig({ server: `http://127.0.0.1:${port}` }, { tokenFile: 'tok' }), () => t),
    );
    try {
      await client.get('/version');
      write('tok', 'two');
      t += TOKEN_FILE_PERIOD_MS;
      await client.get('/version');
      expect(seen).toEqual(['Bearer one', 'Bearer two']);
    } finally {
      client.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('kubeconfig loader: file formats', () => {
  it('reads JSON and YAML (also YAML flow style starting with "{")', async () => {
    const cfg = kubeconfig({}, { token: 't' });
    const json = loadKubeAuth({ kubeconfig: write('json', JSON.stringify(cfg)) });
    // Flow-style YAML: starts with '{' but is not JSON (unquoted keys and values).
    const flow = loadKubeAuth({
      kubeconfig: write(
        'flow',
        '{ current-context: ctx, clusters: [{ name: c, cluster: { server: "https://api.example:6443" } }],' +
          ' users: [{ name: u, user: { token: t } }], contexts: [{ name: ctx, context: { cluster: c, user: u } }] }',
      ),
    });
    for (const auth of [json, flow, load(cfg)]) {
      expect(auth.server).toBe('https://api.example:6443');
      expect(await auth.headers()).toEqual({ Authorization: 'Bearer t' });
    }
  });
});
