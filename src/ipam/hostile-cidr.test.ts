/**
 * Every reader of CIDR text (agent, migrate, status, controller) refuses the same hostile text
 * with the same code and wording: they all parse through src/ipam. Before, the agent and migrate
 * parsed with ipaddr.js and took 010.244.0.0/16 for 8.244.0.0/16.
 */
import type { FlannelNetwork, SubnetLease } from '../api/index.js';
import { INVALID_SPECS } from '../api/testing/cases.js';
import { networkConfig, nodeDesiredState } from '../agent/node-state.js';
import { planMigration } from '../cli/migrate/plan.js';
import { buildStatusReport } from '../cli/status/report.js';
import { prepareNetwork } from '../controller/plan.js';
import { IpamError, invalidCidrMessage } from './index.js';

const HOSTILE = [
  '010.244.0.0/16',
  '10.244.0.0/016',
  '10.244.0.0/33',
  '10.244.0.0',
  ' 10.244.0.0/16',
  '10.244.0.0/16\n',
  '0x0a.244.0.0/16',
  '10.244.0.0/-1',
  '10.244.0.0/16/16',
  '10.0244.0.0/16',
  '１０.244.0.0/16',
  '::ffff:10.244.0.0/112',
  'fe80::1%eth0/64',
];

const network = (spec: Record<string, unknown>): FlannelNetwork =>
  ({ metadata: { name: 'n', generation: 1 }, spec }) as unknown as FlannelNetwork;
const lease = (node: string, subnet: string): SubnetLease => ({
  metadata: { name: `n.${node}` },
  spec: { nodeName: node, networkName: 'n', subnet },
  // Distinct per node: a peer repeating this node's address or VTEP MAC is refused (peers.ts).
  status: {
    publicIP: node === 'a' ? '10.200.0.1' : '10.200.0.2',
    backend: {
      type: 'vxlan',
      vtepMAC: node === 'a' ? '0e:00:00:00:00:01' : '0e:00:00:00:00:02',
      vni: 1,
    },
  },
});
const nodeInfo = {
  nodeName: 'a',
  publicIP: '10.200.0.1',
  underlay: { name: 'eth0', index: 2, mtu: 1500, ip: '10.200.0.1', prefix: '10.200.0.0/24' },
};

function thrown(f: () => unknown): { code?: string; message: string } {
  try {
    f();
  } catch (e) {
    return { code: (e as IpamError).code, message: (e as Error).message };
  }
  throw new Error('did not throw');
}

describe.each(HOSTILE)('hostile CIDR text %j', (text) => {
  const want = (field: string, family?: 4 | 6) => ({
    code: 'EIPAM_INVALID_CIDR',
    message: invalidCidrMessage(field, family, text),
  });

  it('agent: network, own lease and peer leases', () => {
    expect(thrown(() => networkConfig(network({ network: text })))).toEqual(want('network', 4));
    const net = network({ network: '10.244.0.0/16' });
    const own = () =>
      nodeDesiredState({ network: net, lease: lease('a', text), leases: [], node: nodeInfo });
    expect(thrown(own)).toEqual(want('subnet', 4));
    const peers = nodeDesiredState({
      network: net,
      lease: lease('a', '10.244.1.0/24'),
      leases: [lease('a', '10.244.1.0/24'), lease('b', text)],
      node: nodeInfo,
    });
    expect(peers.desired.routes).toEqual([]);
    expect(peers.desired.pending).toEqual([{ nodeName: 'b', reason: want('subnet', 4).message }]);
  });

  it('migrate: net-conf.json Network and node podCIDRs', () => {
    const cm = (net: string) => ({
      metadata: { name: 'kube-flannel-cfg', namespace: 'kube-flannel' },
      data: { 'net-conf.json': JSON.stringify({ Network: net, Backend: { Type: 'vxlan' } }) },
    });
    const bad = planMigration(cm(text), []);
    expect(bad.network).toBeUndefined();
    expect(bad.errors).toContainEqual(expect.objectContaining(want('Network', 4)));
    const node = { metadata: { name: 'a' }, spec: { podCIDR: text, podCIDRs: [text] } };
    const pod = planMigration(cm('10.244.0.0/16'), [node]);
    expect(pod.leases).toEqual([]);
    expect(pod.errors).toContainEqual(expect.objectContaining(want('podCIDR')));
  });

  it('status: network, lease and node CIDRs are flagged', () => {
    const r = buildStatusReport(
      [network({ network: text })],
      [lease('a', text)],
      [{ metadata: { name: 'a' }, spec: { podCIDR: text } }],
    );
    const codes = r.warnings.filter((w) => w.code === 'EIPAM_INVALID_CIDR');
    expect(codes).toEqual([
      { object: 'flannelnetwork/n', ...want('network', 4) },
      { object: 'subnetlease/n.a', ...want('subnet', 4) },
      { object: 'node/a', ...want('podCIDR') },
    ]);
  });

  it('controller: its own parse refuses with the admission wording (the message without the value)', () => {
    const p = prepareNetwork(network({ network: text }));
    expect(p.refused?.reason).toBe('InvalidSpec');
    expect(p.refused?.message).toContain(`spec.network: ${invalidCidrMessage('network', 4)}`);
  });
});

it('admission (CEL, checked against the API server in test-e2e/api) uses the same wording', () => {
  const c = INVALID_SPECS.find((x) => x.spec.network === '010.244.0.0/16');
  expect(c?.errors).toEqual([{ field: 'spec.network', message: invalidCidrMessage('network', 4) }]);
});
