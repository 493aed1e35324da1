/**
 * host-gw backend in the netns lab, with the iptables fallback for the masquerade/forward rules.
 * n1, n2 share 10.200.0.0/24; n3 sits on 10.201.0.0/24 behind a router, so host-gw cannot reach it
 * and it must be reported pending (no route), never half-programmed.
 */
import { useControlPlane } from '../harness/jest.js';
import { type Lab } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import {
  bootLab,
  describeLab,
  destroyLab,
  expectFullMatrix,
  leases,
  recordIperf,
  remoteAddressSeen,
  routeTo,
  subnetOf,
  writeIperfResults,
} from './helpers.js';

const NET = 'hgw';

describeLab('agent host-gw + iptables (netns lab)', () => {
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootLab(
      cp(),
      NET,
      { backend: { type: 'host-gw' } },
      { agentArgs: ['--netfilter', 'iptables'] },
    );
    for (const n of ['n1', 'n2', 'n3']) await lab.addPod(n, `p${n.slice(1)}`);
  }, 180_000);

  afterAll(async () => {
    writeIperfResults('host-gw');
    await destroyLab(lab);
  }, 60_000);

  it('routes via node IPs on the underlay, no vxlan device, off-segment peer pending', async () => {
    const ls = await leases(lab, NET);
    expect(ls.map((l) => l.status?.backend?.type)).toEqual(['host-gw', 'host-gw', 'host-gw']);
    const s1 = await subnetOf(lab, 'n1', NET);
    const s2 = await subnetOf(lab, 'n2', NET);
    const s3 = await subnetOf(lab, 'n3', NET);
    expect(await routeTo(lab, 'n1', s2)).toMatchObject({
      gateway: lab.node('n2').ip,
      dev: 'eth0',
      protocol: '157',
    });
    expect(await routeTo(lab, 'n2', s1)).toMatchObject({ gateway: lab.node('n1').ip, dev: 'eth0' });
    expect(await routeTo(lab, 'n1', s3)).toBeUndefined();
    expect((await lab.exec('n1', 'ip', ['link', 'show', 'flannel.1'])).code).not.toBe(0);
    expect(await lab.metric('n1', 'flannel_agent_pending_peers')).toBe(1);
    expect(await lab.metric('n3', 'flannel_agent_pending_peers')).toBe(2);
    await expectFullMatrix(lab, ['p1', 'p2']);
    recordIperf('host-gw', 'p1->p2', await lab.iperf('p1', 'p2'));
  }, 60_000);

  it('iptables mode: own chains, pod source kept pod->pod, masqueraded to the underlay', async () => {
    const nat = await lab.exec('n1', 'iptables', ['-t', 'nat', '-S', 'FLANNEL-OP-POSTRTG']);
    expect(nat.stdout).toContain('MASQUERADE');
    expect(
      (
        await lab.exec('n1', 'iptables', [
          '-t',
          'nat',
          '-C',
          'POSTROUTING',
          '-j',
          'FLANNEL-OP-POSTRTG',
          '-m',
          'comment',
          '--comment',
          'flannel-operator',
        ])
      ).code,
    ).toBe(0);
    expect(
      (await lab.exec('n1', 'nft', ['list', 'table', 'ip', 'flannel-operator-ipv4'])).code,
    ).not.toBe(0);
    const p1 = lab.pods.get('p1')!;
    const p2 = lab.pods.get('p2')!;
    expect(await remoteAddressSeen(lab, p2.ns, p2.ip, p1.ns)).toBe(p1.ip);
    const n2 = lab.node('n2');
    expect(await remoteAddressSeen(lab, n2.ns, n2.ip, p1.ns)).toBe(lab.node('n1').ip);
  }, 30_000);

  it('repairs a deleted host-gw route and a flushed iptables chain', async () => {
    const s2 = await subnetOf(lab, 'n2', NET);
    expect((await lab.exec('n1', 'ip', ['route', 'del', s2])).code).toBe(0);
    await waitFor('route back', async () => !!(await routeTo(lab, 'n1', s2)), 5000, 50);
    expect((await lab.exec('n1', 'iptables', ['-t', 'nat', '-F', 'FLANNEL-OP-POSTRTG'])).code).toBe(
      0,
    );
    // Rule drift is found by the periodic resync (5 s here) or the next kernel event.
    await waitFor(
      'chain refilled',
      async () =>
        (
          await lab.exec('n1', 'iptables', ['-t', 'nat', '-S', 'FLANNEL-OP-POSTRTG'])
        ).stdout.includes('MASQUERADE'),
      12_000,
      200,
    );
  }, 30_000);
});
