/**
 * Dual-stack (IPv4 + IPv6) FlannelNetwork in the netns lab: real controller, real agents, pods
 * wired by the real flannel CNI plugin (v0.9.1 reads FLANNEL_IPV6_SUBNET and asks host-local for
 * both families). n1, n2 share a segment (10.200.0.0/24 + fd00:200:0::/64); n3 sits behind the
 * router (10.201.0.0/24 + fd00:200:1::/64).
 */
import { useControlPlane } from '../harness/jest.js';
import { type Lab, type LabRoute } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import { runCli } from '../cli/helpers.js';
import {
  applyNetwork,
  bootLab,
  describeLab,
  destroyLab,
  leases,
  type NetworkSpec,
} from './helpers.js';

const NET = 'dual';
const V6NET = 'fd00:10::/48';
const SPEC: NetworkSpec = { ipv6Network: V6NET, backend: { type: 'vxlan' } };

async function route6To(lab: Lab, node: string, dst: string): Promise<LabRoute | undefined> {
  return (await lab.routes(node, 6)).find((r) => r.dst === dst);
}
async function subnet6(lab: Lab, node: string): Promise<string> {
  const l = (await leases(lab, NET)).find((x) => x.spec.nodeName === node);
  if (!l?.spec.ipv6Subnet) throw new Error(`no ipv6Subnet for ${node}`);
  return l.spec.ipv6Subnet;
}
const gw6 = (cidr: string): string => cidr.split('/')[0]!;

async function expectMatrix(lab: Lab, family: 'ipv4' | 'ipv6'): Promise<void> {
  const m = await lab.pingMatrix(3, undefined, family);
  expect(m.filter((x) => !x.ok)).toEqual([]);
  expect(m).toHaveLength(6);
}

describeLab('agent dual-stack vxlan / directRouting (netns lab)', () => {
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootLab(cp(), NET, SPEC);
    await waitFor(
      'v6 data on every lease',
      async () => {
        const ls = await leases(lab, NET);
        return (
          ls.length === 3 &&
          ls.every((l) => l.spec.ipv6Subnet && l.status?.publicIPv6 && l.status.backend?.v6VtepMAC)
        );
      },
      30_000,
      250,
    );
    for (const n of ['n1', 'n2', 'n3']) await lab.addPod(n, `p${n.slice(1)}`);
  }, 180_000);

  afterAll(async () => {
    await destroyLab(lab);
  }, 60_000);

  it('publishes publicIPv6 and a distinct v6 VTEP MAC; pods get both families', async () => {
    for (const l of await leases(lab, NET)) {
      const n = lab.node(l.spec.nodeName);
      expect(l.status?.publicIPv6).toBe(n.ip6);
      expect(l.status?.backend?.v6VtepMAC).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(l.status?.backend?.v6VtepMAC).not.toBe(l.status?.backend?.vtepMAC);
    }
    for (const p of lab.pods.values()) expect(p.ip6).toMatch(/^fd00:10:/);
  });

  it('vxlan v6: flannel-v6.1 device, onlink routes, permanent neighbors, fdb to peer v6', async () => {
    const ls = await leases(lab, NET);
    const own = ls.find((l) => l.spec.nodeName === 'n1')!;
    const link = JSON.parse(
      (await lab.exec('n1', 'ip', ['-d', '-j', 'link', 'show', 'flannel-v6.1'])).stdout,
    ) as Array<{
      mtu: number;
      address: string;
      linkinfo: { info_data: { id: number; local6?: string; port?: number; learning?: boolean } };
    }>;
    expect(link[0]!.mtu).toBe(1430);
    expect(link[0]!.address).toBe(own.status?.backend?.v6VtepMAC);
    expect(link[0]!.linkinfo.info_data).toMatchObject({
      id: 1,
      local6: lab.node('n1').ip6,
      port: 8472,
    });
    expect(link[0]!.linkinfo.info_data.learning).toBeFalsy();
    const addrs = (await lab.exec('n1', 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'flannel-v6.1']))
      .stdout;
    expect(addrs).toContain(`${gw6(own.spec.ipv6Subnet!)}/128`);
    const neigh = JSON.parse(
      (await lab.exec('n1', 'ip', ['-6', '-j', 'neigh', 'show', 'dev', 'flannel-v6.1'])).stdout,
    ) as Array<{ dst: string; lladdr?: string; state?: string[] }>;
    const fdb = await lab.fdb('n1', 'flannel-v6.1');
    for (const peer of ['n2', 'n3']) {
      const l = ls.find((x) => x.spec.nodeName === peer)!;
      const s6 = l.spec.ipv6Subnet!;
      const r = await route6To(lab, 'n1', s6);
      expect(r).toMatchObject({ gateway: gw6(s6), dev: 'flannel-v6.1', protocol: '157' });
      expect(r?.flags).toContain('onlink');
      const nb = neigh.find((x) => x.dst === gw6(s6));
      expect(nb?.lladdr).toBe(l.status?.backend?.v6VtepMAC);
      expect(nb?.state).toContain('PERMANENT');
      expect(fdb.find((f) => f.mac === l.status?.backend?.v6VtepMAC)?.dst).toBe(lab.node(peer).ip6);
    }
    await expectMatrix(lab, 'ipv4');
    await expectMatrix(lab, 'ipv6');
  }, 60_000);

  it('steady state: a full resync changes nothing (v6 objects compare equal to the kernel)', async () => {
    const before = await lab.metric('n1', 'flannel_agent_kernel_changes_total');
    await new Promise((r) => setTimeout(r, 6000)); // > --resync-period 5s
    expect(await lab.metric('n1', 'flannel_agent_kernel_changes_total')).toBe(before);
    expect(await lab.metric('n1', 'flannel_agent_pending_peers')).toBe(0);
    expect(await lab.metric('n1', 'flannel_agent_peers')).toBe(2);
  }, 30_000);

  it('repairs a deleted v6 route and a deleted flannel-v6 device (peers replayed)', async () => {
    const s2 = await subnet6(lab, 'n2');
    await lab.exec('n1', 'ip', ['-6', 'route', 'del', s2]);
    await waitFor('v6 route repaired', async () => route6To(lab, 'n1', s2), 15_000, 100);
    await lab.exec('n1', 'ip', ['link', 'del', 'flannel-v6.1']);
    await waitFor(
      'flannel-v6.1 recreated with its routes',
      async () =>
        (await route6To(lab, 'n1', s2))?.dev === 'flannel-v6.1' &&
        (await route6To(lab, 'n1', await subnet6(lab, 'n3')))?.dev === 'flannel-v6.1',
      15_000,
      100,
    );
    await expectMatrix(lab, 'ipv6');
  }, 60_000);

  it('doctor reports broken v6 state: route, neighbor, fdb entry and nft ip6 table', async () => {
    const doctor = (extra: string[] = []) =>
      runCli(
        [
          'doctor',
          'n1',
          '--kubeconfig',
          cp().kubeconfigPath,
          '--subnet-file',
          lab.node('n1').subnetFile,
          ...extra,
        ],
        { netns: lab.node('n1').ns },
      );
    const clean = await waitFor(
      'doctor n1 clean',
      async () => {
        const r = await doctor(['-o', 'json']);
        return r.code === 0 ? r : undefined;
      },
      20_000,
      500,
    );
    const ok = JSON.parse(clean.stdout);
    expect(ok).toMatchObject({
      ipv6Subnet: await subnet6(lab, 'n1'),
      publicIPv6: lab.node('n1').ip6,
    });
    // 2 peers, each with a v4 and a v6 route/neighbor/fdb entry.
    expect(ok.checked).toEqual({ routes: 4, neighbors: 4, fdb: 4, peers: 4 });

    const ls = await leases(lab, NET);
    const mac6 = (n: string) => ls.find((l) => l.spec.nodeName === n)!.status!.backend!.v6VtepMAC!;
    const s2 = await subnet6(lab, 'n2');
    const s3 = await subnet6(lab, 'n3');
    await lab.stopAgent('n1'); // or it repairs all of this at once
    try {
      const sh6 = async (cmd: string, args: string[]) =>
        expect((await lab.exec('n1', cmd, args)).code).toBe(0);
      await sh6('ip', ['-6', 'route', 'del', s2]);
      await sh6('ip', [
        '-6',
        'neigh',
        'replace',
        gw6(s3),
        'lladdr',
        '02:de:ad:be:ef:06',
        'dev',
        'flannel-v6.1',
        'nud',
        'permanent',
      ]);
      await sh6('bridge', [
        'fdb',
        'del',
        mac6('n2'),
        'dev',
        'flannel-v6.1',
        'dst',
        lab.node('n2').ip6!,
      ]);
      await sh6('nft', ['delete', 'table', 'ip6', 'flannel-operator-ipv6']);
      const r = await doctor(['-o', 'json']);
      expect(r.code).toBe(1);
      const diffs = JSON.parse(r.stdout).differences.map(
        (d: { kind: string; change: string; object: string }) =>
          `${d.kind} ${d.change} ${d.object}`,
      );
      expect(diffs).toEqual([
        `route missing ${s2}`,
        `neighbor wrong ${gw6(s3)}`,
        `fdb missing ${mac6('n2')}`,
        'netfilter missing table flannel-operator-ipv6',
      ]);
    } finally {
      lab.startAgent('n1', NET, ['--resync-period', '5s']);
    }
    await waitFor(
      'doctor n1 clean after the agent repaired v6',
      async () => (await doctor()).code === 0,
      30_000,
      500,
    );
  }, 90_000);

  it('directRouting: same-segment v6 peer via host-gw, the routed one via flannel-v6', async () => {
    await applyNetwork(lab, NET, { ...SPEC, backend: { type: 'vxlan', directRouting: true } });
    const s1 = await subnet6(lab, 'n1');
    const s2 = await subnet6(lab, 'n2');
    const s3 = await subnet6(lab, 'n3');
    await waitFor(
      'v6 host-gw route n1 -> n2',
      async () => (await route6To(lab, 'n1', s2))?.gateway === lab.node('n2').ip6,
      20_000,
      100,
    );
    expect(await route6To(lab, 'n1', s2)).toMatchObject({ dev: 'eth0', protocol: '157' });
    expect(await route6To(lab, 'n2', s1)).toMatchObject({
      gateway: lab.node('n1').ip6,
      dev: 'eth0',
    });
    expect(await route6To(lab, 'n1', s3)).toMatchObject({
      gateway: gw6(s3),
      dev: 'flannel-v6.1',
    });
    // The n2 neighbor/fdb on flannel-v6 went with its vxlan route.
    const fdb = await lab.fdb('n1', 'flannel-v6.1');
    expect(fdb.filter((f) => f.dst === lab.node('n2').ip6)).toEqual([]);
    await expectMatrix(lab, 'ipv4');
    await expectMatrix(lab, 'ipv6');
  }, 60_000);

  it('node removal cleans its v6 route, neighbor and fdb entry', async () => {
    const s3 = await subnet6(lab, 'n3');
    await lab.stopAgent('n3');
    await lab.client.delete('/api/v1/nodes/n3');
    await waitFor('n3 v6 route gone', async () => !(await route6To(lab, 'n1', s3)), 30_000, 100);
    const neigh = (await lab.exec('n1', 'ip', ['-6', 'neigh', 'show', 'dev', 'flannel-v6.1']))
      .stdout;
    expect(neigh).not.toContain(gw6(s3));
    const fdb = await lab.fdb('n1', 'flannel-v6.1');
    expect(fdb.filter((f) => f.dst === lab.node('n3').ip6)).toEqual([]);
    expect(await route6To(lab, 'n2', s3)).toBeUndefined();
  }, 60_000);
});
