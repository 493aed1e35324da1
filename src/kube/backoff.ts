/** Exponential backoff with optional jitter; pure so tests need no timers. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of random spread added on top, 0..1 (client-go's jitter). */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based): base * factor^attempt, capped, plus jitter. */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const factor = opts.factor ?? 2;
  const raw = opts.baseMs * Math.pow(factor, Math.max(0, attempt));
  const capped = Number.isFinite(raw) ? Math.min(raw, opts.maxMs) : opts.maxMs;
  const jitter = opts.jitter ? capped * opts.jitter * random() : 0;
  return Math.round(Math.min(capped + jitter, opts.maxMs * (1 + (opts.jitter ?? 0))));
}

/** Sleeps unless aborted; resolves false when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Token bucket: `ratePerSecond` refill, `burst` capacity. `take()` returns how long to wait (0 = go). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Reserves one token; returns the delay in ms until it may be used. */
  take(): number {
    if (!Number.isFinite(this.ratePerSecond) || this.ratePerSecond <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.last) / 1000) * this.ratePerSecond,
    );
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }
}
