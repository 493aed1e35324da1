import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { backoffDelay } from '../../kube/backoff.js';
import { NFT_TABLE_V4, NFT_TABLE_V6 } from './render.js';
import type { NftWriters } from './writers.js';

/** How long a transaction's events wait for its "# new generation" line before they count. */
const TRAILER_WAIT_MS = 200;

/**
 * Emits 'change' when anyone else touches the agent's nftables tables, so rule drift is repaired
 * as fast as route drift instead of at the next resync. `nft monitor` is the nftables netlink event
 * stream (NFNLGRP_NFTABLES) as text; it is restarted with backoff if it exits. A transaction
 * written by one of the agent's own nft processes (`writers`) is its own write, not drift: each
 * full pass used to start a second one on the echo of its own rules.
 */
export class NftWatcher extends EventEmitter {
  private child?: ChildProcess;
  private stopped = true;
  private restarts = 0;
  private retry?: NodeJS.Timeout;
  /** Events about our tables since the last transaction's end; their writer is not known yet. */
  private pending?: NodeJS.Timeout;

  constructor(
    private readonly opts: { logger?: Logger; command?: string[]; writers?: NftWriters } = {},
  ) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.spawn();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.pending);
    this.pending = undefined;
    this.child?.kill();
    this.child = undefined;
  }

  private spawn(): void {
    // All event kinds: `nft monitor` takes one object type at most, and sets/elements count too.
    const [cmd, ...args] = this.opts.command ?? ['nft', 'monitor'];
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    const ended = (why: string): void => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      const delay = backoffDelay(this.restarts++, { baseMs: 1000, maxMs: 30_000, jitter: 0.1 });
      this.opts.logger?.warn(
        { why, stderr: err.trim(), retryInMs: delay },
        'nft monitor ended; nftables drift waits for the periodic resync until it is back',
      );
      // What changed while nobody watched is found by the pass this triggers.
      this.retry = setTimeout(() => {
        this.emit('change', 'nftables');
        this.spawn();
      }, delay);
    };
    child.on('error', (e) => ended(e.message));
    child.on('exit', (code, signal) => ended(`exit ${code ?? signal}`));
  }

  private onLine(line: string): void {
    this.restarts = 0;
    const writer = transactionWriter(line);
    if (writer === undefined) {
      // Held until the transaction's end names its writer; a monitor that never says counts.
      if (isOurs(line)) this.pending ??= setTimeout(() => this.settle(undefined), TRAILER_WAIT_MS);
      return;
    }
    if (this.pending) this.settle(writer);
  }

  /** The end of a transaction that touched our tables: drift unless our own nft wrote it. */
  private settle(writer: number | null | undefined): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    if (typeof writer === 'number' && this.opts.writers?.has(writer)) return;
    this.emit('change', 'nftables');
  }
}

const OUR_TABLE = new RegExp(`\\s(?:ip|ip6|inet) (?:${NFT_TABLE_V4}|${NFT_TABLE_V6})(?:\\s|$)`);

/**
 * The end of a transaction in `nft monitor` ("# new generation 7 by process 4242 (nft)"): the
 * writer's pid, null when the line names none; undefined for any other line.
 */
export function transactionWriter(line: string): number | null | undefined {
  if (!line.startsWith('# new generation ')) return undefined;
  const pid = / by process (\d+)/.exec(line)?.[1];
  return pid === undefined ? null : Number(pid);
}

/** One `nft monitor` line about our tables ("delete rule ip flannel-operator-ipv4 forward ..."). */
export function isOurs(line: string): boolean {
  return !line.startsWith('#') && OUR_TABLE.test(line);
}
