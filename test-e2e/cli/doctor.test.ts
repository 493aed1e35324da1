/**
 * `doctor NODE` inside a real node network namespace of the netns lab: the cluster is migrated from
 * upstream-flannel state, real agents program the kernel, then a route is removed by hand and
 * doctor (run as a separate process in the node's netns) must find exactly that difference.
 */
import { skipUnlessIntegrationPrereqs, useControlPlane } from '../harness/jest.js';
import { LAB_PREREQS } from '../harness/prereqs.js';
import { createLab, type Lab } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import { ANN, FLANNEL_NS, ensureNamespace, flannelConfigMap, runCli } from './helpers.js';

skipUnlessIntegrationPrereqs(LAB_PREREQS);

const cp = useControlPlane({ root: true });

const MACS: Record<string, string> = {
  d1: '6a:00:00:00:0d:01',
  d2: '6a:00:00:00:0d:02',
  d3: '6a:00:00:00:0d:03',
};
const CIDRS: Record<string, string> = {
  d1: '10.244.1.0/24',
  d2: '10.244.2.0/24',
  d3: '10.244.3.0/24',
};

describe('doctor in the netns lab', () => {
  let lab: Lab;
  let kc: string;

  const doctor = (node: string, extra: string[] = []) =>
    runCli(
      ['doctor', node, '--kubeconfig', kc, '--subnet-file', lab.node(node).subnetFile, ...extra],
      {
        netns: lab.node(node).ns,
      },
    );
  const agentReady = async (node: string): Promise<boolean> =>
    (await lab.httpGet(node, 9102, '/readyz')).status === 200;

  beforeAll(async () => {
    kc = cp().kubeconfigPath;
    lab = await createLab({
      controlPlane: cp(),
      nodes: [{ name: 'd1' }, { name: 'd2' }, { name: 'd3', segment: 1 }],
    });
    try {
      // The state upstream flannel leaves: podCIDRs, flannel annotations with VTEP MACs, its ConfigMap.
      for (const n of lab.nodes.values()) {
        await lab.client.patch(`/api/v1/nodes/${n.name}`, {
          metadata: {
            annotations: {
              [`${ANN}backend-type`]: 'vxlan',
              [`${ANN}backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: MACS[n.name] }),
              [`${ANN}kube-subnet-manager`]: 'true',
              [`${ANN}public-ip`]: n.ip,
            },
          },
          spec: { podCIDR: CIDRS[n.name], podCIDRs: [CIDRS[n.name]] },
        });
      }
      await ensureNamespace(cp(), FLANNEL_NS);
      await lab.client.create(
        `/api/v1/namespaces/${FLANNEL_NS}/configmaps`,
        flannelConfigMap('kube-flannel-cfg', {
          Network: '10.244.0.0/16',
          Backend: { Type: 'vxlan' },
        }),
      );
      const m = await runCli(['migrate', '--apply', '--kubeconfig', kc]);
      if (m.code !== 0) throw new Error(`migrate failed: ${m.stderr}`);
      for (const n of lab.nodes.keys()) lab.startAgent(n, 'default', ['--resync-period', '5s']);
      for (const n of lab.nodes.keys())
        await waitFor(`agent ${n} ready`, () => agentReady(n), 60_000, 250);
    } catch (e) {
      for (const p of lab.processes)
        process.stderr.write(`--- ${p.name}\n${p.logs().slice(-3000)}\n`);
      await lab.destroy();
      throw e;
    }
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 60_000);

  it('agents keep the VTEP MACs flannel had (read from the migrated leases)', async () => {
    for (const n of lab.nodes.values()) {
      const r = await lab.exec(n.name, 'ip', ['-j', 'link', 'show', 'flannel.1']);
      expect(JSON.parse(r.stdout)[0].address).toBe(MACS[n.name]);
    }
  }, 90_000);

  it('reports a clean node with exit code 0', async () => {
    const r = await waitFor(
      'doctor d1 clean',
      async () => {
        const x = await doctor('d1');
        return x.code === 0 ? x : undefined;
      },
      20_000,
      500,
    );
    expect(r.stdout).toContain(
      'RESULT: OK - kernel matches the desired state (2 peers: 2 routes, 2 neighbors, 2 fdb entries, nftables rules)',
    );
    expect(r.stdout).toMatch(
      /^NODE d1 {3}NETWORK default {3}BACKEND vxlan {3}DEVICE flannel\.1 {3}SUBNET 10\.244\.1\.0\/24 {3}PUBLIC-IP 10\.200\.0\.1 {3}UNDERLAY eth0 {3}NETFILTER nftables/,
    );
  }, 90_000);

  it('finds a route removed by hand (agent stopped), exit code 1', async () => {
    await lab.stopAgent('d1');
    const del = await lab.exec('d1', 'ip', ['route', 'del', '10.244.2.0/24']);
    expect(del.code).toBe(0);
    const r = await doctor('d1', ['-o', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      kind: 'DoctorReport',
      node: 'd1',
      network: 'default',
      clean: false,
    });
    expect(report.differences).toEqual([
      {
        kind: 'route',
        change: 'missing',
        object: '10.244.2.0/24',
        want: '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
      },
    ]);
    const table = await doctor('d1');
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(
      /KIND\s+CHANGE\s+OBJECT\s+WANT\s+HAVE\nroute\s+missing\s+10\.244\.2\.0\/24\s+10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 onlink\s+<none>\n/,
    );
    expect(table.stdout).toContain('RESULT: 1 difference(s)');
  }, 90_000);

  it('finds a wrong neighbor, a deleted nft table and a deleted fdb entry', async () => {
    await lab.exec('d1', 'ip', [
      'neigh',
      'replace',
      '10.244.3.0',
      'lladdr',
      '02:de:ad:be:ef:00',
      'dev',
      'flannel.1',
      'nud',
      'permanent',
    ]);
    await lab.exec('d1', 'bridge', [
      'fdb',
      'del',
      MACS.d2!,
      'dev',
      'flannel.1',
      'dst',
      lab.node('d2').ip,
    ]);
    await lab.exec('d1', 'nft', ['delete', 'table', 'ip', 'flannel-operator-ipv4']);
    const r = await doctor('d1', ['-o', 'json']);
    expect(r.code).toBe(1);
    const diffs = JSON.parse(r.stdout).differences.map(
      (d: { kind: string; change: string; object: string }) => `${d.kind} ${d.change} ${d.object}`,
    );
    expect(diffs).toEqual([
      'route missing 10.244.2.0/24',
      'neighbor wrong 10.244.3.0',
      `fdb missing ${MACS.d2}`,
      'netfilter missing table flannel-operator-ipv4',
    ]);
  }, 90_000);

  it('is clean again once the agent has repaired the node', async () => {
    lab.startAgent('d1', 'default', ['--resync-period', '5s']);
    await waitFor('agent d1 ready', () => agentReady('d1'), 60_000, 250);
    const r = await waitFor(
      'doctor d1 clean after repair',
      async () => {
        const x = await doctor('d1');
        return x.code === 0 ? x : undefined;
      },
      30_000,
      500,
    );
    expect(r.stdout).toContain('RESULT: OK');
  }, 90_000);

  it('gives typed errors outside the node netns and for unknown nodes', async () => {
    // In the root netns nothing holds the node's IP: doctor refuses instead of comparing the wrong kernel.
    const root = await runCli(['doctor', 'd1', '--kubeconfig', kc]);
    expect(root.code).toBe(1);
    expect(root.stderr).toContain('[EDOCTOR_UNDERLAY]');
    expect(root.stderr).toContain('hint: run doctor in the network namespace of node d1');
    const unknown = await doctor('d1').then(() =>
      runCli(['doctor', 'nope', '--kubeconfig', kc], { netns: lab.node('d1').ns }),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error: node nope has no SubnetLease [EDOCTOR_NO_LEASE]');
  }, 90_000);

  it('status sees the whole cluster healthy from the agents side', async () => {
    const r = await runCli(['status', '--kubeconfig', kc, '-o', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({
      leases: 3,
      leasesReady: 3,
      nodes: 3,
      nodesConsistent: 3,
    });
  });
});
