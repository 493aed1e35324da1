/**
 * A peer's lease change costs work for that peer only (issue 13, item 2): n3 gets a new VTEP MAC,
 * and n1 rewrites n3's neighbour and FDB entry and nothing else — the kernel's own notifications
 * in n1 (ip/bridge monitor) name no object of n2. Drift repair still works after such a peer
 * pass: a route deleted by hand comes back.
 */
import { useControlPlane } from '../harness/jest.js';
import { type Lab, type ManagedProcess } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import { API_VERSION, SUBNET_LEASE, type SubnetLease } from '../../src/api/index.js';
import { bootLab, describeLab, destroyLab, leases } from './helpers.js';

const NET = 'lab';
describeLab('a peer lease event touches only that peer (netns lab)', () => {
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootLab(cp(), NET, { backend: { type: 'vxlan' } });
  }, 180_000);

  afterAll(async () => {
    await destroyLab(lab);
  }, 60_000);

  const lease = async (node: string): Promise<SubnetLease> =>
    (await leases(lab, NET)).find((l) => l.spec.nodeName === node)!;
  const monitor = (name: string, cmd: string, args: string[]): ManagedProcess =>
    lab.spawnProcess(name, cmd, args, { ns: lab.node('n1').ns });

  it('n3 gets a new VTEP MAC: n1 rewrites n3’s entries only, then still repairs drift', async () => {
    const [l2, l3] = [await lease('n2'), await lease('n3')];
    const mac2 = l2.status!.backend!.vtepMAC!.toLowerCase();
    const mac3 = l3.status!.backend!.vtepMAC!.toLowerCase();
    const gw2 = l2.spec.subnet!.split('/')[0]!;
    const newMac = '0e:00:00:00:77:77';
    const passes = (): number =>
      lab.agents
        .get('n1')!
        .logs()
        .split('\n')
        .filter((l) => l.includes('"dataplane reconciled"')).length;
    // n3's agent would publish its real address again.
    await lab.stopAgent('n3', 'SIGKILL');
    const ipMon = monitor('mon-ip', 'ip', ['-o', 'monitor', 'route', 'neigh']);
    const fdbMon = monitor('mon-fdb', 'bridge', ['monitor', 'fdb']);
    await new Promise((r) => setTimeout(r, 500)); // both subscribed
    const before = passes();
    await lab.client.applyStatus(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        metadata: { name: l3.metadata.name },
        status: {
          publicIP: l3.status!.publicIP,
          backend: { type: 'vxlan', vni: 1, vtepMAC: newMac },
        },
      },
      { fieldManager: 'flannel-operator-agent', force: true },
    );
    await waitFor(
      'n3 FDB entry under its new MAC',
      async () => (await lab.fdb('n1', 'flannel.1')).some((f) => f.mac === newMac),
      10_000,
      50,
    );
    await new Promise((r) => setTimeout(r, 1000)); // any follow-up pass would show by now
    await ipMon.stop();
    await fdbMon.stop();
    const seen = `${ipMon.logs()}\n${fdbMon.logs()}`.toLowerCase();
    expect(seen).toContain(newMac);
    expect(seen).toContain(mac3); // the old FDB entry's removal
    // Nothing of n2 was rewritten: no notification names its route, neighbour or FDB entry.
    expect(seen).not.toContain(l2.spec.subnet!);
    expect(seen).not.toContain(gw2);
    expect(seen).not.toContain(mac2);
    // One pass of three changes (neighbour replaced, FDB entry removed and added); its own echo
    // did not start another.
    const log = lab.agents.get('n1')!.logs().split('\n');
    const newPasses = log.filter((l) => l.includes('"dataplane reconciled"')).slice(before);
    expect(newPasses).toHaveLength(1);
    expect(newPasses[0]).toMatch(/"changes":3,/);

    // Drift repair after a peer pass: n2's route deleted by hand comes back.
    expect((await lab.exec('n1', 'ip', ['route', 'del', l2.spec.subnet!])).code).toBe(0);
    await waitFor(
      'n2 route repaired',
      async () => (await lab.routes('n1')).some((r) => r.dst === l2.spec.subnet),
      5_000,
      50,
    );
  }, 90_000);
});
