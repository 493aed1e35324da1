import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient } from './client.js';
import { sleep } from './backoff.js';
import { collectionPath, objectPath } from './resources.js';
import { FlannelOperatorError } from '../errors.js';

/** spec of a coordination.k8s.io/v1 Lease. */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface Observation {
  /** The lease spec as last seen (serialised for change detection). */
  raw: string;
  /** Local clock when that spec was first seen; expiry is judged from here, not from renewTime (clock skew). */
  at: number;
}

export type LeaseDecision =
  | { action: 'acquire'; spec: LeaseSpec }
  | { action: 'renew'; spec: LeaseSpec }
  | { action: 'wait'; holder: string; expiresInMs: number };

/**
 * client-go's decision: another holder keeps the lease until `leaseDurationSeconds` after we
 * last saw its record change (measured on our clock); an empty holder is free at once.
 * Pure: no I/O, no clock.
 */
export function decideLease(
  current: LeaseSpec | undefined,
  observation: Observation | undefined,
  identity: string,
  now: number,
  leaseDurationMs: number,
): LeaseDecision {
  const durationSeconds = Math.ceil(leaseDurationMs / 1000);
  if (!current) {
    return {
      action: 'acquire',
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    };
  }
  const holder = current.holderIdentity ?? '';
  if (holder === identity) {
    return {
      action: 'renew',
      spec: {
        ...current,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: current.acquireTime ?? microTime(now),
        renewTime: microTime(now),
        leaseTransitions: current.leaseTransitions ?? 0,
      },
    };
  }
  if (holder !== '') {
    const seenAt =
      observation && observation.raw === JSON.stringify(current) ? observation.at : now;
    const expiresAt = seenAt + (current.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (expiresAt > now) return { action: 'wait', holder, expiresInMs: expiresAt - now };
  }
  return {
    action: 'acquire',
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (current.leaseTransitions ?? 0) + 1,
    },
  };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the lease when run() is aborted, so a successor starts at once. Default true. */
  releaseOnCancel?: boolean;
  logger: Logger;
  /** Called once leadership is acquired; `signal` aborts when it is lost or run() ends. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
  now?: () => number;
}

export class LeaderElectionError extends FlannelOperatorError {
  readonly code = 'ELEADER_CONFIG';
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go semantics and timings
 * (15 s lease, 10 s renew deadline, 2 s retry). Writes use the lease's resourceVersion, so
 * two candidates can never both win one round; a leader that cannot renew within the renew
 * deadline steps down before anyone else may take over (renewDeadline < leaseDuration).
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private observation?: Observation;
  private lease?: LeaseObject;
  private leading = false;
  /** Local time at which the last successful renew was *sent* (conservative). */
  private renewedAt = 0;
  private lastHolder = '';
  /** Successful acquisitions, for tests. */
  transitions = 0;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.now = opts.now ?? Date.now;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) {
      throw new LeaderElectionError('leaseDuration must be greater than renewDeadline');
    }
    if (!(this.renewDeadlineMs > this.retryPeriodMs * 1.2)) {
      throw new LeaderElectionError('renewDeadline must be greater than retryPeriod*1.2');
    }
    this.log = opts.logger.child({
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
  }

  /** True while leading and the last renew is younger than the renew deadline. */
  isLeader(): boolean {
    return this.leading && this.now() - this.renewedAt < this.renewDeadlineMs;
  }

  get leader(): string {
    return this.lastHolder;
  }

  private get path(): string {
    return objectPath('coordination.k8s.io/v1', 'leases', this.opts.name, this.opts.namespace);
  }

  /** Campaigns until leading, leads until the lease is lost or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    // Acquire.
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) break;
      await sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return;
    this.leading = true;
    this.transitions++;
    this.log.info('became leader');
    const leadership = new AbortController();
    try {
      void Promise.resolve()
        .then(() => this.opts.onStartedLeading(leadership.signal))
        .catch((err: unknown) => this.log.error({ err }, 'onStartedLeading failed'));
      // Renew.
      while (!signal.aborted) {
        await sleep(this.retryPeriodMs, signal);
        if (signal.aborted) break;
        const deadline = this.renewedAt + this.renewDeadlineMs;
        let renewed = false;
        while (!signal.aborted && this.now() < deadline) {
          const attempt = AbortSignal.any([
            signal,
            AbortSignal.timeout(Math.max(1, deadline - this.now())),
          ]);
          if (await this.tryAcquireOrRenew(attempt)) {
            renewed = true;
            break;
          }
          if (this.now() >= deadline) break;
          await sleep(Math.min(this.retryPeriodMs, Math.max(0, deadline - this.now())), signal);
        }
        if (signal.aborted) break;
        if (!renewed) {
          this.log.error(
            { renewDeadlineMs: this.renewDeadlineMs },
            'failed to renew lease within the deadline; stepping down',
          );
          break;
        }
      }
    } finally {
      const wasLeading = this.leading;
      this.leading = false;
      leadership.abort();
      if (wasLeading && signal.aborted && this.opts.releaseOnCancel !== false) await this.release();
      this.log.info('stopped leading');
      this.opts.onStoppedLeading();
    }
  }

  /** One round: read (or reuse) the lease, decide, write with optimistic concurrency. */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const { client, identity } = this.opts;
    const started = this.now();
    try {
      let current = this.lease;
      // Fast path for a leader: write with the resourceVersion we hold; a conflict falls back to a GET.
      if (!this.leading || !current) {
        current = await client.getOrUndefined<LeaseObject>(this.path, { signal });
      }
      const spec = current?.spec;
      if (current && spec) {
        const raw = JSON.stringify(spec);
        if (!this.observation || this.observation.raw !== raw)
          this.observation = { raw, at: started };
        this.noteHolder(spec.holderIdentity ?? '');
      }
      const decision = decideLease(
        current ? (spec ?? {}) : undefined,
        this.observation,
        identity,
        started,
        this.leaseDurationMs,
      );
      if (decision.action === 'wait') return false;
      let written: LeaseObject;
      if (!current) {
        written = await client.create<LeaseObject>(
          collectionPath('coordination.k8s.io/v1', 'leases', this.opts.namespace),
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: decision.spec,
          },
          { signal },
        );
      } else {
        written = await client.replace<LeaseObject>(
          this.path,
          { ...current, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: decision.spec },
          { signal },
        );
      }
      this.lease = written;
      this.observation = { raw: JSON.stringify(written.spec ?? {}), at: started };
      this.renewedAt = started;
      this.noteHolder(identity);
      return true;
    } catch (err) {
      this.lease = undefined;
      if (isConflict(err) || isNotFound(err)) {
        this.log.debug({ err }, 'lease changed under us');
      } else if (!signal?.aborted) {
        this.log.warn({ err }, 'lease request failed');
      }
      return false;
    }
  }

  private noteHolder(holder: string): void {
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder) {
        this.log.info({ leader: holder }, 'leader observed');
        this.opts.onNewLeader?.(holder);
      }
    }
  }

  /** Gives the lease up (empty holder) so a successor need not wait for expiry. */
  private async release(): Promise<void> {
    if (!this.lease?.spec) return;
    try {
      const spec: LeaseSpec = {
        ...this.lease.spec,
        holderIdentity: null,
        leaseDurationSeconds: 1,
        acquireTime: null,
        renewTime: microTime(this.now()),
      };
      await this.opts.client.replace(
        this.path,
        { ...this.lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec },
        { signal: AbortSignal.timeout(this.renewDeadlineMs) },
      );
      this.log.info('released lease');
    } catch (err) {
      this.log.warn({ err }, 'could not release lease');
    } finally {
      this.lease = undefined;
    }
  }
}
