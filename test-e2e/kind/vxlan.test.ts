/**
 * One vxlan cluster for several scenarios, in this order (each leaves the cluster as the next expects):
 *   a  basics; e  kubectl plugin; g  netpol sidecar; c  traffic during disruptions;
 *   (conformance slot); d  node removal; f  uninstall (last: it takes the operator away).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConformance } from './conformance/jest.js';
import { describeBasics, useKindCluster } from './harness/jest.js';
import { CLI_PLUGIN, OPERATOR_NAMESPACE, runKind } from './harness/env.js';
import {
  AGENT_DAEMONSET,
  agentPods,
  agentRolledOut,
  controllerLeader,
  holderNode,
  helmUpgrade,
  leaderControllerPods,
  waitAgentTemplate,
} from './harness/operator.js';
import {
  NFT_QUEUE_UNSUPPORTED,
  networkPolicyManifest,
  nodeKernelHasNftQueue,
} from './harness/netpol.js';
import { trafficDuring, type TrafficResult } from './harness/traffic.js';
import { nodeSubnet, peerState } from './harness/node-removal.js';
import { nodeLeftovers, operatorObjects } from './harness/uninstall.js';
import { podSh, tcpMatrix, testPods } from './harness/workloads.js';
import { waitFor } from '../harness/process.js';

describe('kind: vxlan', () => {
  const suite = useKindCluster({ name: 'fo-vxlan', backend: 'vxlan', workers: 2 });

  describe('a: basics', () => describeBasics(suite));

  describe('e: kubectl flannel', () => {
    let bin: string;
    beforeAll(() => {
      bin = mkdtempSync(join(tmpdir(), 'flop-kind-plugin-'));
      writeFileSync(join(bin, 'kubectl-flannel'), `#!/bin/sh\nexec node ${CLI_PLUGIN} "$@"\n`);
      chmodSync(join(bin, 'kubectl-flannel'), 0o755);
    });
    afterAll(() => rmSync(bin, { recursive: true, force: true }));

    it('`kubectl flannel status` runs against the cluster', async () => {
      const r = await runKind('sh', [
        '-c',
        `PATH=${bin}:$PATH kubectl flannel status --kubeconfig ${suite.cluster().kubeconfig}`,
      ]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      for (const node of await suite.cluster().nodes()) expect(r.stdout).toContain(node);
    });

    it('`kubectl flannel doctor` exits 0 inside every agent pod', async () => {
      const pods = await agentPods(suite.cluster());
      expect(pods.length).toBe(3);
      for (const pod of pods) {
        const r = await suite
          .cluster()
          .kubectlResult([
            '-n',
            OPERATOR_NAMESPACE,
            'exec',
            pod.name,
            '-c',
            'agent',
            '--',
            'kubectl-flannel',
            'doctor',
            pod.node,
          ]);
        expect({
          pod: pod.name,
          code: r.code,
          out: r.code === 0 ? '' : r.stdout + r.stderr,
        }).toEqual({ pod: pod.name, code: 0, out: '' });
      }
    });
  });

  describe('g: netpol.enabled=true', () => {
    it('the sidecar runs with the chart RBAC; enforcement checked where the kernel can queue', async () => {
      const cluster = suite.cluster();
      await helmUpgrade(cluster, { 'netpol.enabled': true });
      await waitAgentTemplate(cluster, 'has the kube-network-policies sidecar', (t) =>
        t.includes('kube-network-policies'),
      );
      const pods = await agentPods(cluster);
      for (const pod of pods)
        expect(pod.containers.map((c) => c.name).sort()).toEqual([
          'agent',
          'kube-network-policies',
        ]);
      // RBAC: the sidecar's informers list pods, namespaces, nodes and NetworkPolicies without a denial.
      await new Promise((r) => setTimeout(r, 5_000));
      const logs = await cluster.kubectl([
        '-n',
        OPERATOR_NAMESPACE,
        'logs',
        pods[0]!.name,
        '-c',
        'kube-network-policies',
        '--tail=-1',
      ]);
      expect(logs).not.toMatch(/forbidden/i);

      const probe = await nodeKernelHasNftQueue(cluster, pods[0]!.node);
      if (!probe.ok) {
        console.warn(`${NFT_QUEUE_UNSUPPORTED} (${probe.detail})`);
        return;
      }
      expect(await policyLeaks()).toEqual([]);
    }, 600_000);

    it('a failing sidecar never takes the agent or pod networking down', async () => {
      const cluster = suite.cluster();
      const before = await agentPods(cluster);
      // Kill every sidecar (on this kernel it also fails to program its rules, see above).
      for (const pod of before) {
        const r = await cluster.nodeExec(pod.node, `pkill -9 -f '^/bin/netpol' || true`);
        expect(r.code).toBe(0);
      }
      await new Promise((r) => setTimeout(r, 5_000));
      const after = await agentPods(cluster);
      for (const pod of after) {
        const was = before.find((p) => p.uid === pod.uid);
        expect(was).toBeDefined(); // same pods: nothing was recreated
        const agent = pod.containers.find((c) => c.name === 'agent')!;
        const agentBefore = was!.containers.find((c) => c.name === 'agent')!;
        expect({ pod: pod.name, ready: agent.ready, restarts: agent.restartCount }).toEqual({
          pod: pod.name,
          ready: true,
          restarts: agentBefore.restartCount,
        });
      }
      expect(await tcpMatrix(cluster, await testPods(cluster), 4)).toEqual([]);
      await helmUpgrade(cluster, { 'netpol.enabled': false });
      await waitAgentTemplate(
        cluster,
        'without the sidecar',
        (t) => !t.includes('kube-network-policies'),
      );
    }, 600_000);

    /** allowed -> server must connect, stranger -> server must not; returns the leaks/failures. */
    async function policyLeaks(): Promise<string[]> {
      const cluster = suite.cluster();
      const ns = 'fo-np';
      const pod = (name: string, labels: Record<string, string>, args: string[]): string =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: ns, labels },
          spec: {
            containers: [
              { name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.56', args },
            ],
          },
        });
      await cluster.kubectl(['create', 'namespace', ns]);
      try {
        for (const p of [
          pod('server', { app: 'fo-np-server' }, ['netexec', '--http-port=8080']),
          pod('allowed', { access: 'allowed' }, ['pause']),
          pod('stranger', { access: 'none' }, ['pause']),
        ])
          await cluster.kubectl(['apply', '-f', '-'], { input: p });
        await cluster.kubectl(
          ['-n', ns, 'wait', 'pod', '--all', '--for=condition=Ready', '--timeout=120s'],
          { timeoutMs: 150_000 },
        );
        await cluster.kubectl(['apply', '-f', '-'], { input: networkPolicyManifest(ns) });
        const ip = (
          await cluster.kubectl([
            '-n',
            ns,
            'get',
            'pod',
            'server',
            '-o',
            'jsonpath={.status.podIP}',
          ])
        ).trim();
        const problems: string[] = [];
        await waitFor(
          'policy enforced for the stranger',
          async () => (await curlFrom('stranger')) !== 0,
          30_000,
          1_000,
        ).catch(() => problems.push('stranger -> server connected (policy leak)'));
        if ((await curlFrom('allowed')) !== 0) problems.push('allowed -> server failed');
        return problems;
        async function curlFrom(client: string): Promise<number> {
          const r = await cluster.kubectlResult([
            '-n',
            ns,
            'exec',
            client,
            '--',
            'curl',
            '-sS',
            '-m',
            '3',
            `http://${ip}:8080/hostname`,
          ]);
          return r.code;
        }
      } finally {
        await cluster.kubectlResult(['delete', 'namespace', ns, '--wait=false']);
      }
    }
  });

  describe('c: continuous pod-to-pod traffic', () => {
    const lost: Record<string, TrafficResult> = {};
    afterAll(() => {
      for (const [what, r] of Object.entries(lost))
        console.log(`4c ${what}: lost ${r.failed} of ${r.total} requests`);
    });

    async function during(what: string, disrupt: () => Promise<void>): Promise<void> {
      const pods = await testPods(suite.cluster());
      const [client, server] = pods.filter((p) => !p.node.endsWith('control-plane'));
      const r = await trafficDuring(suite.cluster(), client!.name, server!.ips[0]!, disrupt);
      lost[what] = r;
      expect(r.total).toBeGreaterThan(50);
      expect({ what, failed: r.failed, failures: r.failures.slice(0, 10) }).toEqual({
        what,
        failed: 0,
        failures: [],
      });
    }

    it('while an agent pod is deleted', async () => {
      const cluster = suite.cluster();
      await during('agent pod deleted', async () => {
        const clientNode = (await testPods(cluster)).filter(
          (p) => !p.node.endsWith('control-plane'),
        )[0]!.node;
        const agent = (await agentPods(cluster)).find((p) => p.node === clientNode)!;
        await cluster.kubectl([
          '-n',
          OPERATOR_NAMESPACE,
          'delete',
          'pod',
          agent.name,
          '--wait=true',
        ]);
        await agentRolledOut(cluster);
      });
    }, 900_000);

    it('while `helm upgrade` re-rolls the DaemonSet', async () => {
      const cluster = suite.cluster();
      await during('helm upgrade re-roll', async () => {
        await helmUpgrade(cluster, { 'flannel.logLevel': 'debug' });
        await waitAgentTemplate(cluster, 'agents at --log-level=debug', (t) =>
          t.includes('--log-level=debug'),
        );
      });
    }, 900_000);

    it('while the controller pod is deleted', async () => {
      const cluster = suite.cluster();
      await during('controller pod deleted', async () => {
        const leader = await controllerLeader(cluster);
        expect(leader).not.toBe('');
        const pods = await leaderControllerPods(cluster, leader);
        expect(pods.length).toBeGreaterThan(0);
        await cluster.kubectl(['-n', OPERATOR_NAMESPACE, 'delete', 'pod', ...pods, '--wait=true']);
        await waitFor(
          'a new controller leader',
          async () => (await controllerLeader(cluster)) !== leader,
          120_000,
          1_000,
        );
      });
    }, 900_000);
  });

  // --- conformance (helper "conformance") ---
  describe('h: Kubernetes sig-network conformance', () => {
    describeConformance(suite, 'vxlan');
  });
  // --- end conformance ---

  describe('d: node removal', () => {
    it('the other nodes lose every route, neighbour and FDB entry of a removed worker within 5 s', async () => {
      const cluster = suite.cluster();
      const nodes = await cluster.nodes();
      // Not the controller leader's node: the controller deletes the lease, and a leader lost
      // with its node is replaced only once its Lease expires (~15 s; 4c tests that failover).
      // Measured here: the agents, from the lease's deletion.
      const leaderNode = holderNode(await controllerLeader(cluster));
      const gone = nodes.filter((n) => n !== leaderNode).at(-1)!;
      expect(gone).not.toMatch(/control-plane/);
      const rest = nodes.filter((n) => n !== gone);
      const subnet = await nodeSubnet(cluster, gone);
      const ip = (
        await cluster.kubectl([
          'get',
          'node',
          gone,
          '-o',
          'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
        ])
      ).trim();
      for (const n of rest)
        expect((await peerState(cluster, n, subnet, ip)).length).toBeGreaterThan(0);

      // Removal: the node's container goes, then its Node object; the clock starts at the Node delete.
      await runKind('docker', ['rm', '-f', '-v', gone]);
      const start = Date.now();
      await cluster.kubectl(['delete', 'node', gone, '--wait=false']);
      const left = new Map<string, string[]>();
      const cleanAfter = await waitFor(
        `no state for ${gone} (${subnet}, ${ip}) on ${rest.join(', ')}`,
        async () => {
          for (const n of rest) left.set(n, await peerState(cluster, n, subnet, ip));
          return [...left.values()].every((l) => l.length === 0) ? Date.now() - start : undefined;
        },
        30_000,
        200,
      ).catch(() => Infinity);
      console.log(
        `4d: state for removed node ${gone} gone from ${rest.join(', ')} after ${cleanAfter} ms (controller leader on ${leaderNode})`,
      );
      expect(Object.fromEntries(left)).toEqual(Object.fromEntries(rest.map((n) => [n, []])));
      expect(cleanAfter).toBeLessThanOrEqual(5_000);
    }, 300_000);
  });

  describe('f: uninstall', () => {
    it('helm uninstall + deleting the CRDs leaves only the documented Lease; nodes keep only the documented dataplane', async () => {
      const cluster = suite.cluster();
      await cluster.helm(
        ['uninstall', 'flannel-operator', '-n', OPERATOR_NAMESPACE, '--wait', '--timeout', '5m'],
        { timeoutMs: 330_000 },
      );
      await cluster.kubectl(
        [
          'delete',
          'crd',
          'flannelnetworks.network.flannel-operator.io',
          'subnetleases.network.flannel-operator.io',
        ],
        {
          timeoutMs: 180_000,
        },
      );
      await waitFor(
        'no operator objects',
        async () => {
          const left = await operatorObjects(cluster);
          return (
            left.join(' ') === DOCUMENTED_OBJECT ||
            (console.log(`still there: ${left.join(' ')}`), false)
          );
        },
        180_000,
        2_000,
      );
      expect(
        await cluster.kubectlResult([
          '-n',
          OPERATOR_NAMESPACE,
          'get',
          'daemonset',
          AGENT_DAEMONSET,
        ]),
      ).toMatchObject({ code: 1 });
      // README "Uninstall": the agent leaves the node's dataplane in place on purpose.
      for (const node of await cluster.nodes()) {
        expect({ node, left: await nodeLeftovers(cluster, node) }).toEqual({
          node,
          left: DOCUMENTED_LEFTOVERS,
        });
      }
      // Pods that kept their network keep talking (the dataplane stays until reboot or manual cleanup).
      const pods = await testPods(cluster);
      const r = await podSh(
        cluster,
        pods[0]!.name,
        `curl -sS -m 5 http://${pods[1]!.ips[0]}:8080/hostname`,
      );
      expect(r.stdout.trim()).toBe(pods[1]!.name);
    }, 600_000);
  });
});

/**
 * The one API object left (README "Uninstall"): the controller's leader-election Lease, which the
 * controller creates at run time (Helm does not own it) and releases but does not delete on stop.
 */
const DOCUMENTED_OBJECT = 'lease.coordination.k8s.io/flannel-operator-controller';

/** What stays on every node after uninstall (README "Uninstall" lists the same, with why). */
const DOCUMENTED_LEFTOVERS = [
  'flannel.* device',
  'routes via flannel.*',
  'nft tables flannel-operator-*',
  '/run/flannel/subnet.env',
  '/etc/cni/net.d/10-flannel.conflist',
  '/opt/cni/bin/flannel',
];
