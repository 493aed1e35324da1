/**
 * The agent's kubeconfig / in-cluster loader against a real kube-apiserver: client certificates,
 * CA verification, token files, in-cluster service account tokens and their rotation. Who the
 * server thinks we are comes from a SelfSubjectReview.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { useControlPlane } from '../harness/jest.js';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import { TOKEN_FILE_PERIOD_MS, loadKubeAuth, type LoadOptions } from '../../src/kube/kubeconfig.js';

const cp = useControlPlane({ installCrds: false });
const NS = 'kube-auth';
let dir: string;
const clients: KubeClient[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-auth-'));
});
afterAll(() => {
  for (const c of clients) c.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function whoami(opts: LoadOptions): Promise<string> {
  const client = new KubeClient(loadKubeAuth({ env: {}, ...opts }));
  clients.push(client);
  const r = await client.create<{ status: { userInfo: { username: string } } }>(
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  );
  return r.status.userInfo.username;
}

function tokenKubeconfig(user: Record<string, string>, cluster: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: cp().server, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });
}

describe('kubeconfig loader against a real API server', () => {
  it('client certificate + inline CA (the harness admin kubeconfig)', async () => {
    expect(await whoami({ kubeconfig: cp().kubeconfigPath })).not.toMatch(/anonymous/);
  });

  it('tokenFile + CA file, relative to the kubeconfig, in YAML', async () => {
    write('ca.crt', cp().caPem);
    write('sa-a.token', await cp().tokenFor(NS, 'a'));
    const cfg = tokenKubeconfig({ tokenFile: 'sa-a.token' }, { 'certificate-authority': 'ca.crt' });
    const yamlFile = write('token.yaml', stringify(JSON.parse(cfg)));
    expect(await whoami({ kubeconfig: yamlFile })).toBe(`system:serviceaccount:${NS}:a`);
  });

  it('verifies the server certificate: no CA fails, insecure-skip-tls-verify connects', async () => {
    const token = await cp().tokenFor(NS, 'a');
    const noCA = write('noca.json', tokenKubeconfig({ token }, {}));
    const err = await whoami({ kubeconfig: noCA }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).code).toBe('EKUBE_TRANSPORT');
    const insecure = write(
      'insecure.json',
      tokenKubeconfig({ token }, { 'insecure-skip-tls-verify': true }),
    );
    expect(await whoami({ kubeconfig: insecure })).toBe(`system:serviceaccount:${NS}:a`);
  });

  it('in-cluster: service env, CA and token files; a rotated token is used after the refresh period', async () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'ca.crt'), cp().caPem);
    writeFileSync(join(sa, 'token'), await cp().tokenFor(NS, 'a'));
    const url = new URL(cp().server);
    let now = 0;
    const client = new KubeClient(
      loadKubeAuth({
        env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
        serviceAccountDir: sa,
        now: () => now,
      }),
    );
    clients.push(client);
    const who = async (): Promise<string> =>
      (
        await client.create<{ status: { userInfo: { username: string } } }>(
          '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        )
      ).status.userInfo.username;
    expect(await who()).toBe(`system:serviceaccount:${NS}:a`);
    // kubelet rotates the projected token: a new file content (here another service account, so
    // the server's answer shows which token was sent).
    writeFileSync(join(sa, 'token'), await cp().tokenFor(NS, 'b'));
    now += TOKEN_FILE_PERIOD_MS - 1;
    expect(await who()).toBe(`system:serviceaccount:${NS}:a`);
    now += 1;
    expect(await who()).toBe(`system:serviceaccount:${NS}:b`);
  });
});
