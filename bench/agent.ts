/**
 * Agent benchmark in the netns lab (root), three contenders on the same 1,000 remote peers, each
 * in its own node namespace, one after the other:
 * - our agent (SubnetLeases),
 * - upstream flanneld v0.28.10 with --kube-subnet-mgr (Node objects with flannel's annotations
 *   and podCIDRs), built by hack/tools/build-flanneld.sh,
 * - the floor: `ip -batch` + `bridge -batch` of the same 3,000 kernel objects.
 * Converge is timed the same way for all three: from spawning the process(es) to the moment the
 * same poller sees every route, neighbour and FDB entry on flannel.1; each side is then checked
 * entry by entry (subnet, gateway MAC, VTEP destination). The programming pass (from the agent's
 * log, no process start) is compared with ip/bridge processes already started and waiting on
 * stdin, so neither side pays for a process start there.
 * The agent runs as the DaemonSet runs it: from the startup snapshot of the image's esbuild
 * bundle, both made from dist/ at the start of the run (hack/image/bundle.js --snapshot into
 * dist-bundle/), with the DaemonSet's V8 flags (agent/launch.ts).
 * RSS is VmRSS sampled at the moment the poller first sees all entries, for both sides; the
 * peak (VmHWM) and the RSS once the process is idle again are in the notes.
 * BENCH_AGENT_PEERS=5000 runs it at 5,000 peers; FLOP_AGENT_NODE_FLAGS="--cpu-prof
 * --cpu-prof-dir=DIR" profiles the agent process (node flags, test-e2e/lab/lab.ts);
 * FLOP_AGENT_CLI runs another build of the CLI (e.g. dist/cli/main.js), not from a snapshot; BENCH_AGENT_TIMELINE=1
 * runs the agent at debug level and prints its start-up timeline (its milestones).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane } from '../test-e2e/harness/control-plane.js';
import { installCrds } from '../test-e2e/harness/crds.js';
import { waitFor } from '../test-e2e/harness/process.js';
import { toolsDir } from '../test-e2e/harness/tools.js';
import {
  REPO,
  createLab,
  labUnavailable,
  type Lab,
  type ManagedProcess,
} from '../test-e2e/lab/lab.js';
import {
  API_VERSION,
  FLANNEL_NETWORK,
  LABEL_NETWORK,
  LABEL_NODE,
  SUBNET_LEASE,
} from '../src/api/index.js';
import { leaseName } from '../src/api/names.js';
import { collectionPath } from '../src/kube/resources.js';
import { runLimited } from '../src/kube/limit.js';
import { deriveVtepMAC } from '../src/agent/desired.js';
import { AGENT_NODE_OPTIONS } from '../src/agent/launch.js';
import type { BenchResult } from './types.js';

const NET = 'bench';
const NETWORK = '10.128.0.0/9';
const OWN_SUBNET = '10.128.0.0/24';
const PEERS = Number(process.env.BENCH_AGENT_PEERS ?? 1000);
const LEASES = collectionPath(API_VERSION, SUBNET_LEASE.plural);
const FLANNELD = process.env.FLANNELD ?? join(toolsDir(), 'bin', 'flanneld');
const DEV = 'flannel.1';
const POLL_MS = 50;
const TIMELINE = !!process.env.BENCH_AGENT_TIMELINE;

interface Peer {
  node: string;
  subnet: string;
  ip: string;
  mac: string;
}

/** Peer i: subnet 10.<128+i/256>.<i%256>.0/24 (inside 10.128.0.0/9), underlay IP 10.200.<1+i/250>.<1+i%250>. */
function peer(i: number): Peer {
  const n = i + 1;
  return {
    node: `peer-${i}`,
    subnet: `10.${128 + (n >> 8)}.${n & 255}.0/24`,
    ip: `10.200.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    mac: deriveVtepMAC(`peer-${i}`, 1),
  };
}

const gateway = (p: Peer): string => p.subnet.split('/')[0]!;

async function createLease(lab: Lab, node: string, subnet: string, p?: Peer): Promise<void> {
  const name = leaseName(NET, node);
  await lab.client.create(LEASES, {
    apiVersion: API_VERSION,
    kind: SUBNET_LEASE.kind,
    metadata: { name, labels: { [LABEL_NETWORK]: NET, [LABEL_NODE]: node } },
    spec: { nodeName: node, networkName: NET, subnet },
  });
  if (p) {
    await lab.client.applyStatus(
      {
        apiVersion: API_VERSION,
        kind: SUBNET_LEASE.kind,
        metadata: { name },
        status: { publicIP: p.ip, backend: { type: 'vxlan', vni: 1, vtepMAC: p.mac } },
      },
      { fieldManager: 'bench', force: true },
    );
  }
}

/** What flanneld's kube subnet manager reads: a Node with a podCIDR and flannel's annotations. */
async function createFlannelNode(lab: Lab, p: Peer): Promise<void> {
  const a = 'flannel.alpha.coreos.com';
  await lab.client.create('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: p.node,
      labels: { 'flannel-operator.io/bench': 'flanneld-peer' },
      annotations: {
        [`${a}/backend-type`]: 'vxlan',
        [`${a}/backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: p.mac }),
        [`${a}/public-ip`]: p.ip,
        [`${a}/kube-subnet-manager`]: 'true',
      },
    },
    spec: { podCIDR: p.subnet, podCIDRs: [p.subnet] },
  });
}

interface Counts {
  routes: number;
  neigh: number;
  fdb: number;
}

/** One `ip`/`bridge` listing of flannel.1 in a node namespace, non-empty lines. */
async function list(lab: Lab, node: string, what: 'route' | 'neigh' | 'fdb'): Promise<string[]> {
  const [cmd, args] =
    what === 'route'
      ? ['ip', ['-o', 'route', 'show', 'dev', DEV]]
      : what === 'neigh'
        ? ['ip', ['neigh', 'show', 'dev', DEV, 'nud', 'permanent']]
        : ['bridge', ['fdb', 'show', 'dev', DEV]];
  return (await lab.exec(node, cmd, args)).stdout.split('\n').filter((l) => l.trim());
}

async function countKernel(lab: Lab, node: string): Promise<Counts> {
  const [routes, neigh, fdb] = await Promise.all(
    (['route', 'neigh', 'fdb'] as const).map(async (w) => (await list(lab, node, w)).length),
  );
  return { routes: routes!, neigh: neigh!, fdb: fdb! };
}

/** Every peer's route (via its gateway, onlink), neighbour (gateway -> VTEP MAC) and FDB entry (MAC -> underlay IP). */
async function checkKernel(lab: Lab, node: string, peers: Peer[]): Promise<void> {
  const [routes, neigh, fdb] = await Promise.all(
    (['route', 'neigh', 'fdb'] as const).map((w) => list(lab, node, w)),
  );
  const has = new Set([
    ...routes!.map((l) => {
      const [dst, , via] = l.split(/\s+/);
      return `route ${dst} ${via}`;
    }),
    ...neigh!.map((l) => {
      const [ip, , mac] = l.split(/\s+/);
      return `neigh ${ip} ${mac}`;
    }),
    ...fdb!.map((l) => {
      const [mac, , dst] = l.split(/\s+/);
      return `fdb ${mac} ${dst}`;
    }),
  ]);
  const missing = peers
    .flatMap((p) => [
      `route ${p.subnet} ${gateway(p)}`,
      `neigh ${gateway(p)} ${p.mac}`,
      `fdb ${p.mac} ${p.ip}`,
    ])
    .filter((e) => !has.has(e));
  if (missing.length > 0)
    throw new Error(
      `${node}: ${missing.length} kernel entries missing or wrong, e.g. ${missing.slice(0, 3).join('; ')}`,
    );
}

/** Polls until every route, neighbour and FDB entry is there; ms since t0. Same poller for every side. */
async function converged(lab: Lab, node: string, t0: number, what: string): Promise<number> {
  await waitFor(
    what,
    async () => {
      const c = await countKernel(lab, node);
      return c.routes >= PEERS && c.neigh >= PEERS && c.fdb >= PEERS;
    },
    120_000,
    POLL_MS,
  );
  return performance.now() - t0;
}

/**
 * VmRSS, its peak VmHWM and user+system CPU seconds of a process (`ip netns exec` execs in place:
 * same pid).
 */
function usage(pid: number): { rss: number; hwm: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const bytes = (field: string): number =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name), in clock ticks (100/s).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
  return { rss: bytes('VmRSS'), hwm: bytes('VmHWM'), cpu };
}

/**
 * CPU time per thread of a process in ms, from /proc/<pid>/task/<tid>/schedstat (nanoseconds on
 * a CPU, user and system: finer than the 10 ms ticks of /proc/<pid>/stat), by thread name; the
 * main thread is "main" (V8's GC and compiler helpers are "node", libuv's pool "libuv-worker").
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns: number;
    let name: string;
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      name =
        tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread exited
    }
    out.set(name, (out.get(name) ?? 0) + ns / 1e6);
  }
  return out;
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** Per-thread CPU ms between two threadCpu() readings, largest first, as text. */
function threadDelta(a: Map<string, number>, b: Map<string, number>): string {
  return [...b]
    .map(([k, v]) => [k, Math.round(v - (a.get(k) ?? 0))] as const)
    .filter(([, ms]) => ms > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([k, ms]) => `${k} ${ms}`)
    .join(', ');
}

interface Contender {
  convergeMs: number;
  /** VmRSS and VmHWM at convergence. */
  rss: number;
  hwm: number;
  /** VmRSS once the process is idle after converging. */
  idleRss: number;
  cpu: number;
}

async function setup(lab: Lab, peers: Peer[]): Promise<void> {
  // The CRDs may still be getting established: retry the first write.
  await waitFor(
    'FlannelNetwork accepted',
    async () =>
      !!(await lab.client.apply(
        {
          apiVersion: API_VERSION,
          kind: FLANNEL_NETWORK.kind,
          metadata: { name: NET },
          spec: { network: NETWORK, subnetLen: 24, backend: { type: 'vxlan' } },
        },
        { fieldManager: 'bench', force: true },
      )),
    30_000,
    250,
  );
  await createLease(lab, 'b1', OWN_SUBNET);
  await runLimited(peers, 16, async (p) => {
    await createLease(lab, p.node, p.subnet, p);
    await createFlannelNode(lab, p);
  });
  // flanneld's own Node: a podCIDR, and annotations as a kubelet leaves them (flanneld v0.28.10
  // panics on a Node without any).
  await lab.client.patch(`/api/v1/nodes/fl`, {
    metadata: { annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: OWN_SUBNET, podCIDRs: [OWN_SUBNET] },
  });
}

/** How the agent starts: a CLI script, or a startup snapshot in place of one. */
interface AgentLaunch {
  cli?: string;
  snapshotBlob?: string;
  /** For the notes. */
  what: string;
}

/**
 * The image's way (agent/launch.ts): the snapshot of the bundle of dist/ as it is now, built by
 * this node; or $FLOP_AGENT_CLI.
 */
function agentLaunch(): AgentLaunch {
  const cli = process.env.FLOP_AGENT_CLI;
  if (cli) return { cli, what: cli };
  const blob = join(REPO, 'dist-bundle/agent.blob');
  execFileSync(process.execPath, [join(REPO, 'hack/image/bundle.js'), '--snapshot', blob], {
    stdio: 'ignore',
  });
  return { snapshotBlob: blob, what: "the image's bundle from its startup snapshot" };
}

/** Our agent: converge, RSS, CPU, its logged programming pass and a new node's route latency. */
async function measureAgent(
  lab: Lab,
  peers: Peer[],
  launch: AgentLaunch,
): Promise<
  Contender & { passMs?: number; newNodeMs: number; eventCpuMs: number; eventThreads: string[] }
> {
  // The V8 flags the agent DaemonSet sets (NODE_OPTIONS), plus any the caller adds (profiling).
  process.env.FLOP_AGENT_NODE_FLAGS = `${AGENT_NODE_OPTIONS} ${process.env.FLOP_AGENT_NODE_FLAGS ?? ''}`;
  const t0 = performance.now();
  const spawnedAt = Date.now();
  const debug = TIMELINE ? ['--log-level', 'debug'] : [];
  const agent = lab.startAgent('b1', NET, ['--resync-period', '30s', ...debug], launch);
  const convergeMs = await converged(lab, 'b1', t0, 'agent convergence');
  const { rss, hwm, cpu } = usage(agent.pid);
  await checkKernel(lab, 'b1', peers);
  if (process.env.BENCH_AGENT_DEBUG) process.stderr.write(agent.logs().slice(0, 5000));
  if (TIMELINE) {
    await new Promise((r) => setTimeout(r, 500)); // pino writes asynchronously
    progress(`agent timeline, ms since spawn (converged at ${Math.round(convergeMs)}):`);
    process.stderr.write(timeline(agent.logs(), spawnedAt));
  }
  // pino writes asynchronously: give the line a moment to reach the file.
  const passMs = await waitFor(
    'programming pass logged',
    async () => passFromLog(agent),
    3000,
    50,
  ).catch(() => undefined);

  // A new node: lease (with status) created -> its route present on b1; the agent's CPU for it
  // (informer event, plan, writes), measured once the agent is idle again.
  const latencies: number[] = [];
  const eventCpu: number[] = [];
  const eventThreads: string[] = [];
  await idle(agent.pid);
  const idleRss = usage(agent.pid).rss;
  for (let k = 0; k < 5; k++) {
    const p = peer(PEERS + k);
    const threads0 = threadCpu(agent.pid);
    const t = performance.now();
    await createLease(lab, p.node, p.subnet, p);
    await waitFor(
      'new route',
      async () =>
        (await lab.exec('b1', 'ip', ['-o', 'route', 'show', p.subnet])).stdout.includes(DEV),
      10_000,
      5,
    );
    latencies.push(performance.now() - t);
    await idle(agent.pid);
    const threads1 = threadCpu(agent.pid);
    eventCpu.push(sum(threads1) - sum(threads0));
    eventThreads.push(threadDelta(threads0, threads1));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[2]!;
  await lab.stopAgent('b1');
  return {
    convergeMs,
    rss,
    hwm,
    idleRss,
    cpu,
    passMs,
    newNodeMs: median(latencies),
    eventCpuMs: median(eventCpu),
    eventThreads: eventThreads.map((t, i) => `${Math.round(eventCpu[i]!)} ms (${t})`),
  };
}

/** Waits until a process used no CPU tick for 300 ms (its pass and follow-ups are done). */
async function idle(pid: number): Promise<void> {
  let last = usage(pid).cpu;
  await waitFor(
    'agent idle',
    async () => {
      await new Promise((r) => setTimeout(r, 300));
      const now = usage(pid).cpu;
      const quiet = now === last;
      last = now;
      return quiet;
    },
    30_000,
    0,
  );
}

/**
 * The agent logs how long the kernel part of its first full pass took (kernel read, plan, diff,
 * device, netlink writes): the floor's work, without netfilter rules, sysctls and files.
 */
function passFromLog(agent: ManagedProcess): number | undefined {
  return agent
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; peers?: number; kernelMs?: number })
    .find((l) => l.msg === 'dataplane reconciled' && (l.peers ?? 0) >= PEERS)?.kernelMs;
}

/**
 * The agent's log lines up to its first published status, as `+ms message` since spawnedAt (and
 * since the agent process started, for debug milestones).
 */
function timeline(logs: string, spawnedAt: number): string {
  const out: string[] = [];
  for (const l of logs.split('\n')) {
    if (!l.startsWith('{')) continue;
    const { time, msg, ...fields } = JSON.parse(l) as Record<string, unknown>;
    const rest = Object.fromEntries(
      Object.entries(fields).filter(
        ([k]) => !['level', 'role', 'node', 'sinceStartMs'].includes(k),
      ),
    );
    const own =
      fields.sinceStartMs === undefined ? '' : ` (process +${String(fields.sinceStartMs)})`;
    out.push(`  +${Number(time) - spawnedAt} ms${own}  ${String(msg)} ${JSON.stringify(rest)}`);
    if (msg === 'lease status published') break;
  }
  return `${out.join('\n')}\n`;
}

/** Upstream flanneld in node `fl`: --kube-subnet-mgr, vxlan, masquerade with nftables as ours. */
async function measureFlanneld(lab: Lab, peers: Peer[]): Promise<Contender> {
  const n = lab.node('fl');
  const netConf = join(n.dir, 'net-conf.json');
  writeFileSync(
    netConf,
    JSON.stringify({
      Network: NETWORK,
      SubnetLen: 24,
      EnableNFTables: true,
      Backend: { Type: 'vxlan', VNI: 1 },
    }),
  );
  const args = [
    '--kube-subnet-mgr',
    `--kubeconfig-file=${lab.controlPlane.kubeconfigPath}`,
    `--net-config-path=${netConf}`,
    `--subnet-file=${n.subnetFile}`,
    '--iface=eth0',
    '--ip-masq',
    '--healthz-port=0',
  ];
  const t0 = performance.now();
  const fl = lab.spawnProcess('flanneld', FLANNELD, args, {
    ns: n.ns,
    env: { ...process.env, NODE_NAME: 'fl' },
  });
  try {
    const convergeMs = await converged(lab, 'fl', t0, 'flanneld convergence').catch((e) => {
      throw new Error(`${String(e)}; flanneld log tail: ${fl.logs().slice(-1500)}`);
    });
    const { rss, hwm, cpu } = usage(fl.pid);
    await checkKernel(lab, 'fl', peers);
    await idle(fl.pid);
    return { convergeMs, rss, hwm, cpu, idleRss: usage(fl.pid).rss };
  } finally {
    await fl.stop();
  }
}

function batches(lab: Lab, peers: Peer[]): { ip: string; bridge: string } {
  const fl = lab.node('floor');
  const ip = [
    `link add ${DEV} type vxlan id 1 local ${fl.ip} dev eth0 dstport 8472 nolearning`,
    `link set ${DEV} up`,
  ];
  const bridge: string[] = [];
  for (const p of peers) {
    ip.push(`neigh replace ${gateway(p)} lladdr ${p.mac} dev ${DEV} nud permanent`);
    ip.push(`route replace ${p.subnet} via ${gateway(p)} dev ${DEV} onlink`);
    bridge.push(`fdb replace ${p.mac} dev ${DEV} dst ${p.ip} self permanent`);
  }
  return { ip: ip.join('\n') + '\n', bridge: bridge.join('\n') + '\n' };
}

/** A process in a lab namespace reading its batch from stdin; resolves with its exit code. */
function startBatch(lab: Lab, cmd: 'ip' | 'bridge'): { write(s: string): Promise<number> } {
  const child = spawn('ip', ['netns', 'exec', lab.node('floor').ns, cmd, '-batch', '-'], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? 1)));
  return {
    write: (s) => {
      child.stdin.end(s);
      return exited;
    },
  };
}

/**
 * Floor, twice in namespace `floor`:
 * - converge: spawn `ip -batch` then `bridge -batch` on files, timed with the same poller;
 * - programming: ip/bridge already started and idle, timed from writing their batches to exit.
 */
async function measureFloor(
  lab: Lab,
  peers: Peer[],
): Promise<{ convergeMs: number; programMs: number }> {
  const b = batches(lab, peers);
  const ipFile = join(lab.stateDir, 'floor.ip');
  const brFile = join(lab.stateDir, 'floor.bridge');
  writeFileSync(ipFile, b.ip);
  writeFileSync(brFile, b.bridge);
  const t0 = performance.now();
  const script = spawn(
    'ip',
    [
      'netns',
      'exec',
      lab.node('floor').ns,
      'sh',
      '-ec',
      `ip -batch ${ipFile}; bridge -batch ${brFile}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((res) => script.on('exit', res));
  const convergeMs = await converged(lab, 'floor', t0, 'floor convergence');
  await exited;
  await checkKernel(lab, 'floor', peers);

  await lab.exec('floor', 'ip', ['link', 'del', DEV]);
  const ip = startBatch(lab, 'ip');
  const bridge = startBatch(lab, 'bridge');
  await new Promise((r) => setTimeout(r, 300)); // both started, blocked on stdin
  const p0 = performance.now();
  const codes = [await ip.write(b.ip), await bridge.write(b.bridge)];
  const programMs = performance.now() - p0;
  if (codes.some((c) => c !== 0)) throw new Error(`floor batch failed: exit codes ${codes}`);
  await checkKernel(lab, 'floor', peers);
  return { convergeMs, programMs };
}

const started = performance.now();
function progress(msg: string): void {
  process.stderr.write(
    `bench agent: ${msg} (${Math.round((performance.now() - started) / 1000)} s)\n`,
  );
}

const MiB = (b: number): number => Math.round(b / 1048576);
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function rows(
  ours: Awaited<ReturnType<typeof measureAgent>>,
  fl: Contender,
  floor: { convergeMs: number; programMs: number },
  launch: AgentLaunch,
): BenchResult[] {
  const vs = (a: number, b: number): string => `${r3(a / b)}x flanneld`;
  return [
    {
      name: 'converge',
      value: Math.round(ours.convergeMs),
      unit: 'ms',
      floor: Math.round(floor.convergeMs),
      notes: `${PEERS} peers, process start -> all routes+neigh+fdb (same poller, every ${POLL_MS} ms, all sides); floor: ip -batch + bridge -batch processes; flanneld ${Math.round(fl.convergeMs)} ms (${vs(ours.convergeMs, fl.convergeMs)})`,
    },
    {
      name: 'flanneld converge',
      value: Math.round(fl.convergeMs),
      unit: 'ms',
      floor: Math.round(floor.convergeMs),
      notes: `upstream flanneld v0.28.10 --kube-subnet-mgr, vxlan, same ${PEERS} peers as Node annotations, same lab, same poller`,
    },
    ...(ours.passMs !== undefined
      ? [
          {
            name: 'programming pass',
            value: ours.passMs,
            unit: 'ms',
            floor: Math.round(floor.programMs),
            notes: `${PEERS} peers, kernel part of the agent's first pass from its log (kernel read, plan, diff, device, netlink writes; no netfilter/files); floor: ip -batch + bridge -batch already started, fed on stdin (no process start on either side)`,
          },
        ]
      : []),
    {
      name: 'new node route visible (lease created -> route in kernel), median of 5',
      value: Math.round(ours.newNodeMs),
      unit: 'ms',
    },
    {
      name: 'agent CPU per lease event (a new node joins), median of 5',
      value: Math.round(ours.eventCpuMs),
      unit: 'ms',
      notes: `${PEERS} peers; CPU time of all the agent's threads (schedstat) from the lease write until it is idle again: informer events (create, then status), peer plan, the new peer's 3 kernel writes, and whatever GC falls in the window; each event, by thread: ${ours.eventThreads.join('; ')}`,
    },
    {
      name: 'agent RSS',
      value: MiB(ours.rss),
      unit: 'MiB',
      notes: `VmRSS at convergence (the poll that sees all entries, as for flanneld), ${PEERS} peers, ${launch.what} with NODE_OPTIONS=${AGENT_NODE_OPTIONS}; flanneld ${MiB(fl.rss)} MiB (${vs(ours.rss, fl.rss)}); peak (VmHWM) ${MiB(ours.hwm)} vs ${MiB(fl.hwm)}, once idle ${MiB(ours.idleRss)} vs ${MiB(fl.idleRss)} MiB`,
    },
    {
      name: 'flanneld RSS',
      value: MiB(fl.rss),
      unit: 'MiB',
      notes: `VmRSS at convergence; peak (VmHWM) ${MiB(fl.hwm)}, once idle ${MiB(fl.idleRss)} MiB`,
    },
    {
      name: 'agent CPU to converge',
      value: r3(ours.cpu),
      unit: 's',
      notes: `user+system from process start to convergence; flanneld ${r3(fl.cpu)} s (${vs(ours.cpu, fl.cpu)})`,
    },
    {
      name: 'flanneld CPU to converge',
      value: r3(fl.cpu),
      unit: 's',
      notes: 'user+system from process start to convergence',
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const why = labUnavailable();
  if (why) throw new Error(`agent bench needs the netns lab: ${why}`);
  if (!existsSync(FLANNELD))
    throw new Error(`${FLANNELD} missing (run hack/tools/build-flanneld.sh, or make bench)`);
  const launch = agentLaunch();
  const cp = await startControlPlane({ installCrds: false });
  let lab: Lab | undefined;
  try {
    // Compiled into dist-bench, the harness cannot find crds/ by itself: point it at the repo's.
    await installCrds(cp, join(REPO, 'crds'));
    lab = await createLab({
      controlPlane: cp,
      nodes: [{ name: 'b1' }, { name: 'fl' }, { name: 'floor' }],
    });
    const peers = Array.from({ length: PEERS }, (_, i) => peer(i));
    await setup(lab, peers);
    progress(`${PEERS} leases and Nodes created`);
    // One at a time, so none competes with another for the CPU.
    const ours = await measureAgent(lab, peers, launch);
    progress(`agent converged in ${Math.round(ours.convergeMs)} ms`);
    const fl = await measureFlanneld(lab, peers);
    progress(`flanneld converged in ${Math.round(fl.convergeMs)} ms`);
    const floor = await measureFloor(lab, peers);
    return rows(ours, fl, floor, launch);
  } finally {
    await lab?.destroy().catch(() => undefined);
    await cp.stop();
  }
}

// `node dist-bench/bench/agent.js` runs this module alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
