import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfigError } from './auth.js';
import { loadKubeAuthWithPlugins } from './load-auth.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'load-auth-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(user: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'config');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443' } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
      ...extra,
    }),
  );
  return file;
}

describe('controller credentials (small loader, client-node only for plugins)', () => {
  it('a token kubeconfig is served by the small loader', async () => {
    const auth = await loadKubeAuthWithPlugins({ kubeconfig: config({ token: 'abc' }), env: {} });
    expect(auth.server).toBe('https://api.example:6443');
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer abc' });
  });

  it('an exec plugin the small loader refuses runs through client-node', async () => {
    const plugin = join(dir, 'plugin.sh');
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-plugin' },
    };
    writeFileSync(plugin, `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`);
    chmodSync(plugin, 0o755);
    const kubeconfig = config({
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: plugin,
        interactiveMode: 'Never',
      },
    });
    const auth = await loadKubeAuthWithPlugins({ kubeconfig, env: {} });
    expect(auth.server).toBe('https://api.example:6443');
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer from-plugin' });
  });

  it('a broken kubeconfig is an error of its own, not a reason to try client-node', async () => {
    const err = await loadKubeAuthWithPlugins({
      kubeconfig: config({ token: 'abc' }, { 'current-context': 'missing' }),
      env: {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as KubeConfigError).code).toBe('EKUBE_CONFIG');
    expect((err as Error).message).toMatch(/context "missing" not found/);
  });
});
