import { EventEmitter } from 'node:events';
import type { RawNetlinkSocket } from 'netlink';
import { NetlinkRequestError } from './batch.js';
import { deleteLinkRequest, dumpLinksRequest, getLinkRequest } from './link-messages.js';
import { NetlinkRequester, collectReplies } from './request.js';

/** One netlink message: header (length, type, flags 0, sequence, port 0) and payload. */
function nlmsg(type: number, seq: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(16 + ((data.length + 3) & ~3));
  b.writeUInt32LE(16 + data.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt32LE(seq, 8);
  data.copy(b, 16);
  return b;
}
const int = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
};
const NEWLINK = 16;
const ERROR = 2;
const DONE = 3;
/** An NLMSG_ERROR: errno (negative, 0 for an ACK) and the request's header. */
const error = (seq: number, errno: number): Buffer =>
  nlmsg(ERROR, seq, Buffer.concat([int(-errno), Buffer.alloc(16)]));

describe('collectReplies', () => {
  it('collects a dump across datagrams until NLMSG_DONE', () => {
    const into: Buffer[] = [];
    const a = Buffer.from([1, 2, 3, 4]);
    expect(collectReplies(Buffer.concat([nlmsg(NEWLINK, 5, a)]), 5, into)).toBeUndefined();
    expect(collectReplies(nlmsg(DONE, 5, int(0)), 5, into)).toBe(0);
    expect(into.map((b) => [...b])).toEqual([[1, 2, 3, 4]]);
  });

  it('ends at an ACK or an error reply, with the errno; a failed dump reports it in DONE', () => {
    expect(collectReplies(error(3, 0), 3, [])).toBe(0);
    expect(collectReplies(error(3, 19), 3, [])).toBe(19);
    expect(collectReplies(nlmsg(DONE, 3, int(-4)), 3, [])).toBe(4);
    expect(collectReplies(nlmsg(DONE, 3), 3, [])).toBe(0);
  });

  it("passes over other requests' messages and stops at a truncated one", () => {
    const into: Buffer[] = [];
    const datagram = Buffer.concat([nlmsg(NEWLINK, 4, int(1)), nlmsg(NEWLINK, 5, int(2))]);
    expect(collectReplies(datagram, 5, into)).toBeUndefined();
    expect(into).toHaveLength(1);
    const cut = Buffer.concat([nlmsg(NEWLINK, 5, int(3)), error(5, 0).subarray(0, 20)]);
    expect(collectReplies(cut, 5, into)).toBeUndefined();
    expect(collectReplies(Buffer.alloc(3), 5, into)).toBeUndefined();
    expect(into).toHaveLength(2);
  });
});

/** A socket that records what is sent and replies when the test says so. */
class FakeSocket extends EventEmitter {
  sent: Buffer[] = [];
  closed = false;
  send(msg: Buffer, _opts: unknown, cb?: (err?: Error) => void): void {
    this.sent.push(Buffer.from(msg));
    cb?.();
  }
  close(): void {
    this.closed = true;
  }
  /** Sequence number of the last request sent. */
  get lastSeq(): number {
    return this.sent.at(-1)!.readUInt32LE(8);
  }
}

function requester(timeoutMs?: number): [NetlinkRequester, FakeSocket] {
  const sock = new FakeSocket();
  return [new NetlinkRequester(sock as unknown as RawNetlinkSocket, timeoutMs), sock];
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('NetlinkRequester', () => {
  it('a dump: flags REQUEST|DUMP, no ACK; the payloads of its messages', async () => {
    const [req, sock] = requester();
    const p = req.dump(dumpLinksRequest());
    await tick();
    expect(sock.sent[0]!.readUInt16LE(6)).toBe(0x301);
    const seq = sock.lastSeq;
    sock.emit('message', Buffer.concat([nlmsg(NEWLINK, seq, int(7)), nlmsg(NEWLINK, seq, int(8))]));
    sock.emit('message', Buffer.concat([nlmsg(NEWLINK, seq, int(9)), nlmsg(DONE, seq, int(0))]));
    expect((await p).map((b) => b.readInt32LE(0))).toEqual([7, 8, 9]);
  });

  it('a request asks for an ACK; its reply comes before it; a refusal names the errno', async () => {
    const [req, sock] = requester();
    const got = req.request(getLinkRequest('eth0'));
    await tick();
    expect(sock.sent[0]!.readUInt16LE(6)).toBe(0x5);
    sock.emit(
      'message',
      Buffer.concat([nlmsg(NEWLINK, sock.lastSeq, int(3)), error(sock.lastSeq, 0)]),
    );
    expect(await got).toHaveLength(1);
    const del = req.request(deleteLinkRequest('nope'));
    await tick();
    sock.emit('message', error(sock.lastSeq, 19));
    await expect(del).rejects.toEqual(new NetlinkRequestError('delete link nope', 'ENODEV'));
    await expect(del).rejects.toMatchObject({ errno: 'ENODEV' });
  });

  it('one exchange at a time: the next is sent once the previous ended', async () => {
    const [req, sock] = requester();
    const first = req.dump(dumpLinksRequest());
    const second = req.request(deleteLinkRequest('x'));
    await tick();
    expect(sock.sent).toHaveLength(1);
    sock.emit('message', nlmsg(DONE, sock.lastSeq, int(0)));
    await first;
    await tick();
    expect(sock.sent).toHaveLength(2);
    // A late reply of the first exchange is not the second's.
    sock.emit('message', error(sock.lastSeq - 1, 0));
    sock.emit('message', error(sock.lastSeq, 0));
    await expect(second).resolves.toEqual([]);
    expect(sock.listenerCount('message')).toBe(0);
  });

  it('fails on a timeout, a truncated datagram or a socket error, and goes on with the next', async () => {
    const [req, sock] = requester(20);
    await expect(req.dump(dumpLinksRequest())).rejects.toMatchObject({ errno: 'ETIMEDOUT' });
    const trunc = req.dump(dumpLinksRequest());
    await tick();
    sock.emit('truncatedMessage', Buffer.alloc(16), { port: 0, groups: 0, truncated: 40000 });
    await expect(trunc).rejects.toMatchObject({ errno: 'EMSGSIZE' });
    const overrun = req.dump(dumpLinksRequest());
    await tick();
    sock.emit('error', new Error('ENOBUFS'));
    await expect(overrun).rejects.toThrow('ENOBUFS');
    const ok = req.request(deleteLinkRequest('x'));
    await tick();
    sock.emit('message', error(sock.lastSeq, 0));
    await expect(ok).resolves.toEqual([]);
    // The constructor's own listener stays: an 'error' between exchanges aborts nothing.
    expect(() => sock.emit('error', new Error('ENOBUFS'))).not.toThrow();
    req.close();
    expect(sock.closed).toBe(true);
  });
});
