/**
 * Netns lab: a real multi-node dataplane on one machine.
 *
 *   <p>ul        underlay: one bridge per L2 segment (brseg0, brseg1)
 *   <p>rt        router between the segments (10.200.0.254 / 10.201.0.254, fd00:200::fe /
 *                fd00:200:1::fe), forwarding both families
 *   <p><node>    one per node: eth0 on its segment's bridge, lo, an API relay, the agent
 *   <p>p<n>-<pod> pods, wired by the real CNI plugins (flannel -> bridge + host-local, portmap)
 *
 * Addresses exist only inside these namespaces (underlay 10.200.0.0/24 + fd00:200::/64 and
 * 10.201.0.0/24 + fd00:200:1::/64; each node is registered with both InternalIPs). With
 * `underlay: 'ipv6'` the underlay is IPv6-only: no IPv4 address on any node or router leg, and
 * nodes registered with their IPv6 InternalIP only.
 * Processes in a node namespace reach the API server at the same https://127.0.0.1:<port>
 * through relay.mjs (TCP -> unix socket -> TCP), so one kubeconfig works everywhere.
 * `teardown.sh [prefix]` removes everything, also after a crash.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KubeClient } from '../../src/kube/client.js';
import { runProcess, type RunResult } from '../harness/process.js';
import { toolsDir } from '../harness/tools.js';
import { CLI, LAB_PREREQS, missingPrereqs } from '../harness/prereqs.js';
import { loadKubeAuth } from '../../src/kube/kubeconfig.js';

const execFileP = promisify(execFile);

/** Repository root: the nearest ancestor holding test-e2e/lab/relay.mjs (works from dist-bench too). */
export const REPO = findRepo(new URL('.', import.meta.url).pathname);
function findRepo(from: string): string {
  for (let dir = resolve(from); dir !== '/'; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'test-e2e/lab/relay.mjs')) && existsSync(join(dir, 'package.json')))
      return dir;
  }
  return process.cwd();
}
export { CLI };
const RELAY = join(REPO, 'test-e2e/lab/relay.mjs');
const TEARDOWN = join(REPO, 'test-e2e/lab/teardown.sh');
/** Where wg and wireguard-go keep UAPI sockets (fixed in both). */
const WG_RUN = '/run/wireguard';
export const STATE_ROOT = process.env.FLOP_LAB_STATE ?? '/tmp/flop-lab';
const SEGMENTS = ['10.200.0', '10.201.0'];
/** IPv6 underlay, one /64 per segment (router ::fe on each). */
const SEGMENTS6 = ['fd00:200::', 'fd00:200:1::'];

export type ExecResult = RunResult;

/** Runs a command (optionally inside a namespace); never throws (a command that cannot start: 127). */
export function sh(
  cmd: string,
  args: string[],
  opts: { ns?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const [c, a] = opts.ns ? ['ip', ['netns', 'exec', opts.ns, cmd, ...args]] : [cmd, args];
  return runProcess(c, a, {
    input: opts.input ?? '',
    env: opts.env,
    timeoutMs: opts.timeoutMs,
  }).catch((e: Error) => ({ code: 127, stdout: '', stderr: e.message }));
}

async function must(
  cmd: string,
  args: string[],
  opts: Parameters<typeof sh>[2] = {},
): Promise<string> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(
      `${opts.ns ? `[${opts.ns}] ` : ''}${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`,
    );
  return r.stdout;
}

/**
 * Why the lab cannot run here, or undefined when it can (LAB_PREREQS: root, the real CNI plugins
 * including flannel, iproute2, the build). Tests use the harness check; demo and bench call this.
 */
export function labUnavailable(): string | undefined {
  return missingPrereqs(LAB_PREREQS).join('; ') || undefined;
}

export interface LabNodeSpec {
  name: string;
  /** L2 segment index (0 or 1); default 0. */
  segment?: number;
  labels?: Record<string, string>;
}

export interface ControlPlaneLike {
  server: string;
  kubeconfigPath: string;
}

export interface LabOptions {
  nodes: LabNodeSpec[];
  controlPlane: ControlPlaneLike;
  /** Namespace name prefix; default flop-<random>-. */
  prefix?: string;
  /** Register Node objects (InternalIP, Ready); default true. */
  registerNodes?: boolean;
  /** Underlay address families: both (default) or IPv6 only. */
  underlay?: 'dual' | 'ipv6';
}

export interface LabNode {
  name: string;
  ns: string;
  /** IPv4 underlay address; '' on an IPv6-only underlay. */
  ip: string;
  /** IPv6 underlay address (registered as the Node's second InternalIP). */
  ip6: string;
  segment: number;
  dir: string;
  subnetFile: string;
  cniConfDir: string;
  cniDataDir: string;
}

export interface LabPod {
  name: string;
  node: string;
  ns: string;
  /** IPv4 address; '' in an IPv6-only network. */
  ip: string;
  /** Set when the node's subnet.env has FLANNEL_IPV6_SUBNET (dual-stack or IPv6-only network). */
  ip6?: string;
  containerId: string;
}

/** One entry of `ip -j route`. */
export interface LabRoute {
  dst: string;
  gateway?: string;
  dev: string;
  protocol?: string;
  flags?: string[];
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  logs(): string;
}

export class Lab {
  readonly nodes = new Map<string, LabNode>();
  readonly pods = new Map<string, LabPod>();
  readonly agents = new Map<string, ManagedProcess>();
  readonly processes: ManagedProcess[] = [];
  readonly client: KubeClient;
  readonly apiPort: number;
  private podSeq = 0;

  constructor(
    readonly prefix: string,
    readonly stateDir: string,
    readonly controlPlane: ControlPlaneLike,
  ) {
    // The same loader the agent uses, on the same file.
    this.client = new KubeClient(loadKubeAuth({ kubeconfig: controlPlane.kubeconfigPath }));
    this.apiPort = Number(new URL(controlPlane.server).port);
  }

  get underlayNs(): string {
    return `${this.prefix}ul`;
  }
  get routerNs(): string {
    return `${this.prefix}rt`;
  }
  get apiSocket(): string {
    return join(this.stateDir, 'api.sock');
  }

  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no lab node ${name}`);
    return n;
  }

  /** Runs a command in a node's namespace (by node name) or any lab namespace. */
  exec(
    nodeOrNs: string,
    cmd: string,
    args: string[],
    opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    const ns = this.nodes.get(nodeOrNs)?.ns ?? nodeOrNs;
    return sh(cmd, args, { ...opts, ns });
  }

  /** Spawns a long-running process (pid recorded for teardown.sh), optionally in a namespace. */
  spawnProcess(
    name: string,
    cmd: string,
    args: string[],
    opts: { ns?: string; env?: NodeJS.ProcessEnv } = {},
  ): ManagedProcess {
    const logFile = join(this.stateDir, `${name}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const [c, a] = opts.ns ? ['ip', ['netns', 'exec', opts.ns, cmd, ...args]] : [cmd, args];
    const child = spawn(c, a, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const pidFile = join(this.stateDir, `${name}.pid`);
    writeFileSync(pidFile, String(child.pid));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const proc: ManagedProcess = {
      name,
      child,
      pid: child.pid!,
      logFile,
      exited,
      logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill(signal);
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          const code = await exited;
          clearTimeout(t);
          return code;
        }
        return child.exitCode;
      },
    };
    this.processes.push(proc);
    return proc;
  }

  /** Starts the controller (root netns, loopback only). */
  startController(args: string[] = []): ManagedProcess {
    return this.spawnProcess('controller', process.execPath, [
      CLI,
      'controller',
      '--kubeconfig',
      this.controlPlane.kubeconfigPath,
      '--leader-elect=false',
      '--metrics-bind-address=0',
      '--health-probe-bind-address=0',
      ...args,
    ]);
  }

  /**
   * Starts the agent as a real process inside the node's namespace. `wireguardRunDir`: the agent
   * (and the wireguard-go it starts) get the node's own /run/wireguard, where UAPI sockets live:
   * that directory is not per network namespace, and every lab node names its device flannel-wg.
   * `cli`: another build of the CLI (the bench runs the image's bundle); default CLI.
   * `snapshotBlob`: run the agent from this startup snapshot instead, as the image does
   * (agent/launch.ts); FLOP_AGENT_NODE_FLAGS must then hold the flags it was built with.
   */
  startAgent(
    nodeName: string,
    network: string,
    extra: string[] = [],
    opts: { wireguardRunDir?: boolean; cli?: string; snapshotBlob?: string } = {},
  ): ManagedProcess {
    const n = this.node(nodeName);
    const argv = [
      // e.g. FLOP_AGENT_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the agent.
      ...(process.env.FLOP_AGENT_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      ...(opts.snapshotBlob ? ['--snapshot-blob', opts.snapshotBlob] : [opts.cli ?? CLI]),
      'agent',
      '--node-name',
      nodeName,
      '--network',
      network,
      '--kubeconfig',
      this.controlPlane.kubeconfigPath,
      '--subnet-file',
      n.subnetFile,
      '--cni-conf-dir',
      n.cniConfDir,
      '--cni-data-dir',
      n.cniDataDir,
      '--metrics-bind-address',
      '127.0.0.1:9101',
      '--health-probe-bind-address',
      '127.0.0.1:9102',
      ...extra,
    ];
    const name = `agent-${nodeName}-${Date.now()}`;
    let p: ManagedProcess;
    if (opts.wireguardRunDir) {
      const run = join(n.dir, 'run-wireguard');
      mkdirSync(run, { recursive: true, mode: 0o700 });
      mkdirSync(WG_RUN, { recursive: true });
      // `ip netns exec` gives the command its own mount namespace (slave of the host's): the
      // bind mount stays inside it, and exec keeps the pid.
      p = this.spawnProcess(
        name,
        'sh',
        [
          '-c',
          'mount --bind "$1" "$2" && shift 2 && exec "$@"',
          'sh',
          run,
          WG_RUN,
          process.execPath,
          ...argv,
        ],
        { ns: n.ns },
      );
    } else p = this.spawnProcess(name, process.execPath, argv, { ns: n.ns });
    this.agents.set(nodeName, p);
    return p;
  }

  async stopAgent(nodeName: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.agents.get(nodeName)?.stop(signal);
    this.agents.delete(nodeName);
  }

  /** GET http://127.0.0.1:<port><path> inside a node namespace. */
  async httpGet(
    nodeName: string,
    port: number,
    path: string,
  ): Promise<{ status: number; body: string }> {
    const r = await this.exec(nodeName, process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:${port}${path}').then(async r=>{process.stdout.write(r.status+'\\n'+await r.text())}).catch(e=>{process.stdout.write('0\\n'+e.message)})`,
    ]);
    const [status, ...rest] = r.stdout.split('\n');
    return { status: Number(status), body: rest.join('\n') };
  }

  async metric(nodeName: string, name: string): Promise<number> {
    const { body } = await this.httpGet(nodeName, 9101, '/metrics');
    let sum = 0;
    for (const line of body.split('\n')) {
      if (
        line.startsWith(name) &&
        /^[^{ ]+(\{[^}]*\})? /.test(line) &&
        line.split(/[{ ]/)[0] === name
      )
        sum += Number(line.split(' ').pop());
    }
    return sum;
  }

  /** Creates a pod namespace and wires it with the real CNI plugins, using the node's conflist. */
  async addPod(nodeName: string, name: string): Promise<LabPod> {
    const n = this.node(nodeName);
    const podNs = `${this.prefix}p${++this.podSeq}`;
    await must('ip', ['netns', 'add', podNs]);
    await must('ip', ['link', 'set', 'lo', 'up'], { ns: podNs });
    const containerId = `${this.prefix}${name}`;
    const result = await this.cni(n, 'ADD', podNs, containerId);
    const ips = (result as { ips?: Array<{ address: string }> }).ips ?? [];
    const ip = ips.find((a) => !a.address.includes(':'))?.address.split('/')[0];
    const ip6 = ips.find((a) => a.address.includes(':'))?.address.split('/')[0];
    if (!ip && !ip6)
      throw new Error(`CNI ADD for ${name} returned no IP: ${JSON.stringify(result)}`);
    const pod: LabPod = { name, node: nodeName, ns: podNs, ip: ip ?? '', ip6, containerId };
    this.pods.set(name, pod);
    return pod;
  }

  async delPod(name: string): Promise<void> {
    const pod = this.pods.get(name);
    if (!pod) return;
    await this.cni(this.node(pod.node), 'DEL', pod.ns, pod.containerId).catch(() => undefined);
    await sh('ip', ['netns', 'del', pod.ns]);
    this.pods.delete(name);
  }

  /** Executes the conflist's plugin chain like a container runtime would (ADD forward, DEL reverse). */
  private async cni(
    n: LabNode,
    command: 'ADD' | 'DEL',
    podNs: string,
    containerId: string,
  ): Promise<unknown> {
    const listPath = join(n.cniConfDir, '10-flannel.conflist');
    const list = JSON.parse(readFileSync(listPath, 'utf8')) as {
      name: string;
      cniVersion: string;
      plugins: Array<Record<string, unknown>>;
    };
    const env = {
      ...process.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: `/var/run/netns/${podNs}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: join(toolsDir(), 'bin'),
    };
    const plugins = command === 'ADD' ? list.plugins : [...list.plugins].reverse();
    let prevResult: unknown;
    for (const plugin of plugins) {
      const conf: Record<string, unknown> = {
        cniVersion: list.cniVersion,
        name: list.name,
        ...plugin,
      };
      if (prevResult) conf.prevResult = prevResult;
      if (plugin.capabilities) conf.runtimeConfig = { portMappings: [] };
      // Always the real plugin binaries (LAB_PREREQS): never an imitation of a missing one.
      const bin = join(toolsDir(), 'bin', String(plugin.type));
      const input = conf;
      const r = await sh(bin, [], {
        ns: n.ns,
        env,
        input: JSON.stringify(input),
        timeoutMs: 30_000,
      });
      if (r.code !== 0)
        throw new Error(
          `CNI ${command} ${plugin.type} on ${n.name}: exit ${r.code}: ${r.stdout}${r.stderr}`,
        );
      if (command === 'ADD' && r.stdout.trim()) prevResult = JSON.parse(r.stdout);
    }
    return prevResult ?? {};
  }

  async ping(
    fromPod: string,
    ip: string,
    opts: { count?: number; timeoutS?: number } = {},
  ): Promise<boolean> {
    const pod = this.pods.get(fromPod);
    const ns = pod?.ns ?? this.nodes.get(fromPod)?.ns ?? fromPod;
    const r = await sh(
      'ping',
      [
        '-n',
        '-q',
        '-c',
        String(opts.count ?? 1),
        '-W',
        String(opts.timeoutS ?? 1),
        '-i',
        '0.2',
        ip,
      ],
      { ns },
    );
    return r.code === 0;
  }

  /** Every pod pings every other pod (retrying up to `tries` times per pair), v4 or v6 addresses. */
  async pingMatrix(
    tries = 3,
    only?: string[],
    family: 'ipv4' | 'ipv6' = 'ipv4',
  ): Promise<Array<{ from: string; to: string; ok: boolean }>> {
    const out: Array<{ from: string; to: string; ok: boolean }> = [];
    const pods = [...this.pods.values()].filter((p) => !only || only.includes(p.name));
    for (const a of pods) {
      for (const b of pods) {
        if (a === b) continue;
        const dst = family === 'ipv6' ? b.ip6 : b.ip;
        let ok = false;
        for (let i = 0; i < tries && !ok && dst; i++) ok = await this.ping(a.name, dst);
        out.push({ from: a.name, to: b.name, ok });
      }
    }
    return out;
  }

  /** Pod-to-pod TCP throughput with iperf3 (bits/s). */
  async iperf(fromPod: string, toPod: string, seconds = 2): Promise<number> {
    const server = this.pods.get(toPod)!;
    const client = this.pods.get(fromPod)!;
    const srv = this.spawnProcess(
      `iperf3-${toPod}-${Date.now()}`,
      'iperf3',
      ['-s', '-1', '--forceflush', '-B', server.ip],
      { ns: server.ns },
    );
    try {
      for (let i = 0; i < 50; i++) {
        if (srv.logs().includes('Server listening')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await sh('iperf3', ['-c', server.ip, '-t', String(seconds), '-J'], {
        ns: client.ns,
        timeoutMs: (seconds + 15) * 1000,
      });
      if (r.code !== 0) throw new Error(`iperf3 failed: ${r.stdout.slice(0, 500)}${r.stderr}`);
      const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      return j.end.sum_received.bits_per_second;
    } finally {
      await srv.stop('SIGKILL');
    }
  }

  /** `ip -j route|neigh` / `bridge -j fdb` of a node, parsed (routes of either family). */
  async routes(nodeName: string, family: 4 | 6 = 4): Promise<LabRoute[]> {
    const args = ['-' + family, '-j', 'route', 'show', 'table', 'main'];
    return JSON.parse((await this.exec(nodeName, 'ip', args)).stdout || '[]');
  }
  async neighbors(
    nodeName: string,
    dev: string,
  ): Promise<Array<{ dst: string; lladdr?: string; state?: string[] }>> {
    return JSON.parse(
      (await this.exec(nodeName, 'ip', ['-j', 'neigh', 'show', 'dev', dev])).stdout || '[]',
    );
  }
  async fdb(nodeName: string, dev: string): Promise<Array<{ mac: string; dst?: string }>> {
    return JSON.parse(
      (await this.exec(nodeName, 'bridge', ['-j', 'fdb', 'show', 'dev', dev])).stdout || '[]',
    );
  }

  async registerNode(n: LabNode, labels: Record<string, string> = {}): Promise<void> {
    await this.client.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: {
          'kubernetes.io/hostname': n.name,
          'flannel-operator.io/lab': this.prefix.replace(/-$/, ''),
          ...labels,
        },
      },
      spec: {},
    });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.client.patch(
      `/api/v1/nodes/${n.name}/status`,
      {
        status: {
          addresses: [
            ...(n.ip ? [{ type: 'InternalIP', address: n.ip }] : []),
            { type: 'InternalIP', address: n.ip6 },
            { type: 'Hostname', address: n.name },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'netns lab',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
      { type: 'merge' },
    );
  }

  async destroy(): Promise<void> {
    for (const name of [...this.pods.keys()]) await this.delPod(name).catch(() => undefined);
    for (const p of [...this.processes].reverse()) await p.stop().catch(() => undefined);
    for (const n of this.nodes.values())
      await this.client.delete(`/api/v1/nodes/${n.name}`).catch(() => undefined);
    await sh('bash', [TEARDOWN, this.prefix]);
    this.client.close();
  }
}

/** Builds the namespaces, the underlay, the API relays and (by default) registers the Nodes. */
export async function createLab(opts: LabOptions): Promise<Lab> {
  const prefix = opts.prefix ?? `flop-${randomBytes(3).toString('hex')}-`;
  const stateDir = join(STATE_ROOT, prefix.replace(/-$/, ''));
  mkdirSync(stateDir, { recursive: true });
  const lab = new Lab(prefix, stateDir, opts.controlPlane);
  try {
    const ul = lab.underlayNs;
    const v4 = opts.underlay !== 'ipv6';
    const rtr = lab.routerNs;
    await must('ip', ['netns', 'add', ul]);
    await must('ip', ['netns', 'add', rtr]);
    await must('ip', ['link', 'set', 'lo', 'up'], { ns: ul });
    await must('ip', ['link', 'set', 'lo', 'up'], { ns: rtr });
    await must('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { ns: rtr });
    await must('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1'], { ns: rtr });
    for (const [i, seg] of SEGMENTS.entries()) {
      await must('ip', ['link', 'add', `brseg${i}`, 'type', 'bridge'], { ns: ul });
      await must('ip', ['link', 'set', `brseg${i}`, 'up'], { ns: ul });
      // Router leg: created in the underlay ns, one end moved to the router ns.
      await must('ip', ['link', 'add', `r${i}`, 'type', 'veth', 'peer', 'name', `rtr${i}`], {
        ns: ul,
      });
      await must('ip', ['link', 'set', `rtr${i}`, 'netns', rtr], { ns: ul });
      await must('ip', ['link', 'set', `r${i}`, 'master', `brseg${i}`, 'up'], { ns: ul });
      if (v4) await must('ip', ['addr', 'add', `${seg}.254/24`, 'dev', `rtr${i}`], { ns: rtr });
      await must('ip', ['-6', 'addr', 'add', `${SEGMENTS6[i]}fe/64`, 'dev', `rtr${i}`, 'nodad'], {
        ns: rtr,
      });
      await must('ip', ['link', 'set', `rtr${i}`, 'up'], { ns: rtr });
    }
    // Root netns side of the API relay.
    const relay = lab.spawnProcess('relay-root', process.execPath, [
      RELAY,
      'unix2tcp',
      lab.apiSocket,
      String(lab.apiPort),
    ]);
    await waitForLog(relay, 'ready');
    const hostCount = [0, 0];
    for (const [idx, spec] of opts.nodes.entries()) {
      const segment = spec.segment ?? 0;
      const ns = `${prefix}${spec.name}`;
      const host = ++hostCount[segment]!;
      const ip = v4 ? `${SEGMENTS[segment]}.${host}` : '';
      const ip6 = `${SEGMENTS6[segment]}${host}`;
      const dir = join(stateDir, spec.name);
      mkdirSync(dir, { recursive: true });
      const n: LabNode = {
        name: spec.name,
        ns,
        ip,
        ip6,
        segment,
        dir,
        subnetFile: join(dir, 'subnet.env'),
        cniConfDir: join(dir, 'net.d'),
        cniDataDir: join(dir, 'cni'),
      };
      await must('ip', ['netns', 'add', ns]);
      await must('ip', ['link', 'set', 'lo', 'up'], { ns });
      await must('ip', ['link', 'add', `n${idx}`, 'type', 'veth', 'peer', 'name', 'eth0'], {
        ns: ul,
      });
      await must('ip', ['link', 'set', 'eth0', 'netns', ns], { ns: ul });
      await must('ip', ['link', 'set', `n${idx}`, 'master', `brseg${segment}`, 'up'], { ns: ul });
      if (v4) await must('ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0'], { ns });
      await must('ip', ['link', 'set', 'eth0', 'up'], { ns });
      if (v4)
        await must('ip', ['route', 'add', 'default', 'via', `${SEGMENTS[segment]}.254`], { ns });
      await must('ip', ['-6', 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad'], { ns });
      await must('ip', ['-6', 'route', 'add', 'default', 'via', `${SEGMENTS6[segment]}fe`], {
        ns,
      });
      const r = lab.spawnProcess(
        `relay-${spec.name}`,
        process.execPath,
        [RELAY, 'tcp2unix', String(lab.apiPort), lab.apiSocket],
        { ns },
      );
      await waitForLog(r, 'ready');
      lab.nodes.set(spec.name, n);
      if (opts.registerNodes !== false) await lab.registerNode(n, spec.labels);
    }
    return lab;
  } catch (e) {
    await lab.destroy().catch(() => undefined);
    throw e;
  }
}

async function waitForLog(p: ManagedProcess, text: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (p.logs().includes(text)) return;
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.logs()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${p.name}: no "${text}" within ${timeoutMs} ms`);
}

export { execFileP };
