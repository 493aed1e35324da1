import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { backoffDelay, TokenBucket } from './backoff.js';

export interface WorkQueueMetrics {
  depth: Gauge;
  adds: Counter;
  retries: Counter;
  /** Seconds a key waited in the queue before a worker took it. */
  queueLatency: Histogram;
  /** Seconds the handler ran. */
  workDuration: Histogram;
}

/** Metrics of one queue, labelled by `name`, in the given registry. */
export function createWorkQueueMetrics(registry: Registry, prefix = 'workqueue'): WorkQueueMetrics {
  const labelNames = ['name'] as const;
  const buckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60];
  return {
    depth: new Gauge({
      name: `${prefix}_depth`,
      help: 'Keys waiting to be processed',
      labelNames,
      registers: [registry],
    }),
    adds: new Counter({
      name: `${prefix}_adds_total`,
      help: 'Keys added',
      labelNames,
      registers: [registry],
    }),
    retries: new Counter({
      name: `${prefix}_retries_total`,
      help: 'Keys requeued after a failure',
      labelNames,
      registers: [registry],
    }),
    queueLatency: new Histogram({
      name: `${prefix}_queue_duration_seconds`,
      help: 'Time a key waits before processing',
      labelNames,
      buckets,
      registers: [registry],
    }),
    workDuration: new Histogram({
      name: `${prefix}_work_duration_seconds`,
      help: 'Time processing a key takes',
      labelNames,
      buckets,
      registers: [registry],
    }),
  };
}

export interface WorkQueueOptions {
  handler: (key: string) => Promise<void>;
  /** Parallel workers (distinct keys); default 1. */
  concurrency?: number;
  /** Per-key retry backoff: base..max, doubling per failure (client-go: 5 ms .. 1000 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Overall token bucket for retries (client-go: 10/s, burst 100). Infinity disables. */
  ratePerSecond?: number;
  burst?: number;
  logger: Logger;
  metrics?: WorkQueueMetrics;
  /** Label value for the metrics. */
  name?: string;
  now?: () => number;
}

/**
 * Keyed work queue with client-go semantics: a key is queued at most once (dedupe), at most
 * one handler runs per key, a key re-added while its handler runs is processed again
 * afterwards, failures retry with per-key exponential backoff and an overall rate limit.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly addedAt = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly bucket: TokenBucket;
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly name: string;
  private readonly now: () => number;
  private running = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: WorkQueueOptions) {
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
    this.now = opts.now ?? Date.now;
    this.bucket = new TokenBucket(opts.ratePerSecond ?? 10, opts.burst ?? 100, this.now);
    this.name = opts.name ?? 'default';
  }

  /** Keys waiting (not counting running ones or delayed ones). */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Keys waiting, running or delayed. */
  get size(): number {
    return this.depth + this.processing.size + this.timers.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    this.opts.metrics?.adds.inc({ name: this.name });
    if (this.processing.has(key)) return; // picked up again when the running handler finishes
    this.push(key);
  }

  /** Adds the key after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Requeues with the key's backoff (and the overall rate limit); what a failure does. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.max(
      backoffDelay(n, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs }),
      this.bucket.take(),
    );
    this.opts.metrics?.retries.inc({ name: this.name });
    this.addAfter(key, delay);
  }

  /** Clears the key's failure history (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures since the last success. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.pump();
  }

  /** Stops taking new work, drops pending keys and waits for running handlers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.updateDepth();
    await Promise.allSettled([...this.inflight]);
    this.notifyIdle();
  }

  /** Resolves when nothing is queued, running or delayed (tests, benchmarks). */
  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: string): void {
    this.queue.push(key);
    this.addedAt.set(key, this.now());
    this.updateDepth();
    this.pump();
  }

  private shift(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return key;
  }

  private updateDepth(): void {
    this.opts.metrics?.depth.set({ name: this.name }, this.depth);
  }

  private pump(): void {
    while (this.running && this.processing.size < this.concurrency) {
      const key = this.shift();
      if (key === undefined) break;
      this.updateDepth();
      this.dirty.delete(key);
      this.processing.add(key);
      const queuedAt = this.addedAt.get(key);
      this.addedAt.delete(key);
      if (queuedAt !== undefined)
        this.opts.metrics?.queueLatency.observe(
          { name: this.name },
          (this.now() - queuedAt) / 1000,
        );
      const p = this.process(key);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
    if (this.size === 0) this.notifyIdle();
  }

  private async process(key: string): Promise<void> {
    const started = this.now();
    try {
      await this.opts.handler(key);
      this.forget(key);
    } catch (err) {
      if (!this.stopped) {
        this.opts.logger.warn(
          { err, key, retries: this.retries(key) },
          'reconcile failed; retrying with backoff',
        );
        this.addRateLimited(key);
      }
    } finally {
      this.opts.metrics?.workDuration.observe({ name: this.name }, (this.now() - started) / 1000);
      this.processing.delete(key);
      if (this.dirty.has(key) && !this.stopped) this.push(key);
      // Let the pump run after the current microtask so a synchronous handler cannot starve timers.
      void Promise.resolve().then(() => this.pump());
    }
  }

  private notifyIdle(): void {
    if (this.size !== 0 && !this.stopped) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
