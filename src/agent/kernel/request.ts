import type { RawNetlinkSocket } from 'netlink';
import { NetlinkRequestError, errnoName } from './batch.js';
import { errnoOf, frame, type NlRequest } from './messages.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK } from './constants.js';

/**
 * One request at a time over a raw rtnetlink socket: a dump (its messages until NLMSG_DONE) or a
 * single request (its reply, if any, until the ACK it asks for). Replies are matched by sequence
 * number and handed over as payloads for parse.ts; the socket is the only I/O here, the reading
 * of the datagrams (collectReplies) is pure.
 */

const TIMEOUT_MS = 10_000;

/**
 * Adds the payloads of request `seq`'s messages in one datagram to `into`. Returns the errno that
 * ends the exchange (0: done) once its NLMSG_DONE (a dump; newer kernels put a failed dump's
 * error there) or NLMSG_ERROR (an ACK, errno 0, or a refusal) came; undefined while more is due.
 * Messages of other sequence numbers (a timed-out request's late replies) are passed over.
 */
export function collectReplies(buf: Buffer, seq: number, into: Buffer[]): number | undefined {
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > buf.length) return undefined;
    if (buf.readUInt32LE(at + 8) === seq) {
      const type = buf.readUInt16LE(at + 4);
      const data = buf.subarray(at + NLMSG_HDRLEN, at + len);
      if (type === NLMSG_ERROR || type === NLMSG_DONE) return errnoOf(data);
      into.push(data);
    }
    at += (len + 3) & ~3;
  }
  return undefined;
}

/**
 * Requests over one socket, one in flight: the kernel runs one dump per socket at a time (EBUSY
 * for a second), and the few link and address writes gain nothing from overlapping.
 */
export class NetlinkRequester {
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sock: RawNetlinkSocket,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {
    // An 'error' with no listener would throw inside the native callback and abort the process;
    // during an exchange its own listener fails it.
    sock.on('error', () => undefined);
  }

  close(): void {
    this.sock.close();
  }

  /** Payloads of every message of a dump (a request with NLM_F_DUMP). */
  dump(req: NlRequest): Promise<Buffer[]> {
    return this.serial(() => this.exchange(req, 0));
  }

  /**
   * Sends a request with NLM_F_ACK; the payloads of its replies (none for a write) once the
   * kernel acknowledged it. Rejects with NetlinkRequestError (errno name) when it refused.
   */
  request(req: NlRequest): Promise<Buffer[]> {
    return this.serial(() => this.exchange(req, NLM_F_ACK));
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.queue.then(op, op);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private exchange(req: NlRequest, ack: number): Promise<Buffer[]> {
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    const msg = frame(req, seq, ack);
    const payloads: Buffer[] = [];
    return new Promise<Buffer[]>((resolve, reject) => {
      const done = (fail?: Error): void => {
        clearTimeout(timer);
        this.sock.off('message', onMessage);
        this.sock.off('truncatedMessage', onTruncated);
        this.sock.off('error', onError);
        if (fail) reject(fail);
        else resolve(payloads);
      };
      const onMessage = (buf: Buffer): void => {
        const errno = collectReplies(buf, seq, payloads);
        if (errno === undefined) return;
        done(errno === 0 ? undefined : new NetlinkRequestError(req.what, errnoName(errno)));
      };
      // Cannot happen while the socket peeks at each datagram's size (the default); should it,
      // the reply is incomplete, so the request fails rather than returning part of a dump.
      const onTruncated = (): void => done(new NetlinkRequestError(req.what, 'EMSGSIZE'));
      const onError = (e: Error): void => done(e);
      const timer = setTimeout(
        () => done(new NetlinkRequestError(req.what, 'ETIMEDOUT')),
        this.timeoutMs,
      );
      this.sock.on('message', onMessage);
      this.sock.on('truncatedMessage', onTruncated);
      this.sock.on('error', onError);
      this.sock.send(msg, {}, (err) => err && done(err));
    });
  }
}
