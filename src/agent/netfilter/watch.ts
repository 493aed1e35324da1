import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { backoffDelay } from '../../kube/backoff.js';
import { NFT_TABLE_V4, NFT_TABLE_V6 } from './render.js';

/**
 * Emits 'change' when anything touches the agent's nftables tables, so rule drift is repaired as
 * fast as route drift instead of at the next resync. `nft monitor` is the nftables netlink event
 * stream (NFNLGRP_NFTABLES) as text; it is restarted with backoff if it exits.
 */
export class NftWatcher extends EventEmitter {
  private child?: ChildProcess;
  private stopped = true;
  private restarts = 0;
  private retry?: NodeJS.Timeout;

  constructor(private readonly opts: { logger?: Logger; command?: string[] } = {}) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.spawn();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
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
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.restarts = 0;
      if (isOurs(line)) this.emit('change', 'nftables');
    });
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
}

const OUR_TABLE = new RegExp(`\\s(?:ip|ip6|inet) (?:${NFT_TABLE_V4}|${NFT_TABLE_V6})(?:\\s|$)`);

/** One `nft monitor` line about our tables ("delete rule ip flannel-operator-ipv4 forward ..."). */
export function isOurs(line: string): boolean {
  return !line.startsWith('#') && OUR_TABLE.test(line);
}
