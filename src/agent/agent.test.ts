import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { FlannelNetwork, SubnetLease } from '../api/index.js';
import type { KubeClient } from '../kube/index.js';
import { Agent, type AgentKernel, type AgentNetfilter } from './agent.js';
import { ROUTE_PROTOCOL, type ActualState, type Diff } from './desired.js';
import { DeferredMetrics } from './metrics.js';
import type { RuleInput } from './netfilter/render.js';

/**
 * The agent's wiring with its kernel, watchers and netfilter passed in: change events lead to a
 * repairing pass, failures are retried and surface on the lease. The scheduling rules themselves
 * are tested in loop.test.ts; the real kernel in test-e2e/agent.
 */

const network: FlannelNetwork = {
  metadata: { name: 'net', resourceVersion: '1' },
  spec: { network: '10.244.0.0/16' },
} as FlannelNetwork;
const lease = (node: string, n: number): SubnetLease => ({
  metadata: { name: `net.${node}`, resourceVersion: '1', generation: 1 },
  spec: { nodeName: node, networkName: 'net', subnet: `10.244.${n}.0/24` },
  status: {
    publicIP: `10.200.0.${n}`,
    backend: { type: 'vxlan', vtepMAC: `0e:00:00:00:00:0${n}`, vni: 1 },
  },
});

type LeaseEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: SubnetLease };
/** The lease informer's watch callback, to play events into. */
let leaseWatch: ((ev: LeaseEvent) => unknown) | undefined;

/** Lists what it was given; watches stay open until the informer stops them. */
function fakeClient(statuses: unknown[]): KubeClient {
  return {
    get: async () => ({
      metadata: { name: 'a' },
      status: { addresses: [{ type: 'InternalIP', address: '10.200.0.1' }] },
    }),
    listAll: async (path: string) => ({
      items: path.includes('flannelnetworks') ? [network] : [lease('a', 1), lease('b', 2)],
      resourceVersion: '1',
    }),
    watch: (
      path: string,
      _q: unknown,
      on: (ev: LeaseEvent) => unknown,
      opts: { signal?: AbortSignal } = {},
    ) => {
      if (path.includes('subnetleases')) leaseWatch = on;
      return new Promise<void>((resolve) =>
        opts.signal?.addEventListener('abort', () => resolve()),
      );
    },
    // The version the write left: s1, s2, ...
    applyStatus: async (obj: unknown) => ({
      metadata: { resourceVersion: `s${statuses.push(obj)}` },
    }),
  } as unknown as KubeClient;
}

/** Applies diffs to an in-memory ActualState; `failing` makes every operation fail. */
class FakeKernel implements AgentKernel {
  state: ActualState = { routes: [], neighbors: [], fdb: [] };
  reads = 0;
  diffs: Diff[] = [];
  failing = false;
  underlay = async () => ({
    name: 'eth0',
    index: 2,
    mtu: 1500,
    ip: '10.200.0.1',
    prefix: '10.200.0.0/24',
  });
  underlayV6 = async () => undefined;
  readState = async (): Promise<ActualState> => {
    this.reads++;
    return structuredClone(this.state);
  };
  deleteLink = async () => undefined;
  ensureVxlan: AgentKernel['ensureVxlan'] = async (spec) => {
    this.state.vxlan = { ...spec, up: true, learning: false, addresses: [spec.address] };
  };
  applyDiff = async (d: Diff): Promise<Error[]> => {
    this.diffs.push(structuredClone(d));
    if (this.failing) return [new Error('EPERM')];
    const s = this.state;
    for (const r of [...d.addRoutes, ...d.replaceRoutes]) {
      s.routes = s.routes.filter((x) => x.dst !== r.dst);
      s.routes.push({ ...r, protocol: ROUTE_PROTOCOL, table: 254 });
    }
    for (const n of [...d.addNeighbors, ...d.replaceNeighbors]) {
      s.neighbors = s.neighbors.filter((x) => x.ip !== n.ip);
      s.neighbors.push({ ...n, permanent: true });
    }
    for (const f of [...d.addFdb, ...d.replaceFdb]) {
      s.fdb = s.fdb.filter((x) => x.mac !== f.mac);
      s.fdb.push(f);
    }
    return [];
  };
  close = () => undefined;
}

class FakeNetfilter implements AgentNetfilter {
  readonly mode = 'nftables' as const;
  applied: RuleInput[] = [];
  present = new Set<string>();
  inSync = async (r: RuleInput) => this.present.has(r.family);
  remove = async () => undefined;
  forwardBlockers = async () => [];
  apply = async (r: RuleInput) => {
    this.applied.push(r);
    this.present.add(r.family);
  };
}

class FakeWatcher extends EventEmitter {
  started = false;
  start() {
    this.started = true;
  }
  stop() {
    this.started = false;
  }
}

/** The rtnetlink watcher's deafen(): counts the deafen() calls not yet undone. */
class FakeRtnlWatcher extends FakeWatcher {
  deaf = 0;
  deafen() {
    this.deaf++;
    return () => void this.deaf--;
  }
}

/** A peer lease with its own VTEP MAC for any n < 256. */
const peerLease = (node: string, n: number): SubnetLease => {
  const l = lease(node, 1);
  l.spec.subnet = `10.244.${n}.0/24`;
  l.status = {
    publicIP: `10.200.0.${n}`,
    backend: {
      type: 'vxlan',
      vtepMAC: `0e:00:00:00:01:${n.toString(16).padStart(2, '0')}`,
      vni: 1,
    },
  };
  return l;
};

const until = async (what: string, ok: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Agent with injected kernel, watchers and netfilter', () => {
  let dir: string;
  let kernel: FakeKernel;
  let nf: FakeNetfilter;
  let rtnl: FakeRtnlWatcher;
  let nft: FakeWatcher;
  let statuses: unknown[];
  let agent: Agent;
  let metrics: DeferredMetrics;
  const leasePasses = async (): Promise<number> => {
    const counter = (await metrics.registry()).getSingleMetric('flannel_agent_reconciles_total');
    const { values } = await counter!.get();
    return values.find((v) => v.labels.trigger === 'lease')?.value ?? 0;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-test-'));
    kernel = new FakeKernel();
    nf = new FakeNetfilter();
    rtnl = new FakeRtnlWatcher();
    nft = new FakeWatcher();
    statuses = [];
    metrics = new DeferredMetrics();
    agent = new Agent(
      {
        nodeName: 'a',
        network: 'net',
        subnetFile: join(dir, 'subnet.env'),
        cniConfDir: dir,
        resyncMs: 3_600_000,
        debounceMs: 10,
      },
      {
        client: fakeClient(statuses),
        logger: pino({ level: 'silent' }),
        metrics: metrics.metrics,
        kernel,
        netfilter: nf,
        watchers: [rtnl, nft],
        ensureSysctl: async () => 'ok',
      },
    );
    await agent.start();
    await until('ready', () => agent.isReady());
  });

  afterEach(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('programs the peer, the rules and subnet.env, and starts the watchers', () => {
    expect(rtnl.started && nft.started).toBe(true);
    expect(kernel.state.routes.map((r) => r.dst)).toEqual(['10.244.2.0/24']);
    expect(kernel.state.fdb).toEqual([
      { dev: 'flannel.1', mac: '0e:00:00:00:00:02', dst: '10.200.0.2' },
    ]);
    expect(nf.applied.map((r) => r.family)).toEqual(['ipv4']);
    expect(readFileSync(join(dir, 'subnet.env'), 'utf8')).toContain('FLANNEL_SUBNET=10.244.1.1/24');
  });

  it('a kernel change event repairs a deleted route within the debounce, not at the resync', async () => {
    kernel.state.routes = [];
    const t0 = Date.now();
    rtnl.emit('change', 'route');
    await until('route back', () => kernel.state.routes.length === 1, 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('an nftables event re-applies deleted rules', async () => {
    nf.present.clear();
    nft.emit('change', 'nftables');
    await until('rules back', () => nf.applied.length === 2, 1000);
  });

  it('a failing pass is retried with backoff and reported on the lease as Ready=False', async () => {
    kernel.failing = true;
    kernel.state.routes = [];
    const reads = kernel.reads;
    rtnl.emit('change', 'route');
    await until('Ready=False published', () =>
      statuses.some((s) => JSON.stringify(s).includes('"EAGENT_KERNEL"')),
    );
    // The retry waits for the backoff (1 s first): no busy loop in the meantime.
    await new Promise((r) => setTimeout(r, 300));
    expect(kernel.reads - reads).toBeLessThanOrEqual(2);
    kernel.failing = false;
    await until('repaired by the retry', () => kernel.state.routes.length === 1, 3000);
  });

  it('a new peer lease is programmed without reading the kernel, and only its objects are written', async () => {
    await agent.settle();
    const reads = kernel.reads;
    kernel.diffs = [];
    const triggered = await leasePasses();
    leaseWatch!({ type: 'ADDED', object: lease('c', 3) });
    await until('c routed', () => kernel.state.routes.some((r) => r.dst === '10.244.3.0/24'));
    await agent.settle();
    expect(kernel.reads).toBe(reads);
    expect(await leasePasses()).toBe(triggered + 1);
    expect(kernel.diffs).toHaveLength(1);
    const d = kernel.diffs[0]!;
    expect([d.addRoutes, d.addNeighbors, d.addFdb].map((l) => l.length)).toEqual([1, 1, 1]);
    expect(d.addFdb[0]).toEqual({ dev: 'flannel.1', mac: '0e:00:00:00:00:03', dst: '10.200.0.3' });
    expect(
      [
        d.replaceRoutes,
        d.removeRoutes,
        d.replaceNeighbors,
        d.removeNeighbors,
        d.replaceFdb,
        d.removeFdb,
      ].flat(),
    ).toEqual([]);
  });

  it('a bulk diff is written with the rtnetlink watcher deaf to it, a small one heard; hearing resumes after a failure', async () => {
    await agent.settle();
    const deafWhileWriting: number[] = [];
    const apply = kernel.applyDiff;
    kernel.applyDiff = (d) => {
      deafWhileWriting.push(rtnl.deaf);
      return apply(d);
    };
    leaseWatch!({ type: 'ADDED', object: lease('c', 3) });
    await until('c routed', () => kernel.state.routes.some((r) => r.dst === '10.244.3.0/24'));
    // 25 peers in one debounce: one peer pass of 75 writes.
    for (let n = 10; n < 35; n++) leaseWatch!({ type: 'ADDED', object: peerLease(`p${n}`, n) });
    await until('25 more routed', () => kernel.state.routes.length === 27);
    await agent.settle();
    expect(deafWhileWriting).toEqual([0, 1]);
    expect(rtnl.deaf).toBe(0);

    kernel.failing = true;
    for (let n = 40; n < 65; n++) leaseWatch!({ type: 'ADDED', object: peerLease(`p${n}`, n) });
    await until('failed', () => deafWhileWriting.length === 3);
    expect(deafWhileWriting[2]).toBe(1);
    expect(rtnl.deaf).toBe(0);
    kernel.failing = false;
  });

  it('its vxlan device created down then up as wanted starts no pass; another state of it does', async () => {
    await agent.settle();
    const reads = kernel.reads;
    const { name, mtu, mac } = kernel.state.vxlan!;
    const link = { kind: 'link', op: 'new', ifindex: 9, name, mtu, mac };
    rtnl.emit('change', 'link', { ...link, up: false });
    rtnl.emit('change', 'link', { ...link, up: true });
    rtnl.emit('change', 'link', { ...link, name: 'eth0', ifindex: 2, mtu: 1500, up: true });
    await new Promise((r) => setTimeout(r, 100));
    await agent.settle();
    expect(kernel.reads).toBe(reads);
    rtnl.emit('change', 'link', { ...link, up: true, mtu: 1400 });
    await until('a full pass', () => kernel.reads > reads);
  });

  it('the echo of its own status write starts no pass; any other change of its lease does', async () => {
    await agent.settle();
    const reads = kernel.reads;
    const echo = lease('a', 1);
    echo.metadata.resourceVersion = `s${statuses.length}`;
    leaseWatch!({ type: 'MODIFIED', object: echo });
    await new Promise((r) => setTimeout(r, 100));
    await agent.settle();
    expect(kernel.reads).toBe(reads);
    const edited = lease('a', 1);
    edited.metadata.resourceVersion = 'someone-else';
    leaseWatch!({ type: 'MODIFIED', object: edited });
    await until('a full pass', () => kernel.reads > reads);
  });

  it("its status write's version with a spec no pass has read yet starts a full pass", async () => {
    await agent.settle();
    const reads = kernel.reads;
    // Someone changed the spec just before the write: the write's version holds that spec.
    const moved = lease('a', 7);
    moved.metadata.generation = 2;
    moved.metadata.resourceVersion = `s${statuses.length}`;
    leaseWatch!({ type: 'MODIFIED', object: moved });
    await until('a full pass', () => kernel.reads > reads);
  });

  it("another agent's condition churn on a peer lease starts no pass; a kernel event still reads the kernel", async () => {
    await agent.settle();
    const reads = kernel.reads;
    kernel.diffs = [];
    const triggered = await leasePasses();
    const b = lease('b', 2);
    b.metadata.resourceVersion = '2';
    b.status!.conditions = [
      {
        type: 'Ready',
        status: 'True',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'X',
        message: '',
      },
    ];
    leaseWatch!({ type: 'MODIFIED', object: b });
    await new Promise((r) => setTimeout(r, 100));
    await agent.settle();
    expect([kernel.reads - reads, kernel.diffs.length]).toEqual([0, 0]);
    expect(await leasePasses()).toBe(triggered);
    rtnl.emit('change', 'route');
    await until('full pass', () => kernel.reads > reads);
  });

  it('a second lease for a peer node changes nothing, in peer and full passes, nor does its delete', async () => {
    await agent.settle();
    const older = lease('b', 2);
    older.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    // Newer, but first by name and in list order: only its age tells it apart.
    const second = lease('b', 7);
    second.metadata.name = 'aaa.b';
    second.metadata.creationTimestamp = '2026-01-02T00:00:00Z';
    leaseWatch!({ type: 'MODIFIED', object: older });
    await agent.settle();
    const routes = () => kernel.state.routes.map((r) => r.dst);
    leaseWatch!({ type: 'ADDED', object: second });
    await new Promise((r) => setTimeout(r, 50));
    await agent.settle();
    expect(routes()).toEqual(['10.244.2.0/24']);
    const reads = kernel.reads;
    rtnl.emit('change', 'route');
    await until('full pass', () => kernel.reads > reads);
    await agent.settle();
    expect(routes()).toEqual(['10.244.2.0/24']);
    leaseWatch!({ type: 'DELETED', object: second });
    await new Promise((r) => setTimeout(r, 50));
    await agent.settle();
    expect(routes()).toEqual(['10.244.2.0/24']);
  });

  it('once its own lease is gone, a peer lease is not programmed on what the former pass planned', async () => {
    await agent.settle();
    leaseWatch!({ type: 'DELETED', object: lease('a', 1) });
    await until('not ready', () => !agent.isReady());
    await agent.settle();
    kernel.diffs = [];
    leaseWatch!({ type: 'ADDED', object: lease('c', 3) });
    await new Promise((r) => setTimeout(r, 100));
    await agent.settle();
    expect(kernel.diffs).toEqual([]);
    expect(kernel.state.routes.map((r) => r.dst)).not.toContain('10.244.3.0/24');
  });
});
