import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeApiError } from '../../kube/client.js';
import { CliError } from './errors.js';
import { kubeConfigFromFlags, translateKubeError } from './kube.js';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: { server: https://127.0.0.1:6443 }
- name: b
  cluster: { server: https://127.0.0.2:6443 }
users:
- name: u
  user: { token: t }
contexts:
- name: ctx-a
  context: { cluster: a, user: u }
- name: ctx-b
  context: { cluster: b, user: u }
current-context: ctx-a
`;

describe('kubeConfigFromFlags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-'));
  const file = join(dir, 'config');
  writeFileSync(file, KUBECONFIG);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads --kubeconfig and switches --context', () => {
    expect(kubeConfigFromFlags({ kubeconfig: file }).getCurrentCluster()!.server).toBe(
      'https://127.0.0.1:6443',
    );
    expect(
      kubeConfigFromFlags({ kubeconfig: file, context: 'ctx-b' }).getCurrentCluster()!.server,
    ).toBe('https://127.0.0.2:6443');
  });
  it('rejects an unknown context as a usage error and a missing file as ECLI_KUBECONFIG', () => {
    expect(() => kubeConfigFromFlags({ kubeconfig: file, context: 'nope' })).toThrow(
      expect.objectContaining({ code: 'ECLI_CONTEXT', exitCode: 2 }),
    );
    expect(() => kubeConfigFromFlags({ kubeconfig: '/does/not/exist' })).toThrow(
      expect.objectContaining({ code: 'ECLI_KUBECONFIG' }),
    );
  });
});

describe('translateKubeError', () => {
  const api = (status: number, method: string, path: string) =>
    new KubeApiError(
      `${method} ${path}: ${status}`,
      status,
      status ? 'NotFound' : 'Transport',
      undefined,
      method,
      path,
    );
  const code = (e: unknown) => (e as CliError).code;

  it('maps transport errors, missing CRDs, 401 and 403', () => {
    expect(code(translateKubeError(api(0, 'GET', '/api/v1/nodes')))).toBe('ECLI_UNREACHABLE');
    expect(
      code(
        translateKubeError(
          api(404, 'GET', '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks'),
        ),
      ),
    ).toBe('ECLI_NO_CRD');
    expect(
      code(
        translateKubeError(
          api(404, 'PATCH', '/apis/network.flannel-operator.io/v1alpha1/subnetleases/a.b'),
        ),
      ),
    ).toBe('ECLI_NO_CRD');
    expect(code(translateKubeError(api(401, 'GET', '/api/v1/nodes')))).toBe('ECLI_UNAUTHORIZED');
    expect(code(translateKubeError(api(403, 'GET', '/api/v1/nodes')))).toBe('ECLI_FORBIDDEN');
  });
  it('leaves a plain object 404 and non-API errors alone', () => {
    const e = api(404, 'GET', '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks/x');
    expect(translateKubeError(e)).toBe(e);
    const other = new Error('x');
    expect(translateKubeError(other)).toBe(other);
  });
});
