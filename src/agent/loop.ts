import { backoffDelay, type BackoffOptions } from '../kube/backoff.js';

/**
 * The agent's pass scheduler: one pass at a time, triggers coalesced, failures retried with
 * exponential backoff, a periodic resync as the safety net. Knows nothing about what a pass does.
 *
 * - A trigger while idle schedules a pass after `delay` (the debounce). A pending pass is only
 *   ever brought forward, never postponed, so a steady stream of events cannot starve it.
 * - A trigger during a pass marks the loop dirty: one more pass follows right after (`rerunMs`).
 * - A failed pass is retried after backoff(failures); any trigger may bring the retry forward.
 */
export interface PassLoopOptions {
  /** One reconcile pass; a rejection counts as a failure. */
  run: () => Promise<void>;
  /** Every accepted trigger, with its reason ('start', 'periodic' or the caller's). */
  onTrigger?: (reason: string) => void;
  debounceMs: number;
  resyncMs: number;
  /** Delay of the follow-up pass when triggers arrived during a pass. */
  rerunMs?: number;
  backoff?: BackoffOptions;
  onError?: (err: unknown, failures: number) => void;
  random?: () => number;
}

export const DEFAULT_RETRY_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, jitter: 0.1 };

export class PassLoop {
  private running = false;
  private dirty = false;
  private pass?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private debounceAt = 0;
  private resync?: NodeJS.Timeout;
  /** Consecutive failed passes. */
  failures = 0;

  constructor(private readonly opts: PassLoopOptions) {}

  /** Starts the periodic resync and runs a first pass now. */
  start(): void {
    this.running = true;
    this.resync = setInterval(() => this.trigger('periodic', 0), this.opts.resyncMs);
    this.trigger('start', 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.resync);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass?.catch(() => undefined);
  }

  trigger(reason: string, delay = this.opts.debounceMs): void {
    if (!this.running) return;
    this.opts.onTrigger?.(reason);
    if (this.pass) {
      this.dirty = true;
      return;
    }
    this.schedule(delay);
  }

  /** Resolves when a pass finished with nothing left to do (tests, bench). */
  async settle(): Promise<void> {
    while (this.pass || this.dirty) await (this.pass ?? new Promise((r) => setTimeout(r, 10)));
  }

  private schedule(delay: number): void {
    const at = Date.now() + delay;
    if (this.timer && this.debounceAt <= at) return;
    clearTimeout(this.timer);
    this.debounceAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runPass();
    }, delay);
  }

  private runPass(): void {
    if (this.pass || !this.running) return;
    this.dirty = false;
    let failed = false;
    this.pass = this.opts
      .run()
      .then(
        () => {
          this.failures = 0;
        },
        (e: unknown) => {
          failed = true;
          this.failures++;
          this.dirty = true;
          this.opts.onError?.(e, this.failures);
        },
      )
      .finally(() => {
        this.pass = undefined;
        if (!this.dirty || !this.running) return;
        this.dirty = false;
        this.schedule(
          failed
            ? backoffDelay(
                this.failures - 1,
                this.opts.backoff ?? DEFAULT_RETRY_BACKOFF,
                this.opts.random,
              )
            : (this.opts.rerunMs ?? 20),
        );
      });
  }
}
