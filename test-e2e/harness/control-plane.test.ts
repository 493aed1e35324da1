import { existsSync, readFileSync } from 'node:fs';
import { AuthenticationV1Api, CoreV1Api, ApiException } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { kubectl, skipUnlessIntegrationPrereqs } from './jest.js';

skipUnlessIntegrationPrereqs({ root: false, tools: ['etcd', 'kube-apiserver', 'kubectl'] });

const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('control plane harness', () => {
  let cp: ControlPlane;
  let pids: number[];
  const sigintListeners = process.listenerCount('SIGINT');

  beforeAll(async () => {
    cp = await startControlPlane({ installCrds: true });
    pids = readFileSync(`${cp.dataDir}/pids`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => Number(l.split(' ')[0]));
    console.log(
      `control plane ${cp.server} ready in ${cp.startupMs}ms ${JSON.stringify(cp.timings)} (logs: ${cp.logDir})`,
    );
  }, 90_000);

  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the core API to the admin: create and read a ConfigMap', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'smoke' }, data: { hello: 'world' } },
    });
    const cm = await core.readNamespacedConfigMap({ name: 'smoke', namespace: 'default' });
    expect(cm.data).toEqual({ hello: 'world' });
  });

  it('enforces RBAC: an unprivileged service account cannot list nodes', async () => {
    const token = await cp.tokenFor('smoke', 'nobody');
    const core = cp.kubeConfigForToken(token).makeApiClient(CoreV1Api);
    const err = await core.listNode().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(403);
  });

  it('binds a token to a Node: the user info carries the node-name extra', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: 'node-a' } } });
    const token = await cp.tokenFor('kube-system', 'agent', { nodeName: 'node-a' });
    const auth = cp.kubeConfigForToken(token).makeApiClient(AuthenticationV1Api);
    const review = await auth.createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status?.userInfo?.username).toBe('system:serviceaccount:kube-system:agent');
    expect(review.status?.userInfo?.extra?.[NODE_NAME_EXTRA]).toEqual(['node-a']);
  });

  it('runs kubectl with the admin kubeconfig and with a token kubeconfig', async () => {
    const version = await kubectl(cp, ['version', '-o', 'json']);
    expect(version.code).toBe(0);
    const v = JSON.parse(version.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(v.clientVersion.gitVersion).toBe(v.serverVersion.gitVersion);

    const applied = await kubectl(cp, ['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'from-kubectl', namespace: 'default' },
      }),
    });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const kubeconfig = await cp.kubeconfigFileForToken(await cp.tokenFor('smoke', 'nobody'));
    const denied = await kubectl(cp, ['get', 'nodes'], { kubeconfig });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/);
  });

  it('enforces ValidatingAdmissionPolicies', async () => {
    const policy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'no-forbidden-configmaps' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE'],
              resources: ['configmaps'],
            },
          ],
        },
        validations: [
          { expression: "!has(object.data) || !('forbidden' in object.data)", message: 'no' },
        ],
      },
    };
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'no-forbidden-configmaps' },
      spec: { policyName: 'no-forbidden-configmaps', validationActions: ['Deny'] },
    };
    const applied = await kubectl(cp, ['apply', '--server-side', '-f', '-'], {
      input: [policy, binding].map((o) => JSON.stringify(o)).join('\n'),
    });
    expect(applied.code).toBe(0);
    // Policies take effect asynchronously (the admission plugin's informer must see them).
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    let denied: unknown;
    for (let i = 0; i < 100 && !denied; i++) {
      denied = await core
        .createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { generateName: 'vap-' }, data: { forbidden: 'x' } },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      if (!denied) await new Promise((r) => setTimeout(r, 100));
    }
    expect((denied as ApiException<unknown>).code).toBe(422);
    expect(String((denied as ApiException<unknown>).body)).toMatch(/no-forbidden-configmaps/);
  });

  it('stop() leaves no process and no data behind', async () => {
    expect(pids.length).toBe(2);
    expect(pids.every(alive)).toBe(true);
    await cp.stop();
    expect(pids.some(alive)).toBe(false);
    expect(existsSync(cp.dataDir)).toBe(false);
    expect(process.listenerCount('SIGINT')).toBe(sigintListeners);
    await cp.stop(); // idempotent
  });
});
