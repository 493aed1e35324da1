/**
 * Agent E2E in the netns lab: real kube-apiserver, real controller, real agents in node
 * namespaces, pods wired by the real CNI plugins, real ping / TCP / iperf3.
 * Nodes: n1, n2 on segment 10.200.0.0/24, n3 on 10.201.0.0/24 behind a router namespace.
 * The leases the agents publish are also judged by the Argo CD health check (test-e2e/gitops).
 */
import { useControlPlane } from '../harness/jest.js';
import { sh, type Lab } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import {
  applyNetwork,
  bootLab,
  describeLab,
  destroyLab,
  expectFullMatrix,
  leases,
  recordIperf,
  remoteAddressSeen,
  routeTo,
  subnetOf,
  waitAgentsReady,
  writeIperfResults,
} from './helpers.js';
import { argoHealth } from '../gitops/health.js';

const NET = 'lab';
/**
 * Drift repair, measured from the damaging command to the repaired state seen by `ip`/`nft`
 * (polled every 20 ms; each poll spawns a process). Typically 100-300 ms on a loaded 2-core CI
 * box; the agent's part is the 50 ms debounce plus one pass. The bound is what the README
 * promises ("within a second"), far below the 5 s resync of this lab.
 */
const DRIFT_REPAIR_BOUND_MS = 1000;

/** flannel_agent_reconciles_total for one trigger (kernel, nftables, periodic, ...). */
async function reconcilesBy(lab: Lab, node: string, trigger: string): Promise<number> {
  const { body } = await lab.httpGet(node, 9101, '/metrics');
  const line = body
    .split('\n')
    .find((l) => l.startsWith(`flannel_agent_reconciles_total{trigger="${trigger}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
describeLab('agent dataplane (netns lab)', () => {
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap', 'gitops-health'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootLab(cp(), NET, { backend: { type: 'vxlan' } });
    for (const n of ['n1', 'n2', 'n3']) await lab.addPod(n, `p${n.slice(1)}`);
  }, 180_000);

  afterAll(async () => {
    writeIperfResults('dataplane');
    await destroyLab(lab);
  }, 60_000);

  /** Damages n1 by hand and measures until `repaired`; the time must stay under the bound. */
  const timeRepair = async (
    what: string,
    [cmd, args]: [string, string[]],
    repaired: () => Promise<boolean>,
  ): Promise<void> => {
    const t0 = Date.now();
    expect((await lab.exec('n1', cmd, args)).code).toBe(0);
    await waitFor(`${what} repaired`, repaired, 10_000, 20);
    const ms = Date.now() - t0;
    console.log(`drift repair: ${what} in ${ms} ms (bound ${DRIFT_REPAIR_BOUND_MS} ms)`);
    expect({ what, ms: Math.min(ms, DRIFT_REPAIR_BOUND_MS) }).toEqual({ what, ms });
  };

  it('vxlan: leases published, kernel state per peer, full pod ping matrix, iperf3', async () => {
    const ls = await leases(lab, NET);
    expect(ls).toHaveLength(3);
    for (const l of ls) {
      expect(l.status?.publicIP).toBe(lab.node(l.spec.nodeName).ip);
      expect(l.status?.backend).toMatchObject({
        type: 'vxlan',
        vni: 1,
        vtepMAC: expect.stringMatching(/^[0-9a-f:]{17}$/),
      });
      expect(l.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    expect(await argoHealth(ls)).toEqual(
      ls.map((l) =>
        expect.objectContaining({
          name: l.metadata.name,
          status: 'Healthy',
          message: `vxlan dataplane programmed on ${l.spec.nodeName}`,
        }),
      ),
    );
    const s2 = await subnetOf(lab, 'n2');
    const gw = s2.split('/')[0]!;
    const n2 = ls.find((l) => l.spec.nodeName === 'n2')!;
    const r = await routeTo(lab, 'n1', s2);
    expect(r).toMatchObject({ gateway: gw, dev: 'flannel.1' });
    expect(r?.flags).toContain('onlink');
    expect(await lab.neighbors('n1', 'flannel.1')).toContainEqual(
      expect.objectContaining({
        dst: gw,
        lladdr: n2.status!.backend!.vtepMAC,
        state: ['PERMANENT'],
      }),
    );
    expect(await lab.fdb('n1', 'flannel.1')).toContainEqual(
      expect.objectContaining({ mac: n2.status!.backend!.vtepMAC, dst: lab.node('n2').ip }),
    );
    const link = JSON.parse(
      (await lab.exec('n1', 'ip', ['-j', '-d', 'link', 'show', 'flannel.1'])).stdout,
    )[0];
    expect(link.mtu).toBe(1450);
    expect(link.linkinfo.info_data).toMatchObject({
      id: 1,
      port: 8472,
      learning: false,
      local: lab.node('n1').ip,
    });
    expect((await lab.httpGet('n1', 9102, '/healthz')).status).toBe(200);
    expect(await lab.metric('n1', 'flannel_agent_peers')).toBe(2);
    expect(
      await lab.metric('n1', 'flannel_agent_programming_duration_seconds_count'),
    ).toBeGreaterThan(0);
    await expectFullMatrix(lab);
    recordIperf('vxlan', 'p1->p2', await lab.iperf('p1', 'p2'));
    recordIperf('vxlan', 'p1->p3', await lab.iperf('p1', 'p3'));
  }, 60_000);

  it('pod->pod keeps the pod source IP; pod->underlay host is masqueraded', async () => {
    const p1 = lab.pods.get('p1')!;
    const p2 = lab.pods.get('p2')!;
    expect(await remoteAddressSeen(lab, p2.ns, p2.ip, p1.ns)).toBe(p1.ip);
    const n2 = lab.node('n2');
    expect(await remoteAddressSeen(lab, n2.ns, n2.ip, p1.ns)).toBe(lab.node('n1').ip);
    // The rules live in the agent's own table.
    const t = await lab.exec('n1', 'nft', ['list', 'table', 'ip', 'flannel-operator-ipv4']);
    expect(t.stdout).toContain('masquerade');
  }, 30_000);

  it('repairs route, neighbor, fdb, nft table and nft rule drift, each within the bound', async () => {
    const s2 = await subnetOf(lab, 'n2');
    const gw = s2.split('/')[0]!;
    const mac = (await leases(lab, NET)).find((l) => l.spec.nodeName === 'n2')!.status!.backend!
      .vtepMAC!;
    const nftTable = async () =>
      (await lab.exec('n1', 'nft', ['list', 'table', 'ip', 'flannel-operator-ipv4'])).stdout;
    const nftTriggers = async () => reconcilesBy(lab, 'n1', 'nftables');
    const before = await nftTriggers();
    await timeRepair(
      'route',
      ['ip', ['route', 'del', s2]],
      async () => !!(await routeTo(lab, 'n1', s2)),
    );
    await timeRepair('neighbor', ['ip', ['neigh', 'del', gw, 'dev', 'flannel.1']], async () =>
      (await lab.neighbors('n1', 'flannel.1')).some((n) => n.dst === gw && n.lladdr === mac),
    );
    await timeRepair(
      'fdb',
      ['bridge', ['fdb', 'del', mac, 'dev', 'flannel.1', 'dst', lab.node('n2').ip, 'self']],
      async () => (await lab.fdb('n1', 'flannel.1')).some((f) => f.mac === mac),
    );
    // No rtnetlink event for these: the agent's nftables monitor must see them.
    await timeRepair(
      'nft table',
      ['nft', ['delete', 'table', 'ip', 'flannel-operator-ipv4']],
      async () => (await nftTable()).includes('masquerade'),
    );
    await timeRepair(
      'nft rule',
      ['nft', ['flush', 'chain', 'ip', 'flannel-operator-ipv4', 'postrtg']],
      async () => (await nftTable()).includes('masquerade'),
    );
    // Repaired by the nftables event, not by the periodic resync happening to fall in the window.
    expect(await nftTriggers()).toBeGreaterThan(before);
    expect(await lab.ping('p1', lab.pods.get('p2')!.ip, { count: 2 })).toBe(true);
  }, 60_000);

  it('recreates a deleted vxlan device with the same MAC and replays all peers', async () => {
    const before = JSON.parse(
      (await lab.exec('n1', 'ip', ['-j', 'link', 'show', 'flannel.1'])).stdout,
    )[0].address;
    await timeRepair('device', ['ip', ['link', 'del', 'flannel.1']], async () => {
      const rs = await lab.routes('n1');
      return rs.filter((r) => r.dev === 'flannel.1' && r.gateway).length === 2;
    });
    const after = JSON.parse(
      (await lab.exec('n1', 'ip', ['-j', 'link', 'show', 'flannel.1'])).stdout,
    )[0].address;
    expect(after).toBe(before);
    await expectFullMatrix(lab);
  }, 40_000);

  it('restarting an agent loses no packet (dataplane left in place, adopted without flapping)', async () => {
    const p2 = lab.pods.get('p2')!;
    const p1 = lab.pods.get('p1')!;
    const pinger = sh('ping', ['-n', '-q', '-i', '0.05', '-c', '200', p2.ip], { ns: p1.ns });
    await new Promise((r) => setTimeout(r, 500));
    await lab.stopAgent('n1');
    await lab.stopAgent('n2');
    await new Promise((r) => setTimeout(r, 500));
    lab.startAgent('n1', NET, ['--resync-period', '5s']);
    lab.startAgent('n2', NET, ['--resync-period', '5s']);
    await waitAgentsReady(lab);
    const r = await pinger;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    expect(m).not.toBeNull();

    console.log(`restart under ping: ${m![1]} sent, ${m![2]} received`);
    expect(Number(m![1])).toBe(200);
    expect(m![2]).toBe(m![1]);
  }, 40_000);

  it('directRouting: host-gw to the same-L2 peer, vxlan to the peer behind the router', async () => {
    await applyNetwork(lab, NET, { backend: { type: 'vxlan', directRouting: true } });
    const s2 = await subnetOf(lab, 'n2');
    const s3 = await subnetOf(lab, 'n3');
    await waitFor(
      'n1 uses host-gw to n2',
      async () => (await routeTo(lab, 'n1', s2))?.dev === 'eth0',
      15_000,
      100,
    );
    expect(await routeTo(lab, 'n1', s2)).toMatchObject({ gateway: lab.node('n2').ip, dev: 'eth0' });
    expect(await routeTo(lab, 'n1', s3)).toMatchObject({
      gateway: s3.split('/')[0],
      dev: 'flannel.1',
    });
    expect(await routeTo(lab, 'n3', s2)).toMatchObject({ dev: 'flannel.1' });
    // n2's neighbor/fdb entries are gone on n1: only n3 remains on the vxlan device.
    expect((await lab.fdb('n1', 'flannel.1')).map((f) => f.dst)).toEqual([lab.node('n3').ip]);
    await expectFullMatrix(lab);
    recordIperf('directRouting', 'p1->p2 (host-gw path)', await lab.iperf('p1', 'p2'));
    recordIperf('directRouting', 'p1->p3 (vxlan path)', await lab.iperf('p1', 'p3'));
  }, 60_000);

  it('node removal cleans its state everywhere, also on an agent that was down at the time', async () => {
    await applyNetwork(lab, NET, { backend: { type: 'vxlan' } });
    const s3 = await subnetOf(lab, 'n3');
    await waitFor(
      'vxlan back on n1',
      async () => (await routeTo(lab, 'n1', s3))?.dev === 'flannel.1',
      20_000,
      100,
    );
    await expectFullMatrix(lab);
    await lab.stopAgent('n1');
    await lab.delPod('p3');
    await lab.client.delete('/api/v1/nodes/n3');
    await waitFor(
      'lease of n3 released',
      async () => !(await leases(lab, NET)).some((l) => l.spec.nodeName === 'n3'),
      30_000,
      100,
    );
    await waitFor(
      'n2 cleaned n3',
      async () =>
        !(await routeTo(lab, 'n2', s3)) && (await lab.fdb('n2', 'flannel.1')).length === 1,
      10_000,
      100,
    );
    expect((await lab.neighbors('n2', 'flannel.1')).map((n) => n.dst)).not.toContain(
      s3.split('/')[0],
    );
    // n1 was down: its kernel still has n3 until the agent starts and reconciles (upstream bug 2554).
    expect(await routeTo(lab, 'n1', s3)).toBeDefined();
    lab.startAgent('n1', NET, ['--resync-period', '5s']);
    await waitFor(
      'n1 cleaned n3 at start',
      async () => !(await routeTo(lab, 'n1', s3)),
      20_000,
      100,
    );
    expect((await lab.fdb('n1', 'flannel.1')).map((f) => f.dst)).toEqual([lab.node('n2').ip]);
    expect((await lab.neighbors('n1', 'flannel.1')).map((n) => n.dst)).not.toContain(
      s3.split('/')[0],
    );
    await expectFullMatrix(lab, ['p1', 'p2']);
  }, 90_000);

  it('a kernel failure turns the lease Ready=False (condition + Event) and heals when the cause goes', async () => {
    await lab.stopAgent('n2');
    // Another device holding VNI 1 on port 8472 makes creating flannel.1 fail with EEXIST.
    await lab.exec('n2', 'ip', ['link', 'del', 'flannel.1']);
    const blk = await lab.exec('n2', 'ip', [
      'link',
      'add',
      'blocker',
      'type',
      'vxlan',
      'id',
      '1',
      'dstport',
      '8472',
      'local',
      lab.node('n2').ip,
      'dev',
      'eth0',
    ]);
    expect(blk.code).toBe(0);
    // A non-default events namespace: the Event must land there.
    lab.startAgent('n2', NET, ['--resync-period', '5s', '--events-namespace', 'kube-system']);
    const lease = async () => (await leases(lab, NET)).find((l) => l.spec.nodeName === 'n2')!;
    await waitFor(
      'n2 not Ready',
      async () =>
        (await lease()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False',
      20_000,
      200,
    );
    const l = await lease();
    expect(l.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      reason: 'EAGENT_VXLAN_DEVICE',
      message: expect.stringContaining('cannot create flannel.1'),
    });
    // Agents write no condition type but their own (the admission policy's split).
    expect(l.status?.conditions?.map((c) => c.type)).toEqual(['Ready', 'ForwardingBlocked']);
    const ready = l.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(await argoHealth([l])).toEqual([
      expect.objectContaining({ status: 'Degraded', message: `${ready.reason}: ${ready.message}` }),
    ]);
    const ev = await lab.client.list<{ reason?: string; regarding?: { name?: string } }>(
      '/apis/events.k8s.io/v1/namespaces/kube-system/events',
    );
    expect(
      ev.items.some(
        (e) => e.regarding?.name === l.metadata.name && e.reason === 'EAGENT_VXLAN_DEVICE',
      ),
    ).toBe(true);
    expect((await lab.exec('n2', 'ip', ['link', 'del', 'blocker'])).code).toBe(0);
    await waitFor(
      'n2 Ready again',
      async () =>
        (await lease()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
      20_000,
      200,
    );
    expect(await argoHealth([await lease()])).toEqual([
      expect.objectContaining({ status: 'Healthy', message: 'vxlan dataplane programmed on n2' }),
    ]);
    await expectFullMatrix(lab, ['p1', 'p2']);
  }, 60_000);
});
