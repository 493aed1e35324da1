/**
 * Coexisting with the host's firewall and sysctls, per backend, in the netns lab (all changes
 * inside the node namespaces, never the host's):
 * - iptables `filter FORWARD` policy DROP (Docker, hardened hosts) set before the agent starts
 *   (n1, n3) and while it runs (n2, "Docker started later"), iptables-nft and iptables-legacy;
 *   drift repair of the accept rules and an agent restart under that policy;
 * - a foreign nftables chain with `policy drop` at the forward hook: the agent cannot override
 *   it and says so (Warning Event, ForwardingBlocked, not ready), as does `kubectl flannel doctor`;
 * - an IPv4-only network writes no IPv6 sysctl.
 */
import { leaseName } from '../../src/api/names.js';
import type { SubnetLease } from '../../src/api/index.js';
import { useControlPlane } from '../harness/jest.js';
import { CLI, type Lab } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import {
  applyNetwork,
  bootLab,
  describeLab,
  destroyLab,
  LEASES,
  leases,
  routeTo,
  subnetOf,
  waitAgentsReady,
  type NetworkSpec,
} from './helpers.js';

type Family = 'ipv4' | 'ipv6';
const V6NET = 'fd00:10::/48';
/** The router: "outside" for pods (reached through the node's forwarding and masquerade). */
const OUTSIDE: Record<Family, string> = { ipv4: '10.200.0.254', ipv6: 'fd00:200::fe' };
const JUMP = ['-j', 'FLANNEL-OP-FWD', '-m', 'comment', '--comment', 'flannel-operator'];

const xt = (family: Family, flavour: 'nft' | 'legacy'): string =>
  `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${flavour}`;

async function setForwardPolicy(
  lab: Lab,
  node: string,
  flavour: 'nft' | 'legacy',
  families: Family[],
  policy: 'DROP' | 'ACCEPT' = 'DROP',
): Promise<void> {
  for (const f of families) {
    const r = await lab.exec(node, xt(f, flavour), ['-w', '5', '-P', 'FORWARD', policy]);
    expect(r).toMatchObject({ code: 0 });
  }
}

async function hasJump(lab: Lab, node: string, bin: string): Promise<boolean> {
  return (await lab.exec(node, bin, ['-w', '5', '-C', 'FORWARD', ...JUMP])).code === 0;
}

async function jumpCount(lab: Lab, node: string, bin: string): Promise<number> {
  const s = await lab.exec(node, bin, ['-w', '5', '-S', 'FORWARD']);
  return s.stdout.split('\n').filter((l) => l.includes('-j FLANNEL-OP-FWD')).length;
}

/**
 * Every pod reaches every other pod (of `only`: host-gw cannot reach the off-segment n3) and the
 * outside, in each family.
 */
async function expectTraffic(lab: Lab, families: Family[], only?: string[]): Promise<void> {
  for (const f of families) {
    const m = await lab.pingMatrix(3, only, f);
    expect({ family: f, failed: m.filter((x) => !x.ok) }).toEqual({ family: f, failed: [] });
    expect(m).toHaveLength(only ? only.length * (only.length - 1) : 6);
    for (const p of lab.pods.values()) {
      let ok = false;
      for (let i = 0; i < 3 && !ok; i++) ok = await lab.ping(p.name, OUTSIDE[f]);
      expect({ family: f, pod: p.name, outside: ok }).toEqual({
        family: f,
        pod: p.name,
        outside: true,
      });
    }
  }
}

/** All readable files under /proc/sys/net/ipv6 of a node, path -> value. */
async function ipv6Sysctls(lab: Lab, node: string): Promise<Map<string, string>> {
  const r = await lab.exec(node, 'sh', [
    '-c',
    'cd /proc/sys/net/ipv6 && find . -type f | while read -r f; do v=$(cat "$f" 2>/dev/null | tr "\\n\\t" "  ") && echo "$f=$v"; done',
  ]);
  return new Map(
    r.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
}

interface SuiteOptions {
  families: Family[];
  /** Pods of the pod-to-pod matrix (default all). */
  matrix?: string[];
  directRouting?: boolean;
  foreignChain?: boolean;
  sysctls?: boolean;
}

function forwardDropSuite(title: string, net: string, spec: NetworkSpec, o: SuiteOptions): void {
  describeLab(title, () => {
    const cp = useControlPlane({
      root: true,
      tools: ['etcd', 'kube-apiserver', 'bridge', 'host-local', 'portmap'],
      commands: ['iptables-nft', 'iptables-legacy', 'ip6tables-nft', 'ip6tables-legacy'],
    });
    let lab: Lab;
    const v6Before = new Map<string, Map<string, string>>();

    beforeAll(async () => {
      lab = await bootLab(cp(), net, spec, {
        beforeAgents: async (l) => {
          for (const n of ['n1', 'n3']) await setForwardPolicy(l, n, 'nft', o.families);
          if (o.sysctls) for (const n of l.nodes.keys()) v6Before.set(n, await ipv6Sysctls(l, n));
        },
      });
      if (o.families.includes('ipv6'))
        await waitFor(
          'v6 data on every lease',
          async () =>
            (await leases(lab, net)).every(
              (l) => l.spec.ipv6Subnet && l.status?.publicIPv6 && l.status.backend?.v6VtepMAC,
            ),
          30_000,
          250,
        );
      for (const n of ['n1', 'n2', 'n3']) await lab.addPod(n, `p${n.slice(1)}`);
    }, 180_000);

    afterAll(async () => {
      await destroyLab(lab);
    }, 60_000);

    it('FORWARD policy DROP set before the agent started (n1, n3): pod traffic flows', async () => {
      for (const f of o.families) {
        const s = await lab.exec('n1', xt(f, 'nft'), ['-S', 'FORWARD']);
        expect(s.stdout).toContain('-P FORWARD DROP');
        expect(await jumpCount(lab, 'n1', xt(f, 'nft'))).toBe(1);
      }
      await expectTraffic(lab, o.families, o.matrix);
    }, 90_000);

    it('FORWARD policy DROP set while it runs (n2, iptables-nft, Docker started later): no gap', async () => {
      await setForwardPolicy(lab, 'n2', 'nft', o.families);
      // No waiting: the accept rules were in place before the policy changed.
      await expectTraffic(lab, o.families, o.matrix);
    }, 90_000);

    it('iptables-legacy FORWARD DROP set while it runs: accept rules added there within a resync', async () => {
      for (const n of lab.nodes.keys()) await setForwardPolicy(lab, n, 'legacy', o.families);
      const t0 = Date.now();
      for (const n of lab.nodes.keys())
        for (const f of o.families)
          await waitFor(
            `${xt(f, 'legacy')} jump on ${n}`,
            () => hasJump(lab, n, xt(f, 'legacy')),
            12_000,
            200,
          );
      console.log(`legacy FORWARD accept rules on all nodes after ${Date.now() - t0} ms`);
      await expectTraffic(lab, o.families, o.matrix);
    }, 90_000);

    if (o.directRouting)
      it('DirectRouting under FORWARD DROP: the same-segment peer via the underlay', async () => {
        await applyNetwork(lab, net, { ...spec, backend: { type: 'vxlan', directRouting: true } });
        const s2 = await subnetOf(lab, 'n2', net);
        await waitFor(
          'n1 -> n2 direct route',
          async () => (await routeTo(lab, 'n1', s2))?.gateway === lab.node('n2').ip,
          20_000,
          100,
        );
        expect(await routeTo(lab, 'n1', s2)).toMatchObject({ dev: 'eth0' });
        expect((await routeTo(lab, 'n1', await subnetOf(lab, 'n3', net)))?.dev).toBe('flannel.1');
        await expectTraffic(lab, o.families, o.matrix);
      }, 90_000);

    it('drift: flushed accept rules and a deleted jump come back', async () => {
      for (const f of o.families) {
        const bin = xt(f, 'nft');
        expect((await lab.exec('n1', bin, ['-D', 'FORWARD', ...JUMP])).code).toBe(0);
        expect((await lab.exec('n1', bin, ['-F', 'FLANNEL-OP-FWD'])).code).toBe(0);
      }
      expect((await lab.exec('n2', xt('ipv4', 'legacy'), ['-F', 'FLANNEL-OP-FWD'])).code).toBe(0);
      // Found by the periodic resync (5 s here).
      await waitFor(
        'accept rules back',
        async () => {
          for (const f of o.families) {
            const s = await lab.exec('n1', xt(f, 'nft'), ['-S', 'FLANNEL-OP-FWD']);
            if (!(await hasJump(lab, 'n1', xt(f, 'nft'))) || !s.stdout.includes('-j ACCEPT'))
              return false;
          }
          const l = await lab.exec('n2', xt('ipv4', 'legacy'), ['-S', 'FLANNEL-OP-FWD']);
          return l.stdout.split('\n').filter((x) => x.includes('-j ACCEPT')).length === 2;
        },
        12_000,
        200,
      );
      await expectTraffic(lab, o.families, o.matrix);
    }, 90_000);

    it('agent restart: accept rules stay while it is down, one jump each afterwards', async () => {
      await lab.stopAgent('n1');
      for (const f of o.families) {
        expect(await hasJump(lab, 'n1', xt(f, 'nft'))).toBe(true);
        expect(await hasJump(lab, 'n1', xt(f, 'legacy'))).toBe(true);
      }
      // Traffic through n1 keeps flowing without its agent.
      expect(await lab.ping('p1', lab.pods.get('p2')!.ip, { count: 2 })).toBe(true);
      lab.startAgent('n1', net, ['--resync-period', '5s']);
      await waitAgentsReady(lab);
      for (const f of o.families)
        for (const fl of ['nft', 'legacy'] as const)
          expect({ bin: xt(f, fl), jumps: await jumpCount(lab, 'n1', xt(f, fl)) }).toEqual({
            bin: xt(f, fl),
            jumps: 1,
          });
      await expectTraffic(lab, o.families, o.matrix);
    }, 90_000);

    if (o.foreignChain)
      it('a foreign inet chain with policy drop: Event, ForwardingBlocked, doctor finding, not ready', async () => {
        await foreignChainScenario(lab, cp().kubeconfigPath, net, spec);
      }, 120_000);

    if (o.sysctls)
      it('IPv4-only network: every IPv6 sysctl left as it was, IPv4 forwarding on', async () => {
        for (const n of lab.nodes.keys()) {
          const before = v6Before.get(n)!;
          expect(before.get('./conf/all/forwarding')).toBe('0');
          const after = await ipv6Sysctls(lab, n);
          const changed = [...before].filter(([k, v]) => after.get(k) !== v);
          expect({ node: n, changed }).toEqual({ node: n, changed: [] });
          // The agent's own vxlan device keeps the kernel's defaults too (no accept_ra write).
          for (const k of ['accept_ra', 'accept_dad', 'forwarding'])
            expect({ node: n, k, v: after.get(`./conf/flannel.1/${k}`) }).toEqual({
              node: n,
              k,
              v: after.get(`./conf/default/${k}`),
            });
          const v4 = await lab.exec(n, 'cat', ['/proc/sys/net/ipv4/ip_forward']);
          expect(v4.stdout.trim()).toBe('1');
        }
      }, 30_000);
  });
}

async function lease(lab: Lab, net: string): Promise<SubnetLease> {
  return lab.client.get<SubnetLease>(`${LEASES}/${leaseName(net, 'n1')}`);
}

async function doctor(lab: Lab, kubeconfig: string): Promise<{ code: number; drops: string[] }> {
  const n = lab.node('n1');
  const r = await lab.exec('n1', process.execPath, [
    CLI,
    'doctor',
    'n1',
    '--kubeconfig',
    kubeconfig,
    '--subnet-file',
    n.subnetFile,
    '-o',
    'json',
  ]);
  const report = JSON.parse(r.stdout) as {
    differences: Array<{ change: string; object: string; have?: string }>;
  };
  return {
    code: r.code,
    drops: report.differences.filter((d) => d.change === 'drops').map((d) => d.have ?? ''),
  };
}

/** n1 gets a host firewall chain that drops forwarded traffic; then the user adds accepts. */
async function foreignChainScenario(
  lab: Lab,
  kubeconfig: string,
  net: string,
  spec: NetworkSpec,
): Promise<void> {
  const v4 = '10.244.0.0/16';
  const add = (script: string) => lab.exec('n1', 'nft', ['-f', '-'], { input: script });
  expect(
    await add(
      'table inet hostfw {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n }\n}\n',
    ),
  ).toMatchObject({ code: 0 });
  // It really drops pod traffic through n1 (what the agent must report).
  expect(await lab.ping('p1', lab.pods.get('p2')!.ip, { count: 1, timeoutS: 1 })).toBe(false);
  await waitFor(
    'n1 not ready',
    async () => (await lab.httpGet('n1', 9102, '/readyz')).status !== 200,
    12_000,
    200,
  );
  let cond = (await lease(lab, net)).status?.conditions ?? [];
  await waitFor(
    'ForwardingBlocked True',
    async () => {
      cond = (await lease(lab, net)).status?.conditions ?? [];
      return cond.some((c) => c.type === 'ForwardingBlocked' && c.status === 'True');
    },
    10_000,
    200,
  );
  const fb = cond.find((c) => c.type === 'ForwardingBlocked')!;
  expect(fb).toMatchObject({ reason: 'ForeignChainDrops' });
  expect(fb.message).toContain('inet hostfw forward');
  expect(fb.message).toContain(v4);
  if (spec.ipv6Network) expect(fb.message).toContain(V6NET);
  expect(cond.find((c) => c.type === 'Ready')).toMatchObject({
    status: 'False',
    reason: 'ForwardingBlocked',
  });
  const families = spec.ipv6Network ? 2 : 1;
  expect(await lab.metric('n1', 'flannel_agent_forwarding_blocked')).toBe(families);
  await waitFor(
    'Warning Event ForwardingBlocked',
    async () => {
      const { items } = await lab.client.get<{
        items: Array<{ type: string; reason: string; regarding?: { name?: string } }>;
      }>('/apis/events.k8s.io/v1/namespaces/default/events');
      return items.some(
        (e) =>
          e.type === 'Warning' &&
          e.reason === 'ForwardingBlocked' &&
          e.regarding?.name === leaseName(net, 'n1'),
      );
    },
    10_000,
    200,
  );
  const d = await doctor(lab, kubeconfig);
  expect(d.code).toBe(1);
  expect(d.drops).toHaveLength(families);
  expect(d.drops.join('\n')).toContain('inet hostfw forward');

  // The user fixes IPv4 only: with a dual-stack network it stays blocked, for IPv6 alone.
  await add(
    `add rule inet hostfw forward ip saddr ${v4} accept\nadd rule inet hostfw forward ip daddr ${v4} accept\n`,
  );
  if (spec.ipv6Network) {
    await waitFor(
      'blocked for IPv6 only',
      async () => {
        const m = (await lease(lab, net)).status?.conditions?.find(
          (c) => c.type === 'ForwardingBlocked',
        )?.message;
        return !!m && m.includes(V6NET) && !m.includes(v4);
      },
      12_000,
      200,
    );
    expect((await lab.httpGet('n1', 9102, '/readyz')).status).not.toBe(200);
    await add(
      `add rule inet hostfw forward ip6 saddr ${V6NET} accept\nadd rule inet hostfw forward ip6 daddr ${V6NET} accept\n`,
    );
  }
  await waitFor(
    'n1 ready again',
    async () => (await lab.httpGet('n1', 9102, '/readyz')).status === 200,
    12_000,
    200,
  );
  await waitFor(
    'ForwardingBlocked False',
    async () =>
      !!(await lease(lab, net)).status?.conditions?.some(
        (c) => c.type === 'ForwardingBlocked' && c.status === 'False',
      ),
    10_000,
    200,
  );
  expect((await doctor(lab, kubeconfig)).drops).toEqual([]);
  await expectTraffic(lab, spec.ipv6Network ? ['ipv4', 'ipv6'] : ['ipv4']);
  expect((await lab.exec('n1', 'nft', ['delete', 'table', 'inet', 'hostfw'])).code).toBe(0);
}

forwardDropSuite(
  'FORWARD DROP: vxlan + DirectRouting, IPv4-only (netns lab)',
  'fwdv4',
  { backend: { type: 'vxlan' } },
  { families: ['ipv4'], directRouting: true, sysctls: true },
);
forwardDropSuite(
  'FORWARD DROP: host-gw (netns lab)',
  'fwdhgw',
  { backend: { type: 'host-gw' } },
  { families: ['ipv4'], matrix: ['p1', 'p2'] },
);
forwardDropSuite(
  'FORWARD DROP: dual-stack vxlan + DirectRouting, IPv4 and IPv6 (netns lab)',
  'fwddual',
  { ipv6Network: V6NET, backend: { type: 'vxlan' } },
  { families: ['ipv4', 'ipv6'], directRouting: true, foreignChain: true },
);
