/** Shared setup of the agent E2E tests: control plane + netns lab + controller + agents + pods. */
import {
  API_VERSION,
  FLANNEL_NETWORK,
  SUBNET_LEASE,
  LABEL_NETWORK,
  type SubnetLease,
} from '../../src/api/index.js';
import { collectionPath } from '../../src/kube/resources.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_ROOT, createLab, sh, type Lab, type ControlPlaneLike } from '../lab/lab.js';
import { waitFor } from '../harness/process.js';
import { skipUnlessIntegrationPrereqs } from '../harness/jest.js';
import { LAB_PREREQS } from '../harness/prereqs.js';

export const NETWORKS = collectionPath(API_VERSION, FLANNEL_NETWORK.plural);
export const LEASES = collectionPath(API_VERSION, SUBNET_LEASE.plural);

export interface NetworkSpec {
  /** Default 10.244.0.0/16; null for an IPv6-only network. */
  network?: string | null;
  ipv6Network?: string;
  backend?: {
    type?: 'vxlan' | 'host-gw' | 'wireguard';
    listenPort?: number;
    persistentKeepaliveInterval?: number;
    mode?: string;
    vni?: number;
    port?: number;
    directRouting?: boolean;
    mtu?: number;
  };
  ipMasq?: boolean;
}

export async function applyNetwork(lab: Lab, name: string, spec: NetworkSpec): Promise<void> {
  await lab.client.apply(
    {
      apiVersion: API_VERSION,
      kind: FLANNEL_NETWORK.kind,
      metadata: { name },
      spec: withDefaultNetwork(spec),
    },
    { fieldManager: 'e2e', force: true },
  );
}

function withDefaultNetwork(spec: NetworkSpec): Record<string, unknown> {
  const { network, ...rest } = spec;
  return network === null ? rest : { network: network ?? '10.244.0.0/16', ...rest };
}

export async function leases(lab: Lab, network: string): Promise<SubnetLease[]> {
  const { items } = await lab.client.listAll<SubnetLease>(LEASES, {
    labelSelector: `${LABEL_NETWORK}=${network}`,
  });
  return items;
}

/** Lab of 3 nodes (n3 on another L2 segment), controller, network, agents ready. */
export async function bootLab(
  cp: ControlPlaneLike,
  network: string,
  spec: NetworkSpec,
  opts: {
    agentArgs?: string[];
    /** Runs once the node namespaces exist, before any agent starts (host state to start from). */
    beforeAgents?: (lab: Lab) => Promise<void>;
    underlay?: 'dual' | 'ipv6';
    /** Lab.startAgent options (wireguard: a /run/wireguard per node). */
    agentOpts?: { wireguardRunDir?: boolean };
  } = {},
): Promise<Lab> {
  const lab = await createLab({
    controlPlane: cp,
    underlay: opts.underlay,
    nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3', segment: 1 }],
  });
  try {
    lab.startController();
    // The CRDs may still be getting established: retry the first write.
    await waitFor(
      'FlannelNetwork accepted',
      async () => (await applyNetwork(lab, network, spec), true),
      30_000,
      250,
    );
    await opts.beforeAgents?.(lab);
    for (const n of lab.nodes.keys())
      lab.startAgent(
        n,
        network,
        ['--resync-period', '5s', ...(opts.agentArgs ?? [])],
        opts.agentOpts,
      );
    await waitAgentsReady(lab);
    return lab;
  } catch (e) {
    for (const p of lab.processes)
      process.stderr.write(`--- ${p.name}\n${p.logs().slice(-4000)}\n`);
    await lab.destroy();
    throw e;
  }
}

export async function waitAgentsReady(lab: Lab, timeoutMs = 60_000): Promise<void> {
  for (const n of lab.nodes.keys()) {
    await waitFor(
      `agent ${n} ready`,
      async () => (await lab.httpGet(n, 9102, '/readyz')).status === 200,
      timeoutMs,
      250,
    );
  }
}

/** A netns lab suite: skipped with the reason outside CI when the lab cannot run, failing under CI. */
export function describeLab(name: string, fn: () => void): void {
  skipUnlessIntegrationPrereqs(LAB_PREREQS);
  describe(name, fn);
}

export const iperfResults: Record<string, Record<string, number>> = {};

export function recordIperf(backend: string, pair: string, bps: number): void {
  (iperfResults[backend] ??= {})[pair] = bps;

  console.log(`iperf3 ${backend} ${pair}: ${(bps / 1e9).toFixed(2)} Gbit/s`);
}

export async function routeTo(lab: Lab, node: string, dst: string) {
  return (await lab.routes(node)).find((r) => r.dst === dst);
}

export async function subnetOf(lab: Lab, node: string, NET = 'lab'): Promise<string> {
  const l = (await leases(lab, NET)).find((x) => x.spec.nodeName === node);
  if (!l?.spec.subnet) throw new Error(`no subnet for ${node}`);
  return l.spec.subnet;
}

export async function expectFullMatrix(lab: Lab, pods?: string[]): Promise<void> {
  const m = await lab.pingMatrix(3, pods);
  expect(m.filter((x) => !x.ok)).toEqual([]);
  expect(m.length).toBe(
    pods ? pods.length * (pods.length - 1) : lab.pods.size * (lab.pods.size - 1),
  );
}

/** Starts a one-shot TCP server in `ns` that answers with the peer address it saw. */
export async function remoteAddressSeen(
  lab: Lab,
  serverNs: string,
  serverIp: string,
  clientNs: string,
): Promise<string> {
  const port = 7000 + Math.floor(Math.random() * 1000);
  const srv = lab.spawnProcess(
    `echo-${Date.now()}`,
    process.execPath,
    [
      '-e',
      `const s=require('net').createServer(c=>{c.end(c.remoteAddress+'\\n');s.close()}).listen(${port},'${serverIp}',()=>console.log('listening'))`,
    ],
    { ns: serverNs },
  );
  await waitFor('echo server', async () => srv.logs().includes('listening'), 5000, 50);
  const r = await sh(
    process.execPath,
    [
      '-e',
      `const c=require('net').connect(${port},'${serverIp}');c.on('data',d=>process.stdout.write(d))`,
    ],
    { ns: clientNs, timeoutMs: 5000 },
  );
  await srv.stop('SIGKILL');
  return r.stdout.trim();
}

/** Writes the iperf3 numbers recorded so far to <state root>/iperf-<tag>.json and prints them. */
export function writeIperfResults(tag: string): void {
  mkdirSync(STATE_ROOT, { recursive: true });
  const file = join(STATE_ROOT, `iperf-${tag}.json`);
  writeFileSync(file, JSON.stringify(iperfResults, null, 2));

  console.log(`iperf3 results: ${file}\n${JSON.stringify(iperfResults)}`);
}

/** Destroys a lab (if it came up), dumping each process's log tail first when FLOP_LAB_DUMP is set. */
export async function destroyLab(lab: Lab | undefined): Promise<void> {
  if (!lab) return;
  if (process.env.FLOP_LAB_DUMP)
    for (const p of lab.processes)
      process.stderr.write(`--- ${p.name}\n${p.logs().slice(-3000)}\n`);
  await lab.destroy();
}
