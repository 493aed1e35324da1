/**
 * IPv6-only FlannelNetwork (only ipv6Network; upstream EnableIPv4=false, EnableIPv6=true) on an
 * IPv6-only underlay: no node or router leg has an IPv4 address, nodes are registered with their
 * IPv6 InternalIP only. Real controller, real agents, pods wired by the real flannel CNI plugin
 * (v0.9.1 accepts a subnet.env with only FLANNEL_IPV6_NETWORK/FLANNEL_IPV6_SUBNET and asks
 * host-local for an IPv6 address only). n1, n2 share fd00:200::/64; n3 sits behind the router on
 * fd00:200:1::/64.
 */
import { readFileSync } from 'node:fs';
import { useControlPlane } from '../harness/jest.js';
import { NFT_TABLE_V4, NFT_TABLE_V6 } from '../../src/agent/netfilter/render.js';
import { CLI, type Lab } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import {
  bootLab,
  describeLab,
  destroyLab,
  leases,
  remoteAddressSeen,
  type NetworkSpec,
} from './helpers.js';

const V6NET = 'fd00:10::/48';
/** The router's address on each segment: "outside" the pod network. */
const ROUTER6 = ['fd00:200::fe', 'fd00:200:1::fe'];

async function subnet6(lab: Lab, net: string, node: string): Promise<string> {
  const l = (await leases(lab, net)).find((x) => x.spec.nodeName === node);
  if (!l?.spec.ipv6Subnet) throw new Error(`no ipv6Subnet for ${node}`);
  return l.spec.ipv6Subnet;
}

/** Boots the v6-only lab; every lease has its v6 data, each node runs one pod. */
async function bootV6Lab(
  cp: Parameters<typeof bootLab>[0],
  net: string,
  spec: NetworkSpec,
  agentArgs: string[] = [],
): Promise<Lab> {
  const lab = await bootLab(
    cp,
    net,
    { network: null, ipv6Network: V6NET, ...spec },
    {
      underlay: 'ipv6',
      agentArgs,
    },
  );
  await waitFor(
    'v6 data on every lease',
    async () => {
      const ls = await leases(lab, net);
      return ls.length === 3 && ls.every((l) => l.spec.ipv6Subnet && l.status?.publicIPv6);
    },
    30_000,
    250,
  );
  for (const n of ['n1', 'n2', 'n3']) await lab.addPod(n, `p${n.slice(1)}`);
  return lab;
}

/** Nodes have no IPv4 address; leases no IPv4 data; Nodes get the single v6 podCIDR. */
async function expectV6Only(lab: Lab, net: string): Promise<void> {
  for (const n of lab.nodes.values()) {
    const v4 = await lab.exec(n.name, 'ip', ['-4', '-o', 'addr', 'show', 'scope', 'global']);
    expect(v4.stdout.trim()).toBe('');
  }
  for (const l of await leases(lab, net)) {
    expect(l.spec.subnet).toBeUndefined();
    expect(l.status?.publicIP).toBeUndefined();
    expect(l.status?.backend?.vtepMAC).toBeUndefined();
    expect(l.status?.publicIPv6).toBe(lab.node(l.spec.nodeName).ip6);
    const node = await lab.client.get<{ spec: { podCIDR?: string; podCIDRs?: string[] } }>(
      `/api/v1/nodes/${l.spec.nodeName}`,
    );
    expect(node.spec.podCIDR).toBe(l.spec.ipv6Subnet);
    expect(node.spec.podCIDRs).toEqual([l.spec.ipv6Subnet]);
  }
  for (const p of lab.pods.values()) {
    expect(p.ip).toBe('');
    expect(p.ip6).toMatch(/^fd00:10:/);
  }
}

/** subnet.env has exactly the keys the plugin reads for one IPv6 network. */
function expectV6SubnetEnv(lab: Lab, node: string, subnet: string, mtu: number): void {
  const env = readFileSync(lab.node(node).subnetFile, 'utf8');
  expect(env).toBe(
    `FLANNEL_IPV6_NETWORK=${V6NET}\nFLANNEL_IPV6_SUBNET=${subnet.replace('::/', '::1/')}\n` +
      `FLANNEL_MTU=${mtu}\nFLANNEL_IPMASQ=true\n`,
  );
}

/** pod -> router (outside the pod network): the router sees the node's v6 address. */
async function expectMasquerade(lab: Lab, pod: string): Promise<void> {
  const p = lab.pods.get(pod)!;
  const n = lab.node(p.node);
  const seen = await remoteAddressSeen(lab, lab.routerNs, ROUTER6[n.segment]!, p.ns);
  expect(seen).toBe(n.ip6);
}

async function expectMatrix(lab: Lab, pods: string[]): Promise<void> {
  const m = await lab.pingMatrix(3, pods, 'ipv6');
  expect(m.filter((x) => !x.ok)).toEqual([]);
  expect(m).toHaveLength(pods.length * (pods.length - 1));
}

async function doctorClean(lab: Lab, kubeconfig: string, node: string): Promise<unknown> {
  const r = await lab.exec(node, process.execPath, [
    CLI,
    'doctor',
    node,
    '--kubeconfig',
    kubeconfig,
    '--subnet-file',
    lab.node(node).subnetFile,
    '-o',
    'json',
  ]);
  expect({ stderr: r.stderr, empty: r.stdout === '' }).toEqual({ stderr: '', empty: false });
  const report = JSON.parse(r.stdout) as { clean: boolean; differences: unknown[] };
  expect(report.differences).toEqual([]);
  expect(r.code).toBe(0);
  return report;
}

describeLab('agent IPv6-only network, vxlan + nftables (netns lab)', () => {
  const NET = 'v6vx';
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootV6Lab(cp(), NET, { backend: { type: 'vxlan' } });
  }, 180_000);
  afterAll(() => destroyLab(lab), 60_000);

  it('nodes, leases and pods are IPv6 only; Nodes get the v6 podCIDR', async () => {
    await expectV6Only(lab, NET);
  });

  it('flannel-v6.1 only (no flannel.1), v6 routes to both peers, subnet.env with the v6 keys', async () => {
    const links = (await lab.exec('n1', 'ip', ['-o', 'link', 'show'])).stdout;
    expect(links).toContain('flannel-v6.1');
    expect(links).not.toMatch(/ flannel\.1[:@]/);
    const rs = await lab.routes('n1', 6);
    for (const peer of ['n2', 'n3']) {
      const s = await subnet6(lab, NET, peer);
      expect(rs.find((r) => r.dst === s)).toMatchObject({
        gateway: s.split('/')[0],
        dev: 'flannel-v6.1',
        protocol: '157',
      });
    }
    expectV6SubnetEnv(lab, 'n1', await subnet6(lab, NET, 'n1'), 1430);
  });

  it('v6 ping matrix across both segments (n3 routed)', async () => {
    await expectMatrix(lab, ['p1', 'p2', 'p3']);
  }, 60_000);

  it('pod -> outside is masqueraded to the node v6 address (nftables)', async () => {
    const nft = (fam: string, t: string) => lab.exec('n1', 'nft', ['list', 'table', fam, t]);
    expect((await nft('ip6', NFT_TABLE_V6)).code).toBe(0);
    expect((await nft('ip', NFT_TABLE_V4)).code).not.toBe(0);
    await expectMasquerade(lab, 'p1');
    await expectMasquerade(lab, 'p3');
  }, 30_000);

  it('kubectl flannel doctor finds nothing to change on an IPv6-only node', async () => {
    await doctorClean(lab, cp().kubeconfigPath, 'n3');
  }, 30_000);
});

describeLab('agent IPv6-only network, host-gw + iptables (netns lab)', () => {
  const NET = 'v6hgw';
  const cp = useControlPlane({
    root: true,
    tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
  });
  let lab: Lab;

  beforeAll(async () => {
    lab = await bootV6Lab(cp(), NET, { backend: { type: 'host-gw' } }, ['--netfilter', 'iptables']);
  }, 180_000);
  afterAll(() => destroyLab(lab), 60_000);

  it('routes via peer v6 node addresses; the routed-segment peer is pending, not half-programmed', async () => {
    await expectV6Only(lab, NET);
    const s2 = await subnet6(lab, NET, 'n2');
    const s3 = await subnet6(lab, NET, 'n3');
    const rs = await lab.routes('n1', 6);
    expect(rs.find((r) => r.dst === s2)).toMatchObject({
      gateway: lab.node('n2').ip6,
      dev: 'eth0',
      protocol: '157',
    });
    expect(rs.find((r) => r.dst === s3)).toBeUndefined();
    expect(await lab.metric('n1', 'flannel_agent_pending_peers')).toBe(1);
    expect(await lab.metric('n1', 'flannel_agent_peers')).toBe(1);
    const links = (await lab.exec('n1', 'ip', ['-o', 'link', 'show'])).stdout;
    expect(links).not.toContain('flannel');
    expectV6SubnetEnv(lab, 'n1', await subnet6(lab, NET, 'n1'), 1500);
  });

  it('v6 ping matrix on the shared segment', async () => {
    await expectMatrix(lab, ['p1', 'p2']);
  }, 60_000);

  it('pod -> outside is masqueraded to the node v6 address (ip6tables fallback)', async () => {
    const nat = await lab.exec('n1', 'ip6tables', ['-t', 'nat', '-S']);
    expect(nat.stdout).toContain('MASQUERADE');
    expect(nat.stdout).toContain(V6NET);
    await expectMasquerade(lab, 'p1');
    await expectMasquerade(lab, 'p3');
  }, 30_000);
});
