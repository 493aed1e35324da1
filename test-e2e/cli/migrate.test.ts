/**
 * `migrate` and `status` against a REAL kube-apiserver: the cluster is set up exactly as upstream
 * flannel leaves it (kube-flannel-cfg ConfigMap, Nodes with podCIDRs, InternalIPs and flannel's
 * annotations including VTEP MACs); the built CLI runs as a separate process.
 */
import { useControlPlane } from '../harness/jest.js';
import { startController, waitFor } from '../controller/helpers.js';
import { KubeClient, isAlreadyExists } from '../../src/kube/client.js';
import type { FlannelNetwork, SubnetLease } from '../../src/api/index.js';
import {
  FLANNEL_NS,
  ensureNamespace,
  flannelConfigMap,
  flannelNode,
  runCli,
  type FlannelNodeSpec,
} from './helpers.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

/** Tests that start the CLI two or three times: node's start-up alone is 2-3 s on a loaded box. */
const CLI_RUNS_BUDGET_MS = 30_000;
const NETWORKS = '/apis/network.flannel-operator.io/v1alpha1/flannelnetworks';
const LEASES = '/apis/network.flannel-operator.io/v1alpha1/subnetleases';

const cp = useControlPlane({ build: true });
let client: KubeClient;
let kc: string;

const NODES: FlannelNodeSpec[] = [
  { name: 'worker-0', podCIDR: '10.244.0.0/24', ip: '192.168.50.10', vtepMAC: '6a:1f:3c:00:00:10' },
  { name: 'worker-1', podCIDR: '10.244.1.0/24', ip: '192.168.50.11', vtepMAC: '6a:1f:3c:00:00:11' },
  { name: 'worker-2', podCIDR: '10.244.2.0/24', ip: '192.168.50.12', vtepMAC: 'AE:2B:7D:90:01:12' },
];
const NET_CONF = { Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan' } };

interface Node {
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: { podCIDR?: string; podCIDRs?: string[] };
}

async function put(obj: Record<string, unknown>, path: string): Promise<void> {
  try {
    await client.create(path, obj);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

async function nodesSnapshot(): Promise<Node[]> {
  return (await client.listAll<Node>('/api/v1/nodes')).items.sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name),
  );
}

beforeAll(async () => {
  client = new KubeClient(clientNodeAuth(cp().kubeConfig));
  kc = cp().kubeconfigPath;
  await ensureNamespace(cp(), FLANNEL_NS);
  await put(
    flannelConfigMap('kube-flannel-cfg', NET_CONF),
    `/api/v1/namespaces/${FLANNEL_NS}/configmaps`,
  );
  for (const n of NODES) await put(flannelNode(n), '/api/v1/nodes');
}, 120_000);

afterAll(() => client?.close());

describe('migrate (upstream flannel install -> FlannelNetwork + SubnetLeases)', () => {
  let before: Node[];

  it('--dry-run prints a v1 List of the objects and writes nothing', async () => {
    before = await nodesSnapshot();
    const r = await runCli(['migrate', '--kubeconfig', kc, '-o', 'json']);
    expect(r.stderr).toContain(
      'dry run: FlannelNetwork default (create) and 3 SubnetLease(s) (3 create)',
    );
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as {
      kind: string;
      items: Array<{ kind: string; metadata: { name: string } }>;
    };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual([
      'FlannelNetwork/default',
      'SubnetLease/default.worker-0',
      'SubnetLease/default.worker-1',
      'SubnetLease/default.worker-2',
    ]);
    const yaml = await runCli(['migrate', '--dry-run', '--kubeconfig', kc]);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^apiVersion: v1\nkind: List\n/);
    expect(yaml.stdout).toContain('vtepMAC: ae:2b:7d:90:01:12');
    expect((await client.listAll(NETWORKS)).items).toEqual([]);
    expect((await client.listAll(LEASES)).items).toEqual([]);
  });

  it('--apply writes the network and one lease per node with identical subnets, IPs and MACs', async () => {
    const r = await runCli(['migrate', '--apply', '--kubeconfig', kc]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'subnetlease.network.flannel-operator.io/default.worker-0 created',
        'subnetlease.network.flannel-operator.io/default.worker-1 created',
        'subnetlease.network.flannel-operator.io/default.worker-2 created',
        'flannelnetwork.network.flannel-operator.io/default created',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toContain(
      'migrated: 3 node(s) keep their subnets and VTEP MACs; nodes were not modified',
    );

    const net = await client.get<
      FlannelNetwork & { metadata: { managedFields: Array<{ manager: string }> } }
    >(`${NETWORKS}/default`);
    expect(net.spec).toMatchObject({
      network: '10.244.0.0/16',
      subnetLen: 24,
      subnetMin: '10.244.0.0',
      backend: { type: 'vxlan', vni: 1, port: 8472, directRouting: false, gbp: false },
      ipMasq: true,
    });
    expect(net.metadata.managedFields.map((m) => m.manager)).toEqual(['kubectl-flannel']);

    const leases = (await client.listAll<SubnetLease>(LEASES)).items.sort((a, b) =>
      a.spec.nodeName.localeCompare(b.spec.nodeName),
    );
    expect(
      leases.map((l) => ({
        name: l.metadata.name,
        labels: l.metadata.labels,
        spec: l.spec,
        status: l.status,
      })),
    ).toEqual(
      NODES.map((n) => ({
        name: `default.${n.name}`,
        labels: {
          'network.flannel-operator.io/network': 'default',
          'network.flannel-operator.io/node': n.name,
        },
        spec: { nodeName: n.name, networkName: 'default', subnet: n.podCIDR },
        status: {
          publicIP: n.ip,
          backend: { type: 'vxlan', vtepMAC: n.vtepMAC!.toLowerCase(), vni: 1 },
        },
      })),
    );
  });

  it('leaves every Node untouched (same resourceVersion, podCIDR and annotations)', async () => {
    const after = await nodesSnapshot();
    expect(
      after.map((n) => [
        n.metadata.name,
        n.metadata.resourceVersion,
        n.spec,
        n.metadata.annotations,
      ]),
    ).toEqual(
      before.map((n) => [
        n.metadata.name,
        n.metadata.resourceVersion,
        n.spec,
        n.metadata.annotations,
      ]),
    );
  });

  it(
    'is idempotent: a rerun reports unchanged and writes nothing',
    async () => {
      const rv = async (): Promise<string[]> => [
        (await client.get<FlannelNetwork>(`${NETWORKS}/default`)).metadata.resourceVersion!,
        ...(await client.listAll<SubnetLease>(LEASES)).items
          .map((l) => `${l.metadata.name}@${l.metadata.resourceVersion}`)
          .sort(),
      ];
      const rvBefore = await rv();
      const r = await runCli(['migrate', '--apply', '--kubeconfig', kc]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([
        'subnetlease.network.flannel-operator.io/default.worker-0 unchanged',
        'subnetlease.network.flannel-operator.io/default.worker-1 unchanged',
        'subnetlease.network.flannel-operator.io/default.worker-2 unchanged',
        'flannelnetwork.network.flannel-operator.io/default unchanged',
      ]);
      expect(await rv()).toEqual(rvBefore);
      const dry = await runCli(['migrate', '--kubeconfig', kc, '-o', 'json']);
      expect(dry.code).toBe(0);
      expect(dry.stderr).toContain(
        'FlannelNetwork default (unchanged) and 3 SubnetLease(s) (3 unchanged)',
      );
    },
    CLI_RUNS_BUDGET_MS,
  );
});

describe('status against the migrated state', () => {
  it('-o json: one network, three leases, three consistent nodes', async () => {
    const r = await runCli(['status', '--kubeconfig', kc, '-o', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.kind).toBe('StatusReport');
    expect(report.summary).toMatchObject({ networks: 1, leases: 3, nodes: 3, nodesConsistent: 3 });
    expect(
      report.leases.map(
        (l: { node: string; subnet: string; vtepMAC: string; publicIP: string }) => [
          l.node,
          l.subnet,
          l.publicIP,
          l.vtepMAC,
        ],
      ),
    ).toEqual(NODES.map((n) => [n.name, n.podCIDR, n.ip, n.vtepMAC!.toLowerCase()]));
    // No controller or agents run here: the network has no Ready condition yet and no agent reported.
    expect(report.healthy).toBe(false);
    expect([...new Set(report.warnings.map((w: { code: string }) => w.code))].sort()).toEqual([
      'LeaseNotReady',
      'NetworkNotReady',
    ]);
  });

  it(
    'table and wide output',
    async () => {
      const r = await runCli(['status', '--kubeconfig', kc]);
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('NETWORKS');
      expect(lines[1]).toMatch(
        /^NAME\s+NETWORK\s+BACKEND\s+VNI\s+CAPACITY\s+ALLOCATED\s+FREE\s+STATUS\s+DATAPLANE\s+AGE$/,
      );
      expect(lines[2]).toMatch(
        /^default\s+10\.244\.0\.0\/16\s+vxlan\s+1\s+-\s+3\s+-\s+Unknown\s+-\s+\d+s$/,
      );
      expect(r.stdout).toMatch(
        /worker-2\s+default\s+10\.244\.2\.0\/24\s+192\.168\.50\.12\s+ae:2b:7d:90:01:12\s+Unknown/,
      );
      expect(r.stdout).toMatch(/worker-0\s+default\s+10\.244\.0\.0\/24\s+yes\s+yes/);
      expect(r.stdout).toContain(
        'HEALTH: WARNING - 0/1 networks ready, 0/3 leases ready, 3/3 nodes consistent',
      );
      const wide = await runCli([
        'status',
        '--kubeconfig',
        kc,
        '-o',
        'wide',
        '--network',
        'default',
      ]);
      expect(wide.stdout).toMatch(/NAME\s+NETWORK\s+PUBLIC-IP|INTERNAL-IP/);
      expect(wide.stdout).toMatch(
        /worker-1\s+default\s+10\.244\.1\.0\/24\s+yes\s+yes\s+192\.168\.50\.11\s+default\.worker-1\s+10\.244\.1\.0\/24/,
      );
      const yaml = await runCli(['status', '--kubeconfig', kc, '-o', 'yaml', '--network', 'nope']);
      expect(yaml.code).toBe(0);
      expect(yaml.stderr).toContain('FlannelNetwork "nope" not found');
      expect(yaml.stdout).toContain('kind: StatusReport');
    },
    CLI_RUNS_BUDGET_MS,
  );
});

describe('migrate refuses what it cannot convert (exit 1, nothing written)', () => {
  const cm = async (name: string, netConf: unknown): Promise<void> =>
    put(flannelConfigMap(name, netConf), `/api/v1/namespaces/${FLANNEL_NS}/configmaps`);

  it('missing ConfigMap', async () => {
    const r = await runCli(['migrate', '--kubeconfig', kc, '--namespace', 'nowhere']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: flannel ConfigMap not found (tried nowhere/kube-flannel-cfg) [EMIGRATE_NO_CONFIGMAP]\n' +
        'hint: pass --namespace and --configmap of the ConfigMap that holds net-conf.json\n',
    );
  });

  it('falls back to kube-system', async () => {
    await put(
      flannelConfigMap('kube-flannel-cfg-sys', NET_CONF, 'kube-system'),
      '/api/v1/namespaces/kube-system/configmaps',
    );
    const r = await runCli([
      'migrate',
      '--kubeconfig',
      kc,
      '--configmap',
      'kube-flannel-cfg-sys',
      '-o',
      'json',
    ]);
    expect(r.stderr).toContain('reading kube-system/kube-flannel-cfg-sys');
    expect(r.code).toBe(0);
  });

  it('unsupported backend', async () => {
    await cm('cfg-ipsec', { Network: '10.244.0.0/16', Backend: { Type: 'ipsec' } });
    const r = await runCli([
      'migrate',
      '--apply',
      '--kubeconfig',
      kc,
      '--configmap',
      'cfg-ipsec',
      '--name',
      'ipsec',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: backend "ipsec" cannot be migrated: the operator runs vxlan (with optional directRouting), host-gw and wireguard [EMIGRATE_UNSUPPORTED_BACKEND]',
    );
    expect(r.stderr).toContain(
      'hint: ipsec encrypts pod traffic and the operator does not: keep upstream flannel',
    );
    expect(r.stderr).toContain('nothing written');
    expect((await client.listAll(NETWORKS)).items).toHaveLength(1);
  });

  it('malformed net-conf.json, with the position', async () => {
    await cm('cfg-broken', '{\n  "Network": "10.244.0.0/16",\n  "Backend": { "Type": "vxlan" \n}');
    const r = await runCli(['migrate', '--kubeconfig', kc, '--configmap', 'cfg-broken']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: net-conf\.json in configmap\/kube-flannel\/cfg-broken is not valid JSON: .* \(line 4, column 2.*\) \[EMIGRATE_NETCONF_JSON\]/,
    );
  });

  it('podCIDR size != SubnetLen, for every node', async () => {
    await cm('cfg-25', { Network: '10.244.0.0/16', SubnetLen: 25, Backend: { Type: 'vxlan' } });
    const r = await runCli(['migrate', '--kubeconfig', kc, '--configmap', 'cfg-25', '--name', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/\[EMIGRATE_PODCIDR_SIZE\]/g)).toHaveLength(3);
    expect(r.stderr).toContain(
      'error: node worker-0 podCIDR 10.244.0.0/24 is a /24, but SubnetLen is /25 [EMIGRATE_PODCIDR_SIZE]',
    );
  });

  it('podCIDR outside Network', async () => {
    await cm('cfg-other', { Network: '10.50.0.0/16', Backend: { Type: 'vxlan' } });
    const r = await runCli([
      'migrate',
      '--kubeconfig',
      kc,
      '--configmap',
      'cfg-other',
      '--name',
      'x',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: node worker-1 podCIDR 10.244.1.0/24 is outside Network 10.50.0.0/16 [EMIGRATE_PODCIDR_OUTSIDE]',
    );
  });

  it('EnableIPv4=false without IPv6', async () => {
    await cm('cfg-nov4', {
      Network: '10.244.0.0/16',
      EnableIPv4: false,
      Backend: { Type: 'vxlan' },
    });
    const r = await runCli([
      'migrate',
      '--kubeconfig',
      kc,
      '--configmap',
      'cfg-nov4',
      '--name',
      'x',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[EMIGRATE_NO_ADDRESS_FAMILY]');
  });

  it(
    'conflicting existing FlannelNetwork',
    async () => {
      await cm('cfg-vni2', { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 2 } });
      const r = await runCli(['migrate', '--apply', '--kubeconfig', kc, '--configmap', 'cfg-vni2']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'error: FlannelNetwork default already exists with a different spec (backend.vni: existing 1, flannel 2) [EMIGRATE_NETWORK_CONFLICT]',
      );
      const other = await runCli([
        'migrate',
        '--apply',
        '--kubeconfig',
        kc,
        '--configmap',
        'cfg-vni2',
        '--name',
        'second',
      ]);
      expect(other.code).toBe(1);
      expect(other.stderr).toContain(
        'FlannelNetwork default already uses overlapping addresses (10.244.0.0/16) [EMIGRATE_NETWORK_CONFLICT]',
      );
    },
    CLI_RUNS_BUDGET_MS,
  );

  it('a node without podCIDR', async () => {
    await put(flannelNode({ name: 'fresh', ip: '192.168.50.99' }), '/api/v1/nodes');
    try {
      const r = await runCli(['migrate', '--kubeconfig', kc]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: node fresh has no podCIDR [EMIGRATE_NO_PODCIDR]');
    } finally {
      await client.delete('/api/v1/nodes/fresh');
    }
  });

  it(
    'usage errors exit 2',
    async () => {
      expect((await runCli(['migrate', '--apply', '--dry-run'])).code).toBe(2);
      const bad = await runCli(['migrate', '--kubeconfig', kc, '--bogus']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe("error: Unknown option '--bogus'. [ECLI_USAGE]\n");
      const ctx = await runCli(['status', '--kubeconfig', kc, '--context', 'nope']);
      expect(ctx.code).toBe(2);
      expect(ctx.stderr).toContain('[ECLI_CONTEXT]');
      expect((await runCli(['migrate', '--kubeconfig', kc, '-o', 'wide'])).code).toBe(2);
    },
    CLI_RUNS_BUDGET_MS,
  );
});

describe('the controller takes over the migrated network', () => {
  it('adopts every lease as is: same subnets and MACs, nodes untouched, capacity reported', async () => {
    const before = await nodesSnapshot();
    const leasesBefore = (await client.listAll<SubnetLease>(LEASES)).items
      .map((l) => [l.metadata.name, l.spec.subnet, l.status?.backend?.vtepMAC])
      .sort();
    const ctrl = await startController({ kubeconfigPath: kc, name: 'cli-migrate' });
    try {
      const net = await waitFor(
        'controller status on the migrated network',
        async () => {
          const n = await client.get<FlannelNetwork>(`${NETWORKS}/default`);
          return n.status?.allocated === 3 && n.status.observedGeneration === n.metadata.generation
            ? n
            : undefined;
        },
        30_000,
      );
      expect(net.status).toMatchObject({ capacity: 256, allocated: 3, free: 253 });
      const leasesAfter = (await client.listAll<SubnetLease>(LEASES)).items
        .map((l) => [l.metadata.name, l.spec.subnet, l.status?.backend?.vtepMAC])
        .sort();
      expect(leasesAfter).toEqual(leasesBefore);
      const after = await nodesSnapshot();
      expect(after.map((n) => [n.metadata.name, n.spec, n.metadata.annotations])).toEqual(
        before.map((n) => [n.metadata.name, n.spec, n.metadata.annotations]),
      );
      const r = await runCli(['status', '--kubeconfig', kc, '-o', 'json']);
      const report = JSON.parse(r.stdout);
      expect(report.networks[0]).toMatchObject({
        name: 'default',
        capacity: 256,
        allocated: 3,
        free: 253,
      });
      expect(report.warnings.map((w: { code: string }) => w.code)).not.toContain('PodCIDRMismatch');
      // The rerun stays a no-op with the controller as co-owner.
      const rerun = await runCli(['migrate', '--apply', '--kubeconfig', kc]);
      expect(rerun.code).toBe(0);
      expect(rerun.stdout).not.toMatch(/created|configured/);
    } finally {
      await ctrl.kill();
    }
  }, 90_000);
});
