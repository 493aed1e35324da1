/**
 * Admission of FlannelNetwork and SubnetLease by a real kube-apiserver with the generated CRDs:
 * schema defaults, every CEL rule (exact messages, shared with the zod twins via
 * src/api/testing/cases.ts), transition rules, idempotent server-side apply, selectable fields.
 */
import { kubectl, useControlPlane, itNeeds } from '../harness/jest.js';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import { parseFlannelNetwork } from '../../src/api/parse.js';
import { leaseLabels, leaseName } from '../../src/api/names.js';
import {
  INVALID_SPECS,
  INVALID_TRANSITIONS,
  VALID_SPECS,
  VALID_TRANSITIONS,
} from '../../src/api/testing/cases.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

const API = 'network.flannel-operator.io/v1alpha1';
const NETWORKS = `/apis/${API}/flannelnetworks`;
const LEASES = `/apis/${API}/subnetleases`;
const MANAGER = 'admission-test';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
  };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const cp = useControlPlane();
let client: KubeClient;
let seq = 0;

beforeAll(() => {
  client = new KubeClient(clientNodeAuth(cp().kubeConfig), { userAgent: MANAGER });
});
afterAll(() => client?.close());

const network = (name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: API,
  kind: 'FlannelNetwork',
  metadata: { name },
  spec,
});

const lease = (name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: API,
  kind: 'SubnetLease',
  metadata: { name, labels: leaseLabels(String(spec.networkName), String(spec.nodeName)) },
  spec,
});

const apply = (obj: Obj) =>
  client.apply<Obj>(obj as Obj & Record<string, unknown>, { fieldManager: MANAGER, force: true });
const applyStatus = (obj: Obj) =>
  client.applyStatus<Obj>(obj as Obj & Record<string, unknown>, {
    fieldManager: MANAGER,
    force: true,
  });

/** The rejection of `op`, as [{field, message}] with the "Invalid value: ...: " prefixes removed. */
async function rejection(
  op: () => Promise<unknown>,
): Promise<Array<{ field: string; message: string }>> {
  let err: unknown;
  try {
    await op();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KubeApiError);
  const e = err as KubeApiError;
  expect({ status: e.status, reason: e.reason }).toEqual({ status: 422, reason: 'Invalid' });
  return (e.details?.causes ?? []).map((c) => ({
    field: c.field ?? '',
    message: (c.message ?? '').replace(
      /^(Invalid value: "[^"]*": |Forbidden: |Required value: )/,
      '',
    ),
  }));
}

const uniqueName = (base: string) =>
  `${base
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 50)}-${++seq}`;

describe('FlannelNetwork admission', () => {
  it.each(Object.entries(VALID_SPECS))(
    'accepts %s and fills in the schema defaults like zod does',
    async (name, spec) => {
      const created = await apply(network(uniqueName(name), spec));
      // The API server's defaults and the operator's parse defaults agree.
      expect(created.spec).toEqual(parseFlannelNetwork(network('x', spec)).spec);
      expect(created.spec.backend).toMatchObject({ port: 8472, gbp: false });
    },
  );

  it.each(INVALID_SPECS.map((c) => [c.name, c] as const))(
    'rejects %s with the exact message',
    async (_n, c) => {
      const causes = await rejection(() => apply(network(uniqueName(c.name), c.spec)));
      expect(causes).toEqual(c.errors);
    },
  );

  it('rejects names that are not DNS labels', async () => {
    const causes = await rejection(() => apply(network('two.parts', { network: '10.1.0.0/16' })));
    expect(causes).toContainEqual({
      field: '<nil>',
      message:
        "FlannelNetwork names must be DNS labels (at most 63 lowercase letters, digits and '-'): they are part of lease names and labels",
    });
  });

  it('server-side apply of the same object twice changes nothing', async () => {
    const obj = network('ssa-idempotent', {
      network: '10.30.0.0/16',
      backend: { type: 'vxlan', vni: 7, directRouting: true },
      nodeSelector: { matchLabels: { pool: 'a' } },
    });
    const first = await apply(obj);
    // No controller writes status here, so the first update stores the CRD's status default
    // ({observedGeneration: 0}, see crd.ts) once; spec and generation never change.
    const second = await apply(obj);
    expect(second.spec).toEqual(first.spec);
    expect(second.metadata.generation).toBe(1);
    const settled = await apply(obj);
    expect(settled.metadata.resourceVersion).toBe(second.metadata.resourceVersion);
    // Applying the defaulted spec as read back changes ownership (managedFields) only once, then
    // is stable too (GitOps tools that render defaults converge).
    const third = await apply(network('ssa-idempotent', second.spec));
    expect(third.spec).toEqual(second.spec);
    expect(third.metadata.generation).toBe(1);
    const fourth = await apply(network('ssa-idempotent', second.spec));
    expect(fourth.metadata.resourceVersion).toBe(third.metadata.resourceVersion);
  });

  it.each(INVALID_TRANSITIONS.map((c) => [c.name, c] as const))(
    'rejects the update: %s',
    async (_n, c) => {
      const name = uniqueName(c.name);
      const before = await apply(network(name, c.from));
      const causes = await rejection(() => apply(network(name, c.to)));
      expect(causes).toEqual(c.errors);
      const after = await client.get<Obj>(`${NETWORKS}/${name}`);
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    },
  );

  it.each(VALID_TRANSITIONS.map((c) => [c.name, c] as const))(
    'allows the update: %s',
    async (_n, c) => {
      const name = uniqueName(c.name);
      await apply(network(name, c.from));
      const after = await apply(network(name, c.to));
      expect(after.metadata.generation).toBe(2);
    },
  );

  it('status writes do not bump the generation', async () => {
    const created = await apply(network('status-writes', { network: '10.31.0.0/16' }));
    const updated = await applyStatus({
      ...network('status-writes', {}),
      spec: undefined as unknown as Record<string, unknown>,
      status: {
        observedGeneration: 1,
        capacity: 255,
        allocated: 0,
        free: 255,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            observedGeneration: 1,
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            reason: 'Reconciled',
            message: 'ok',
          },
        ],
      },
    });
    expect(updated.metadata.generation).toBe(created.metadata.generation);
    expect(updated.status).toMatchObject({ capacity: 255, free: 255 });
  });
});

describe('SubnetLease admission', () => {
  const base = { nodeName: 'node-a', networkName: 'pods', subnet: '10.244.1.0/24' };
  const name = leaseName('pods', 'node-a');

  beforeAll(async () => {
    await apply(lease(name, base));
    await apply(lease(leaseName('pods', 'node-b'), { nodeName: 'node-b', networkName: 'pods' }));
  });

  it.each([
    ['nodeName', { ...base, nodeName: 'node-z' }, 'spec.nodeName', 'nodeName is immutable'],
    [
      'networkName',
      { ...base, networkName: 'other' },
      'spec.networkName',
      'networkName is immutable',
    ],
    ['subnet', { ...base, subnet: '10.244.2.0/24' }, 'spec.subnet', 'subnet is immutable once set'],
  ])('keeps %s immutable', async (_n, spec, field, message) => {
    expect(await rejection(() => apply(lease(name, spec)))).toEqual([{ field, message }]);
  });

  it('refuses to drop a subnet once set', async () => {
    const { subnet: _subnet, ...rest } = base;
    void _subnet;
    // SSA: leaving a field out of the applied object removes it when this manager owns it.
    expect(await rejection(() => apply(lease(name, rest)))).toEqual([
      { field: 'spec.subnet', message: 'subnet is immutable once set' },
    ]);
  });

  it('allows setting a subnet that was unset', async () => {
    const b = await apply(
      lease(leaseName('pods', 'node-b'), {
        nodeName: 'node-b',
        networkName: 'pods',
        ipv6Subnet: 'fd00:0:0:2::/64',
      }),
    );
    expect(b.spec.ipv6Subnet).toBe('fd00:0:0:2::/64');
  });

  it.each([
    [
      'subnet not canonical',
      { subnet: '10.244.3.1/24' },
      'spec.subnet',
      'subnet must be an IPv4 CIDR in canonical form (host bits zero)',
    ],
    [
      'ipv6Subnet of the wrong family',
      { ipv6Subnet: '10.1.0.0/24' },
      'spec.ipv6Subnet',
      'ipv6Subnet must be an IPv6 CIDR in canonical form (host bits zero)',
    ],
  ])('rejects %s', async (_n, extra, field, message) => {
    const spec = { nodeName: 'node-c', networkName: 'pods', ...extra };
    expect(await rejection(() => apply(lease(leaseName('pods', `c${++seq}`), spec)))).toEqual([
      { field, message },
    ]);
  });

  it('rejects a lease subnet of the whole address space', async () => {
    const spec = { nodeName: 'node-w', networkName: 'pods', subnet: '0.0.0.0/0' };
    expect(await rejection(() => apply(lease(leaseName('pods', 'node-w'), spec)))).toEqual([
      { field: 'spec.subnet', message: 'subnet must not be wider than /8' },
      ...[
        '0.0.0.0/8 ("this network")',
        '127.0.0.0/8 (loopback)',
        '169.254.0.0/16 (link-local)',
        '224.0.0.0/4 (multicast)',
        '240.0.0.0/4 (reserved, with the broadcast address)',
      ].map((r) => ({ field: 'spec.subnet', message: `subnet must not overlap ${r}` })),
    ]);
  });

  it.each([
    ['uppercase', 'Node-A'],
    ['underscore', 'node_a'],
    ['slash', 'a/b'],
  ])('rejects a nodeName that is no Node name (%s)', async (_n, nodeName) => {
    const spec = { nodeName, networkName: 'pods', subnet: '10.244.9.0/24' };
    expect(await rejection(() => apply(lease(`pods.bad-node-${++seq}`, spec)))).toEqual([
      {
        field: 'spec.nodeName',
        message:
          "nodeName must be a Node name: a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)",
      },
    ]);
  });

  it.each([
    ['loopback', { publicIP: '127.0.0.1' }, 'publicIP'],
    ['multicast', { publicIP: '224.0.0.1' }, 'publicIP'],
    ['unspecified', { publicIP: '0.0.0.0' }, 'publicIP'],
    ['broadcast', { publicIP: '255.255.255.255' }, 'publicIP'],
    ['link-local', { publicIP: '169.254.10.1' }, 'publicIP'],
    ['IPv6 loopback', { publicIPv6: '::1' }, 'publicIPv6'],
    ['IPv6 unspecified', { publicIPv6: '::' }, 'publicIPv6'],
    ['IPv6 multicast', { publicIPv6: 'ff02::1' }, 'publicIPv6'],
    ['IPv6 link-local', { publicIPv6: 'fe80::1' }, 'publicIPv6'],
  ])('rejects a %s status address', async (_n, status, field) => {
    const obj = {
      ...lease(name, base),
      spec: undefined as unknown as Record<string, unknown>,
      status,
    };
    expect(await rejection(() => applyStatus(obj))).toEqual([
      {
        field: `status.${field}`,
        message: `${field} must be a unicast address (not unspecified, loopback, link-local, multicast or broadcast)`,
      },
    ]);
  });

  it.each([
    ['publicIP', { publicIP: '10.0.0.300' }, 'status.publicIP', 'publicIP must be an IPv4 address'],
    [
      'publicIPv6',
      { publicIPv6: '10.0.0.3' },
      'status.publicIPv6',
      'publicIPv6 must be an IPv6 address',
    ],
    [
      'vtepMAC',
      { backend: { type: 'vxlan', vtepMAC: '0a:58:0a:f4:01' } },
      'status.backend.vtepMAC',
      'vtepMAC must be a MAC address such as 0a:58:0a:f4:01:01',
    ],
    ...[
      ['not base64', 'not-a-key'],
      ['31 bytes', `${'A'.repeat(41)}E==`],
      ['non-canonical base64 (last char)', `${'A'.repeat(42)}B=`],
      ['all-zero key', `${'A'.repeat(43)}=`],
    ].map(([what, publicKey]): [string, Record<string, unknown>, string, string] => [
      `publicKey (${what!})`,
      { backend: { type: 'wireguard', publicKey } },
      'status.backend.publicKey',
      "publicKey must be a WireGuard public key: 32 bytes in base64 (44 characters ending in '='), not all zero",
    ]),
  ])('rejects an invalid status %s', async (_n, status, field, message) => {
    const obj = {
      ...lease(name, base),
      spec: undefined as unknown as Record<string, unknown>,
      status,
    };
    expect(await rejection(() => applyStatus(obj))).toEqual([{ field, message }]);
  });

  it('accepts a valid status from the agent', async () => {
    const obj = {
      ...lease(name, base),
      spec: undefined as unknown as Record<string, unknown>,
      status: {
        publicIP: '192.168.1.10',
        backend: { type: 'vxlan', vtepMAC: '0a:58:0a:f4:01:01', vni: 1 },
      },
    };
    const got = await applyStatus(obj);
    expect(got.status).toMatchObject({ publicIP: '192.168.1.10' });
  });

  it('accepts a wireguard status with a public key', async () => {
    const publicKey = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
    const obj = {
      ...lease(name, base),
      spec: undefined as unknown as Record<string, unknown>,
      status: { publicIP: '192.168.1.10', backend: { type: 'wireguard', publicKey } },
    };
    const got = await applyStatus(obj);
    expect(got.status?.backend).toEqual({ type: 'wireguard', publicKey });
    // Back to the vxlan status the printer-column test below reads.
    await applyStatus({
      ...obj,
      status: {
        publicIP: '192.168.1.10',
        backend: { type: 'vxlan', vtepMAC: '0a:58:0a:f4:01:01', vni: 1 },
      },
    });
  });

  it('supports field selectors on spec.nodeName and spec.networkName', async () => {
    const byNode = await client.list<Obj>(LEASES, { fieldSelector: 'spec.nodeName=node-a' });
    expect(byNode.items.map((l) => l.metadata.name)).toEqual([name]);
    const byNet = await client.list<Obj>(LEASES, { fieldSelector: 'spec.networkName=pods' });
    expect(byNet.items.length).toBeGreaterThanOrEqual(2);
  });
});

describe('kubectl view', () => {
  itNeeds(
    { tools: ['kubectl'] },
    'prints the printer columns, short names and the flannel category',
    async () => {
      const nets = await kubectl(cp(), ['get', 'fnet', 'ssa-idempotent']);
      expect(nets.stderr).toBe('');
      expect(nets.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
        'NAME',
        'NETWORK',
        'BACKEND',
        'VNI',
        'ALLOCATED',
        'FREE',
        'READY',
        'AGE',
      ]);
      expect(nets.stdout).toMatch(/ssa-idempotent\s+10\.30\.0\.0\/16\s+vxlan\s+7\s/);
      const leases = await kubectl(cp(), ['get', 'slease', 'pods.node-a']);
      expect(leases.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
        'NAME',
        'NODE',
        'NETWORK',
        'SUBNET',
        'PUBLIC',
        'IP',
        'BACKEND',
        'AGE',
      ]);
      expect(leases.stdout).toMatch(
        /pods\.node-a\s+node-a\s+pods\s+10\.244\.1\.0\/24\s+192\.168\.1\.10\s+vxlan/,
      );
      const all = await kubectl(cp(), ['get', 'flannel', '-o', 'name']);
      expect(all.stdout).toContain('flannelnetwork.network.flannel-operator.io/ssa-idempotent');
      expect(all.stdout).toContain('subnetlease.network.flannel-operator.io/pods.node-a');
    },
  );
});
