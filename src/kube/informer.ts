import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { KubeApiError, isGone, type KubeClient, type WatchEvent } from './client.js';
import { backoffDelay, sleep } from './backoff.js';
import { objectKey } from './resources.js';

export interface KubeObject {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  client: KubeClient;
  /** Collection path, e.g. /api/v1/nodes. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Emit 'resync' this often (0 = never). Default 0. */
  resyncMs?: number;
  /** Restart the watch when nothing (not even a bookmark) arrived for this long. Default 5 min. */
  watchdogMs?: number;
  /** Restart backoff after errors: base..max with jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Page size of the initial list. */
  pageSize?: number;
  /**
   * Applied to every object before it is cached and emitted (client-go's SetTransform): drop
   * what the consumer never reads (managedFields, node images) to keep memory flat at scale.
   */
  transform?: (obj: T) => T;
  logger: Logger;
}

/**
 * Typed events of an Informer:
 *   'add'(obj) 'update'(obj, old) 'delete'(obj) 'resync'() 'synced'() 'error'(err) is never emitted
 *   (errors are logged and retried) so a missing listener cannot crash the process.
 */
export interface Informer<T extends KubeObject> {
  on(event: 'add', fn: (obj: T) => void): this;
  on(event: 'update', fn: (obj: T, old: T) => void): this;
  on(event: 'delete', fn: (obj: T) => void): this;
  on(event: 'resync' | 'synced', fn: () => void): this;
}

/**
 * List + watch cache of one collection. Lists, then watches from the list's resourceVersion
 * with bookmarks; a 410 Gone (or an 'Expired' ERROR event) relists and emits the difference;
 * other failures restart the watch with exponential backoff and jitter; a watchdog restarts
 * a watch that went silent.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Informer<T extends KubeObject> extends EventEmitter {
  private readonly store = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private abort = new AbortController();
  private watchAbort?: AbortController;
  private resyncTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private readonly log: Logger;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relists: 0, watchdogRestarts: 0, errors: 0 };

  constructor(private readonly opts: InformerOptions<T>) {
    super();
    this.log = opts.logger.child({ informer: opts.path, labelSelector: opts.labelSelector });
  }

  /** Starts list+watch; resolves after the first successful list (objects already emitted as 'add'). */
  start(): Promise<void> {
    if (this.loop) return this.whenSynced();
    const synced = this.whenSynced();
    this.loop = this.run();
    if (this.opts.resyncMs && this.opts.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.synced && this.emit('resync'), this.opts.resyncMs);
      this.resyncTimer.unref();
    }
    return synced;
  }

  stop(): void {
    this.abort.abort();
    this.watchAbort?.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
  }

  /** Resolves when the loop has exited after stop(). */
  async stopped(): Promise<void> {
    await this.loop;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  /** Forces the current watch to end; the loop re-watches from the last resourceVersion. */
  restartWatch(): void {
    this.watchAbort?.abort();
  }

  private whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onSynced = (): void => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.off('synced', onSynced);
        reject(new KubeApiError(`informer ${this.opts.path} stopped before sync`, 0, 'Aborted'));
      };
      this.once('synced', onSynced);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const began = Date.now();
        const progressed = await this.watchOnce();
        if (progressed) failures = 0;
        else if (Date.now() - began < 1000 && !signal.aborted) {
          // A watch that ends at once without events is a failure in disguise; do not spin.
          await sleep(
            backoffDelay(failures++, {
              baseMs: this.opts.backoffBaseMs ?? 800,
              maxMs: this.opts.backoffMaxMs ?? 30_000,
              jitter: 0.5,
            }),
            signal,
          );
        }
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        if (isGone(err)) {
          this.log.info('watch expired (410); relisting');
          needList = true;
          continue;
        }
        const delay = backoffDelay(failures++, {
          baseMs: this.opts.backoffBaseMs ?? 800,
          maxMs: this.opts.backoffMaxMs ?? 30_000,
          jitter: 0.5,
        });
        this.log.warn({ err, delayMs: delay }, 'list/watch failed; retrying');
        // After a transport failure during list the store may be stale; relist if never synced.
        if (!this.synced) needList = true;
        await sleep(delay, signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const { client, path, labelSelector, fieldSelector } = this.opts;
    this.stats.lists++;
    if (this.synced) this.stats.relists++;
    const { items, resourceVersion } = await client.listAll<T>(path, {
      labelSelector,
      fieldSelector,
      limit: this.opts.pageSize ?? 500,
      signal: this.abort.signal,
    });
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.opts.transform ? this.opts.transform(raw) : raw;
      const key = objectKey(obj);
      seen.add(key);
      this.upsert(key, obj);
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      this.emit('synced');
    }
  }

  private upsert(key: string, obj: T): void {
    const old = this.store.get(key);
    this.store.set(key, obj);
    if (!old) this.emit('add', obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
      this.emit('update', obj, old);
  }

  /** One watch call; resolves true if it delivered anything. Throws on errors (410 included). */
  private async watchOnce(): Promise<boolean> {
    const { client, path, labelSelector, fieldSelector } = this.opts;
    const watchAbort = new AbortController();
    this.watchAbort = watchAbort;
    const onStop = (): void => watchAbort.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const watchdogMs = this.opts.watchdogMs ?? 300_000;
    let watchdogFired = false;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      // Re-armed on every event: refresh() reuses the timer (no new Timeout per event).
      if (watchdog) {
        watchdog.refresh();
        return;
      }
      watchdog = setTimeout(() => {
        watchdogFired = true;
        this.stats.watchdogRestarts++;
        this.log.warn({ watchdogMs }, 'watch silent too long; restarting it');
        watchAbort.abort();
      }, watchdogMs);
      watchdog.unref();
    };
    arm();
    let progressed = false;
    let gone: KubeApiError | undefined;
    this.stats.watches++;
    try {
      await client.watch<T>(
        path,
        {
          labelSelector,
          fieldSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          // Like client-go: 5..10 minutes so watches spread over API servers.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        (ev: WatchEvent<T>) => {
          arm();
          progressed = true;
          if (gone) return false;
          this.handleEvent(ev, (err) => {
            gone = err;
          });
          return gone ? false : undefined;
        },
        { signal: watchAbort.signal },
      );
    } catch (err) {
      if (gone) throw gone;
      if (watchdogFired || (this.abort.signal.aborted && !gone)) return progressed;
      if (watchAbort.signal.aborted) return progressed; // restartWatch()
      throw err;
    } finally {
      if (watchdog) clearTimeout(watchdog);
      this.abort.signal.removeEventListener('abort', onStop);
    }
    if (gone) throw gone;
    return progressed;
  }

  private handleEvent(ev: WatchEvent<T>, fail: (err: KubeApiError) => void): void {
    const obj =
      ev.object && this.opts.transform && ev.type !== 'BOOKMARK' && ev.type !== 'ERROR'
        ? this.opts.transform(ev.object)
        : ev.object;
    switch (ev.type) {
      case 'BOOKMARK':
        if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        return;
      case 'ERROR': {
        const s = obj as unknown as { code?: number; reason?: string; message?: string };
        fail(
          new KubeApiError(
            `watch ${this.opts.path}: ${s.message ?? 'error'}`,
            s.code ?? 500,
            s.reason ?? 'InternalError',
          ),
        );
        return;
      }
      case 'ADDED':
      case 'MODIFIED':
        this.upsert(objectKey(obj), obj);
        break;
      case 'DELETED': {
        const key = objectKey(obj);
        const old = this.store.get(key);
        this.store.delete(key);
        if (old || obj) this.emit('delete', obj);
        break;
      }
    }
    if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
  }
}

/** A transform dropping metadata.managedFields (large, never read by controllers). */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  if (meta?.managedFields !== undefined) delete meta.managedFields;
  return obj;
}
