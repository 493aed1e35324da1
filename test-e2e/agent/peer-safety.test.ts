/**
 * A compromised node tries to take another node's traffic (issue 10, item 5): n3's agent is
 * replaced by an attacker that gives n3's flannel.1 the VTEP MAC of n2 and publishes it in n3's
 * lease (which the admission policy lets n3 write). The other agents refuse to program n3 (the
 * older lease, n2's, keeps the MAC), so n1 -> n2 pod traffic loses nothing and n3 receives
 * nothing; n1 reports the rejection (log, metric) and the controller flags n3's lease.
 */
import { useControlPlane } from '../harness/jest.js';
import { sh, type Lab } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import { API_VERSION, SUBNET_LEASE, type SubnetLease } from '../../src/api/index.js';
import { bootLab, describeLab, destroyLab, expectFullMatrix, leases } from './helpers.js';

const NET = 'lab';
describeLab('peer safety: a node publishing another node’s VTEP MAC (netns lab)', () => {
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootLab(cp(), NET, { backend: { type: 'vxlan' } });
    for (const n of ['n1', 'n2', 'n3']) await lab.addPod(n, `p${n.slice(1)}`);
    await expectFullMatrix(lab);
  }, 180_000);

  afterAll(async () => {
    await destroyLab(lab);
  }, 60_000);

  const lease = async (node: string): Promise<SubnetLease> =>
    (await leases(lab, NET)).find((l) => l.spec.nodeName === node)!;
  const rxPackets = async (node: string): Promise<number> => {
    const r = await lab.exec(node, 'ip', ['-j', '-s', 'link', 'show', 'flannel.1']);
    return (JSON.parse(r.stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx
      .packets;
  };

  it("n3 publishes n2's VTEP MAC: n1 -> n2 loses nothing, n3 gets nothing, n1 and the controller report it", async () => {
    const [l2, l3] = [await lease('n2'), await lease('n3')];
    const mac2 = l2.status!.backend!.vtepMAC!;
    const gw3 = l3.spec.subnet!.split('/')[0]!;
    await lab.stopAgent('n3', 'SIGKILL');
    expect((await lab.exec('n3', 'ip', ['link', 'set', 'flannel.1', 'address', mac2])).code).toBe(
      0,
    );
    await lab.client.applyStatus(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        metadata: { name: l3.metadata.name },
        status: {
          publicIP: lab.node('n3').ip,
          backend: { type: 'vxlan', vni: 1, vtepMAC: mac2 },
        },
      },
      { fieldManager: 'flannel-operator-agent', force: true },
    );
    // n1 has reacted once it either refused n3 or (without the protection) pointed n3's
    // neighbor at n2's MAC, which makes n1's FDB entry for that MAC flip between n2 and n3.
    await waitFor(
      "n1 handled n3's new lease",
      async () =>
        (await lab.metric('n1', 'flannel_agent_rejected_peers')) === 1 ||
        (await lab.neighbors('n1', 'flannel.1')).some(
          (n) => n.dst === gw3 && n.lladdr?.toLowerCase() === mac2.toLowerCase(),
        ),
      20_000,
      100,
    );
    const rx0 = await rxPackets('n3');
    const ping = await sh(
      'ping',
      ['-n', '-q', '-c', '100', '-i', '0.02', '-W', '1', lab.pods.get('p2')!.ip],
      { ns: lab.pods.get('p1')!.ns, timeoutMs: 30_000 },
    );
    const received = Number(/(\d+) received/.exec(ping.stdout)?.[1] ?? -1);
    const rx1 = await rxPackets('n3');
    expect({ received, reachedN3: rx1 - rx0 }).toEqual({ received: 100, reachedN3: 0 });

    // n1's FDB sends n2's MAC to n2 only; n3 is not programmed at all.
    const fdb = (await lab.fdb('n1', 'flannel.1')).filter(
      (f) => f.mac.toLowerCase() === mac2.toLowerCase(),
    );
    expect(fdb.map((f) => f.dst)).toEqual([lab.node('n2').ip]);
    expect((await lab.routes('n1')).some((r) => r.dst === l3.spec.subnet)).toBe(false);
    // n1 says so: a warning naming the peer and why, and the metric.
    const log = lab.agents.get('n1')!.logs();
    expect(log).toMatch(/"peer":"n3".*already published by the older lease of node n2/);
    expect(await lab.metric('n1', 'flannel_agent_rejected_peers')).toBe(1);
    // The controller flags the lease for humans (condition + Event).
    await waitFor(
      'BackendRejected on n3',
      async () =>
        (await lease('n3')).status?.conditions?.find((c) => c.type === 'BackendRejected')
          ?.status === 'True',
      20_000,
      200,
    );
  }, 90_000);
});
