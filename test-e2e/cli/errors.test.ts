/**
 * CLI failures that depend on the cluster, against a REAL API server WITHOUT the CRDs:
 * missing CRDs, an unreachable server, and a user without RBAC.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { useControlPlane } from '../harness/jest.js';
import { KubeClient } from '../../src/kube/client.js';
import { FLANNEL_NS, ensureNamespace, flannelConfigMap, flannelNode, runCli } from './helpers.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

const cp = useControlPlane({ installCrds: false, build: true });

beforeAll(async () => {
  const client = new KubeClient(clientNodeAuth(cp().kubeConfig));
  try {
    await ensureNamespace(cp(), FLANNEL_NS);
    await client.create(
      `/api/v1/namespaces/${FLANNEL_NS}/configmaps`,
      flannelConfigMap('kube-flannel-cfg', {
        Network: '10.244.0.0/16',
        Backend: { Type: 'vxlan' },
      }),
    );
    await client.create(
      '/api/v1/nodes',
      flannelNode({
        name: 'w0',
        podCIDR: '10.244.0.0/24',
        ip: '192.168.9.1',
        vtepMAC: '02:00:00:00:00:01',
      }),
    );
  } finally {
    client.close();
  }
}, 60_000);

it('status and migrate say the CRDs are missing', async () => {
  const kc = cp().kubeconfigPath;
  const s = await runCli(['status', '--kubeconfig', kc]);
  expect(s.code).toBe(1);
  expect(s.stdout).toBe('');
  expect(s.stderr).toContain(
    'error: the flannel-operator CRDs (flannelnetworks, subnetleases) are not installed [ECLI_NO_CRD]',
  );
  const m = await runCli(['migrate', '--apply', '--kubeconfig', kc]);
  expect(m.code).toBe(1);
  expect(m.stderr).toContain('[ECLI_NO_CRD]');
}, 60_000);

it('an unreachable API server is reported as such', async () => {
  const file = join(cp().dataDir, 'unreachable.kubeconfig');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  const r = await runCli(['status', '--kubeconfig', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^error: cannot reach the API server: .*ECONNREFUSED.* \[ECLI_UNREACHABLE\]\nhint: check --kubeconfig/,
  );
}, 60_000);

it('a user without RBAC gets ECLI_FORBIDDEN with the permissions needed', async () => {
  const token = await cp().tokenFor('default', 'nobody');
  const file = await cp().kubeconfigFileForToken(token);
  const r = await runCli(['migrate', '--kubeconfig', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('[ECLI_FORBIDDEN]');
  expect(r.stderr).toContain('hint: status and doctor need get/list on flannelnetworks');
}, 60_000);
