import { getSystemErrorName } from 'node:util';
import type { NetlinkMessage, NetlinkSocket } from 'netlink';
import { NLMSG_ERROR, NLM_F_ACK, errnoOf, frame, type NlRequest } from './messages.js';

/**
 * Sends rtnetlink write requests the way `ip -batch` does: many messages per sendmsg, the replies
 * collected afterwards instead of one awaited request/reply each. Only the last message of a chunk
 * asks for an ACK; the kernel handles a chunk's messages in order and answers a failed one with an
 * error whether or not it asked, so the last ACK means every error of the chunk has arrived.
 * A chunk is small enough that all its error replies fit the receive buffer.
 */

/**
 * Messages per sendmsg. Small enough that the change notifications one chunk causes (about one
 * per message, ~1 KiB each in the receive queue) fit the watcher's buffer until it drains them
 * between chunks (it reads at most 32 per wake-up): at 128, 5,000 peers overran it. An overrun
 * kills the agent: the kernel flags the socket (EPOLLERR), libuv reports that as a poll error,
 * and netlink 0.3.0's native poll handler builds its error with a null syscall name, which
 * throws in C++ (std::terminate, "Error in native callback"; gdb backtrace, issue 13). Larger
 * chunks bought no CPU: 15,000 requests with no watcher took 490 ms at 128, 497-558 ms at 16.
 * Also bounds the error replies queued for this socket.
 */
export const CHUNK = 16;
const TIMEOUT_MS = 10_000;
const MISSING = new Set(['ENOENT', 'ESRCH', 'ENODEV']);

export class NetlinkRequestError extends Error {
  constructor(
    readonly what: string,
    readonly errno: string,
  ) {
    super(`${what}: ${errno}`);
  }
}

export class NetlinkBatch {
  constructor(private readonly sock: NetlinkSocket) {
    // An 'error' with no listener would throw inside the native callback and abort the process;
    // during a chunk its own listener fails that chunk.
    sock.on('error', () => undefined);
  }

  /**
   * Sends every request (in order; undefined ones are skipped); the errors of those that failed
   * (missing deletes excepted). An iterable is read one chunk ahead of its sendmsg, so a caller's
   * generator encodes requests only as they go out.
   */
  async send(requests: Iterable<NlRequest | undefined>): Promise<Error[]> {
    const errors: Error[] = [];
    let chunk: NlRequest[] = [];
    for (const r of requests) {
      if (r) chunk.push(r);
      if (chunk.length < CHUNK) continue;
      errors.push(...(await this.sendChunk(chunk)));
      chunk = [];
    }
    if (chunk.length) errors.push(...(await this.sendChunk(chunk)));
    return errors;
  }

  private sendChunk(requests: NlRequest[]): Promise<Error[]> {
    const bySeq = new Map<number, NlRequest>();
    const bufs = requests.map((r, i) => {
      const seq = this.sock.generateSeq();
      bySeq.set(seq, r);
      return frame(r, seq, i === requests.length - 1 ? NLM_F_ACK : 0);
    });
    const lastSeq = [...bySeq.keys()].pop()!;
    return new Promise<Error[]>((resolve, reject) => {
      const errors: Error[] = [];
      const done = (fail?: Error): void => {
        clearTimeout(timer);
        this.sock.off('message', onMessage);
        this.sock.off('error', onError);
        if (fail) reject(fail);
        else resolve(errors);
      };
      const onMessage = (msgs: NetlinkMessage[]): void => {
        for (const m of msgs) {
          const req = m.type === NLMSG_ERROR ? bySeq.get(m.seq) : undefined;
          if (!req) continue;
          const errno = errnoOf(m.data);
          if (errno !== 0) {
            const name = errnoName(errno);
            if (!(req.missingOk && MISSING.has(name)))
              errors.push(new NetlinkRequestError(req.what, name));
          }
          if (m.seq === lastSeq) done();
        }
      };
      // ENOBUFS: replies were dropped, so this chunk's outcome is unknown (the next pass re-reads).
      const onError = (e: Error): void => done(e);
      const timer = setTimeout(
        () => done(new Error(`no netlink ACK within ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      this.sock.on('message', onMessage);
      this.sock.on('error', onError);
      // One sendmsg: the native socket sends an array of buffers as one iovec.
      this.sock.socket.send(bufs, {}, (err) => err && done(err));
    });
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}
