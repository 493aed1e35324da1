import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

type PromClient = typeof import('prom-client');

/**
 * The agent's metrics. Only the update methods a pass calls: prom-client's metric classes have
 * them, and so do the deferred stand-ins below.
 */
export interface AgentMetrics {
  peers: Pick<Gauge<'mode'>, 'set'>;
  pending: Pick<Gauge, 'set'>;
  rejected: Pick<Gauge, 'set'>;
  programSeconds: Pick<Histogram, 'observe'>;
  errors: Pick<Counter<'kind'>, 'inc'>;
  resyncs: Pick<Counter<'trigger'>, 'inc'>;
  kernelOps: Pick<Counter<'op'>, 'inc'>;
  forwardingBlocked: Pick<Gauge, 'set'>;
  wireguardImplementation: Pick<Gauge<'implementation'>, 'set'>;
}

/** Updates waiting for prom-client beyond this many load it at once (memory stays bounded). */
const MAX_PENDING = 1000;

/**
 * The agent's metrics with prom-client loaded on first need, not at start: loading it (and its
 * default metrics' perf_hooks, v8 and zlib modules) is ~20 ms of the agent's CPU to converge
 * under AGENT_NODE_OPTIONS (issue 13), and nothing reads a metric before the first scrape.
 * Updates made before then wait in a queue and are applied, in order, once it is loaded:
 * `load()` (main.ts calls it once the first pass is over), the first scrape (`registry()`), or a
 * queue of MAX_PENDING updates, whichever comes first.
 */
export class DeferredMetrics {
  readonly metrics: AgentMetrics;
  private real?: AgentMetrics;
  private pending: Array<(m: AgentMetrics) => void> = [];
  private loading?: Promise<Registry>;

  /** `defaultMetrics`: also process, event loop and GC metrics (collectDefaultMetrics). */
  constructor(
    private readonly opts: { defaultMetrics?: boolean; onError?: (err: unknown) => void } = {},
  ) {
    const call =
      <K extends keyof AgentMetrics>(k: K, method: string) =>
      (...args: unknown[]): void =>
        this.update((m) =>
          (m[k] as unknown as Record<string, (...a: unknown[]) => void>)[method]!(...args),
        );
    this.metrics = {
      peers: { set: call('peers', 'set') },
      pending: { set: call('pending', 'set') },
      rejected: { set: call('rejected', 'set') },
      programSeconds: { observe: call('programSeconds', 'observe') },
      errors: { inc: call('errors', 'inc') },
      resyncs: { inc: call('resyncs', 'inc') },
      kernelOps: { inc: call('kernelOps', 'inc') },
      forwardingBlocked: { set: call('forwardingBlocked', 'set') },
      wireguardImplementation: { set: call('wireguardImplementation', 'set') },
    } as AgentMetrics;
  }

  /** The registry, with prom-client loaded and every update so far applied. */
  registry(): Promise<Registry> {
    this.loading ??= import('prom-client').then((prom) => {
      const registry = new prom.Registry();
      if (this.opts.defaultMetrics) prom.collectDefaultMetrics({ register: registry });
      const real = createAgentMetrics(prom, registry);
      for (const f of this.pending) f(real);
      this.pending = [];
      this.real = real;
      return registry;
    });
    return this.loading;
  }

  /** Whether loading prom-client has begun. */
  get loadStarted(): boolean {
    return this.loading !== undefined;
  }

  /** Loads prom-client now (in the background); a failure goes to onError. */
  load(): void {
    this.registry().catch((err: unknown) => this.opts.onError?.(err));
  }

  private update(f: (m: AgentMetrics) => void): void {
    if (this.real) return f(this.real);
    this.pending.push(f);
    if (this.pending.length >= MAX_PENDING) this.load();
  }
}

export function createAgentMetrics(prom: PromClient, registry: Registry): AgentMetrics {
  const { Counter, Gauge, Histogram } = prom;
  return {
    peers: new Gauge({
      name: 'flannel_agent_peers',
      help: 'Remote nodes programmed',
      labelNames: ['mode'],
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'flannel_agent_pending_peers',
      help: 'Remote leases not yet programmable',
      registers: [registry],
    }),
    rejected: new Gauge({
      name: 'flannel_agent_rejected_peers',
      help: 'Remote leases refused as hostile or conflicting (duplicate VTEP MAC, bad publicIP, BackendRejected)',
      registers: [registry],
    }),
    programSeconds: new Histogram({
      name: 'flannel_agent_programming_duration_seconds',
      help: 'Time of one reconcile pass (read kernel, diff, apply)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'flannel_agent_errors_total',
      help: 'Errors by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    resyncs: new Counter({
      name: 'flannel_agent_reconciles_total',
      help: 'Reconcile passes by trigger',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    kernelOps: new Counter({
      name: 'flannel_agent_kernel_changes_total',
      help: 'Kernel objects changed',
      labelNames: ['op'],
      registers: [registry],
    }),
    forwardingBlocked: new Gauge({
      name: 'flannel_agent_forwarding_blocked',
      help: 'Foreign nftables forward-hook chains (per address family) that drop pod traffic',
      registers: [registry],
    }),
    wireguardImplementation: new Gauge({
      name: 'flannel_agent_wireguard_implementation',
      help: 'WireGuard implementation serving the devices: 1 for kernel or userspace (wireguard-go)',
      labelNames: ['implementation'],
      registers: [registry],
    }),
  };
}
