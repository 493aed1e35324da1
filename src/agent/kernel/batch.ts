import { getSystemErrorName } from 'node:util';
import type { RawNetlinkSocket } from 'netlink';
import { errnoOf, frame, type NlRequest } from './messages.js';
import { NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK } from './constants.js';

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
 * between chunks (it reads at most 32 per wake-up): at 128, 5,000 peers overran it. The agent now
 * sends a bulk diff with the watcher deaf to it (KernelWatcher.deafen), but any other caller, and
 * a smaller diff, still has the watcher listening. An overrun
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

/**
 * On a raw socket of its own: its replies (an ACK per chunk, errors) are read here from the
 * datagram, not parsed into objects by the package's socket, and its port names only these
 * writes in the kernel's notifications (KernelWatcher passes over their echoes).
 */
export class NetlinkBatch {
  private seq = 0;
  constructor(private readonly sock: RawNetlinkSocket) {
    // An 'error' with no listener would throw inside the native callback and abort the process;
    // during a chunk its own listener fails that chunk.
    sock.on('error', () => undefined);
  }

  /** The socket's netlink port: the kernel names it in the notifications of these writes. */
  get port(): number {
    return this.sock.address().port;
  }

  close(): void {
    this.sock.close();
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
      await this.sendChunk(chunk, errors);
      chunk = [];
    }
    if (chunk.length) await this.sendChunk(chunk, errors);
    return errors;
  }

  /** One sendmsg of `requests`; resolves once the last one's ACK arrived, their errors added. */
  private sendChunk(requests: NlRequest[], errors: Error[]): Promise<void> {
    const first = (this.seq + 1) >>> 0;
    const bufs: Buffer[] = [];
    for (let i = 0; i < requests.length; i++) {
      this.seq = (this.seq + 1) >>> 0;
      bufs.push(frame(requests[i]!, this.seq, i === requests.length - 1 ? NLM_F_ACK : 0));
    }
    const last = this.seq;
    return new Promise<void>((resolve, reject) => {
      const done = (fail?: Error): void => {
        clearTimeout(timer);
        this.sock.off('message', onMessage);
        this.sock.off('error', onError);
        if (fail) reject(fail);
        else resolve();
      };
      const onMessage = (buf: Buffer): void => {
        for (const [seq, errno] of replies(buf)) {
          const req = requests[(seq - first) >>> 0];
          if (!req) continue;
          if (errno !== 0) {
            const name = errnoName(errno);
            if (!(req.missingOk && MISSING.has(name)))
              errors.push(new NetlinkRequestError(req.what, name));
          }
          if (seq === last) done();
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
      this.sock.send(bufs, {}, (err) => err && done(err));
    });
  }
}

/** [sequence number, errno (0: ACK)] of each NLMSG_ERROR message of a datagram. */
function replies(buf: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > buf.length) break;
    if (buf.readUInt16LE(at + 4) === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4)
      out.push([buf.readUInt32LE(at + 8), errnoOf(buf.subarray(at + NLMSG_HDRLEN, at + len))]);
    at += (len + 3) & ~3;
  }
  return out;
}

/** The errno constant (ENOENT, EEXIST, ...) of a positive errno number. */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}
