/**
 * Agent benchmark in the netns lab (root): one agent converging on 1,000 remote leases
 * (route + neighbor + fdb each present in the kernel of its node namespace), the latency of a
 * new node's route, and the agent's RSS. Floor: the same 3,000 kernel objects programmed by
 * `ip -batch` / `bridge -batch` into a fresh namespace, measured in the same run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCrds, startControlPlane } from '../test-e2e/harness/control-plane.js';
import { REPO, createLab, labUnavailable, sh, waitUntil, type Lab } from '../test-e2e/lab/lab.js';
import {
  API_VERSION,
  FLANNEL_NETWORK,
  LABEL_NETWORK,
  LABEL_NODE,
  SUBNET_LEASE,
} from '../src/api/index.js';
import { leaseName } from '../src/api/names.js';
import { collectionPath } from '../src/kube/resources.js';
import { runLimited } from '../src/controller/controller.js';
import { ROUTE_PROTOCOL, deriveVtepMAC } from '../src/agent/desired.js';
import type { BenchResult } from './types.js';

const NET = 'bench';
const PEERS = Number(process.env.BENCH_AGENT_PEERS ?? 1000);
const LEASES = collectionPath(API_VERSION, SUBNET_LEASE.plural);

/** Peer i: subnet 10.<128+i/256>.<i%256>.0/24 (inside 10.128.0.0/9), underlay IP 10.200.<1+i/250>.<1+i%250>. */
function peer(i: number): { node: string; subnet: string; ip: string; mac: string } {
  const n = i + 1;
  return {
    node: `peer-${i}`,
    subnet: `10.${128 + (n >> 8)}.${n & 255}.0/24`,
    ip: `10.200.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    mac: deriveVtepMAC(`peer-${i}`, 1),
  };
}

async function createLease(
  lab: Lab,
  node: string,
  subnet: string,
  status?: { ip: string; mac: string },
): Promise<void> {
  const name = leaseName(NET, node);
  await lab.client.create(LEASES, {
    apiVersion: API_VERSION,
    kind: SUBNET_LEASE.kind,
    metadata: { name, labels: { [LABEL_NETWORK]: NET, [LABEL_NODE]: node } },
    spec: { nodeName: node, networkName: NET, subnet },
  });
  if (status) {
    await lab.client.applyStatus(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        metadata: { name },
        status: { publicIP: status.ip, backend: { type: 'vxlan', vni: 1, vtepMAC: status.mac } },
      },
      { fieldManager: 'bench', force: true },
    );
  }
}

async function countKernel(
  lab: Lab,
  node: string,
): Promise<{ routes: number; neigh: number; fdb: number }> {
  const count = async (cmd: string, args: string[]): Promise<number> =>
    (await lab.exec(node, cmd, args)).stdout.split('\n').filter((l) => l.trim()).length;
  const [routes, neigh, fdb] = await Promise.all([
    count('ip', ['-o', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)]),
    count('ip', ['neigh', 'show', 'dev', 'flannel.1', 'nud', 'permanent']),
    count('bridge', ['fdb', 'show', 'dev', 'flannel.1']),
  ]);
  return { routes, neigh, fdb };
}

function rssBytes(pid: number): number {
  // The agent runs under `ip netns exec`, which execs node in place: same pid.
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

export async function run(): Promise<BenchResult[]> {
  const why = labUnavailable();
  if (why) throw new Error(`agent bench needs the netns lab: ${why}`);
  const cp = await startControlPlane({ installCrds: false });
  let lab: Lab | undefined;
  try {
    // Compiled into dist-bench, the harness cannot find crds/ by itself: point it at the repo's.
    await installCrds(cp, join(REPO, 'crds'));
    lab = await createLab({ controlPlane: cp, nodes: [{ name: 'b1' }, { name: 'floor' }] });
    // The CRDs may still be getting established: retry the first write.
    await waitUntil(
      'FlannelNetwork accepted',
      async () =>
        !!(await lab!.client.apply(
          {
            apiVersion: API_VERSION,
            kind: FLANNEL_NETWORK.kind,
            metadata: { name: NET },
            spec: { network: '10.128.0.0/9', subnetLen: 24, backend: { type: 'vxlan' } },
          },
          { fieldManager: 'bench', force: true },
        )),
      30_000,
      250,
    );
    await createLease(lab, 'b1', '10.128.0.0/24');
    const peers = Array.from({ length: PEERS }, (_, i) => peer(i));
    await runLimited(peers, 16, (p) =>
      createLease(lab!, p.node, p.subnet, { ip: p.ip, mac: p.mac }),
    );

    // Agent: from process start to every route/neighbor/fdb in the kernel.
    const t0 = performance.now();
    const agent = lab.startAgent('b1', NET, ['--resync-period', '30s']);
    await waitUntil(
      'agent convergence',
      async () => {
        const c = await countKernel(lab!, 'b1');
        return c.routes >= PEERS && c.neigh >= PEERS && c.fdb >= PEERS;
      },
      120_000,
      50,
    );
    const convergeMs = performance.now() - t0;
    const rss = rssBytes(agent.pid);
    if (process.env.BENCH_AGENT_DEBUG) process.stderr.write(agent.logs().slice(0, 5000));
    // The agent logs how long its programming pass took (kernel read + diff + netlink writes).
    const passFromLog = (): number | undefined =>
      agent
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; peers?: number; ms?: number })
        .find((l) => l.msg === 'dataplane reconciled' && (l.peers ?? 0) >= PEERS)?.ms;
    // pino writes asynchronously: give the line a moment to reach the file.
    const passMs = await waitUntil(
      'programming pass logged',
      async () => passFromLog(),
      3000,
      50,
    ).catch(() => undefined);

    // A new node: lease (with status) created -> its route present on b1.
    const latencies: number[] = [];
    for (let k = 0; k < 5; k++) {
      const p = peer(PEERS + k);
      const t = performance.now();
      await createLease(lab, p.node, p.subnet, { ip: p.ip, mac: p.mac });
      await waitUntil(
        'new route',
        async () =>
          (await lab!.exec('b1', 'ip', ['-o', 'route', 'show', p.subnet])).stdout.includes(
            'flannel.1',
          ),
        10_000,
        5,
      );
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const newNodeMs = latencies[2]!;

    // Floor: the same objects with ip -batch / bridge -batch into a fresh namespace.
    const fl = lab.node('floor');
    const batchIp = [
      `link add flannel.1 type vxlan id 1 local ${fl.ip} dev eth0 dstport 8472 nolearning`,
      'link set flannel.1 up',
    ];
    const batchBr: string[] = [];
    for (const p of peers) {
      const gw = p.subnet.split('/')[0];
      batchIp.push(`neigh replace ${gw} lladdr ${p.mac} dev flannel.1 nud permanent`);
      batchIp.push(
        `route replace ${p.subnet} via ${gw} dev flannel.1 onlink proto ${ROUTE_PROTOCOL}`,
      );
      batchBr.push(`fdb replace ${p.mac} dev flannel.1 dst ${p.ip} self permanent`);
    }
    const ipFile = join(lab.stateDir, 'floor.ip');
    const brFile = join(lab.stateDir, 'floor.bridge');
    writeFileSync(ipFile, batchIp.join('\n') + '\n');
    writeFileSync(brFile, batchBr.join('\n') + '\n');
    const f0 = performance.now();
    const a = await sh('ip', ['-batch', ipFile], { ns: fl.ns });
    const b = await sh('bridge', ['-batch', brFile], { ns: fl.ns });
    const floorMs = performance.now() - f0;
    if (a.code !== 0 || b.code !== 0) throw new Error(`floor batch failed: ${a.stderr}${b.stderr}`);
    const fc = await countKernel(lab, 'floor');
    if (fc.routes < PEERS || fc.fdb < PEERS)
      throw new Error(`floor incomplete: ${JSON.stringify(fc)}`);

    return [
      {
        name: `converge on ${PEERS} leases (process start -> all routes+neigh+fdb)`,
        value: convergeMs,
        unit: 'ms',
        floor: floorMs,
        ratio: convergeMs / floorMs,
        notes: 'floor: ip -batch + bridge -batch of the same objects',
      },
      ...(passMs !== undefined
        ? [
            {
              name: `agent programming pass for ${PEERS} peers (from its log)`,
              value: passMs,
              unit: 'ms',
              floor: floorMs,
              ratio: passMs / floorMs,
              notes: 'netlink, one request per object',
            },
          ]
        : []),
      {
        name: 'new node route visible (lease created -> route in kernel), median of 5',
        value: newNodeMs,
        unit: 'ms',
      },
      { name: `agent RSS with ${PEERS} peers`, value: Math.round(rss / 1048576), unit: 'MiB' },
    ];
  } finally {
    await lab?.destroy().catch(() => undefined);
    await cp.stop();
  }
}
