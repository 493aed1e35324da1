import {
  deleteNeighborRequest,
  replaceFdbRequest,
  replaceNeighborRequest,
  replaceRouteRequest,
} from './messages.js';
import { eachMessage, macText, readLink, readNeigh, readRoute } from './parse.js';

/** The payload (after the 16-byte nlmsghdr) of a request the agent encodes. */
const payload = (r: { msg: Buffer }): Buffer => r.msg.subarray(16);

describe('rtnetlink payload readers', () => {
  it('read back the routes the agent writes (IPv4 onlink, IPv6)', () => {
    expect(
      readRoute(
        payload(
          replaceRouteRequest(
            { dst: '10.244.1.0/24', gateway: '10.244.1.0', dev: 'x', onlink: true },
            7,
          ),
        ),
      ),
    ).toEqual({
      family: 2,
      dstLen: 24,
      table: 254,
      protocol: 157,
      type: 1,
      flags: 4,
      dst: '10.244.1.0',
      gateway: '10.244.1.0',
      oif: 7,
      multipath: false,
    });
    const r6 = readRoute(
      payload(
        replaceRouteRequest(
          { dst: 'fd00:10:244:1::/64', gateway: 'fd00:200::2', dev: 'x', onlink: false },
          3,
        ),
      ),
    );
    expect(r6).toMatchObject({ family: 10, dstLen: 64, dst: 'fd00:10:244:1::', flags: 0 });
    expect(r6?.gateway).toBe('fd00:200::2');
  });

  it('read back neighbours and FDB entries', () => {
    const n = { dev: 'x', ip: '10.244.1.0', mac: '0e:0a:00:00:00:ff' };
    expect(readNeigh(payload(replaceNeighborRequest(n, 9)))).toEqual({
      family: 2,
      ifindex: 9,
      permanent: true,
      self: false,
      dst: '10.244.1.0',
      mac: '0e:0a:00:00:00:ff',
    });
    expect(readNeigh(payload(deleteNeighborRequest(n, 9)))).toMatchObject({
      permanent: false,
      mac: '',
    });
    const f = readNeigh(
      payload(replaceFdbRequest({ dev: 'x', mac: '0e:00:00:00:00:02', dst: '10.200.0.2' }, 9)),
    );
    expect(f).toMatchObject({ family: 7, self: true, permanent: true, dst: '10.200.0.2' });
  });

  it('refuse short payloads and stop at a truncated attribute', () => {
    expect(readRoute(Buffer.alloc(8))).toBeUndefined();
    expect(readNeigh(Buffer.alloc(11))).toBeUndefined();
    const cut = payload(
      replaceNeighborRequest({ dev: 'x', ip: '10.0.0.1', mac: '0e:00:00:00:00:01' }, 1),
    );
    expect(readNeigh(cut.subarray(0, cut.length - 4))).toMatchObject({ dst: '10.0.0.1', mac: '' });
  });

  it('writes MACs as lowercase pairs', () => {
    expect(macText(Buffer.from([0x0e, 0, 0xab, 1, 0x10, 0xff]))).toBe('0e:00:ab:01:10:ff');
  });
});

describe('eachMessage', () => {
  it('yields each message of a datagram (type, payload) and stops at a truncated one', () => {
    const route = replaceRouteRequest(
      { dst: '10.244.1.0/24', gateway: '10.244.1.0', dev: 'x', onlink: true },
      7,
    );
    const neigh = replaceNeighborRequest(
      { dev: 'x', ip: '10.244.1.0', mac: '0a:00:00:00:00:01' },
      7,
    );
    const seen: Array<[number, Buffer]> = [];
    const datagram = Buffer.concat([route.msg, neigh.msg, neigh.msg.subarray(0, 20)]);
    eachMessage(datagram, (type, data) => seen.push([type, data]));
    expect(seen.map(([t]) => t)).toEqual([route.type, neigh.type]);
    expect(seen[0]![1].equals(payload(route))).toBe(true);
    expect(readNeigh(seen[1]![1])?.mac).toBe('0a:00:00:00:00:01');
  });

  it('passes over the messages `skip` selects by type and sender port', () => {
    const n = { dev: 'x', ip: '10.244.1.0', mac: '0a:00:00:00:00:01' };
    const own = Buffer.from(replaceNeighborRequest(n, 7).msg);
    own.writeUInt32LE(4242, 12);
    const other = Buffer.from(replaceNeighborRequest({ ...n, ip: '10.244.2.0' }, 7).msg);
    other.writeUInt32LE(99, 12);
    const seen: string[] = [];
    eachMessage(
      Buffer.concat([own, other]),
      (_type, data) => seen.push(readNeigh(data)!.dst),
      (type, port) => type === 28 && port === 4242,
    );
    expect(seen).toEqual(['10.244.2.0']);
  });
});

describe('readLink', () => {
  /** ifinfomsg (16 bytes) + IFLA_MTU + IFLA_IFNAME, as the kernel sends them. */
  const link = (index: number, name: string): Buffer => {
    const head = Buffer.alloc(16);
    head.writeInt32LE(index, 4);
    const mtu = Buffer.from([8, 0, 4, 0, 0xdc, 0x05, 0, 0]);
    const text = Buffer.from(`${name}\0`);
    const attr = Buffer.alloc(4 + ((text.length + 3) & ~3));
    attr.writeUInt16LE(4 + text.length, 0);
    attr.writeUInt16LE(3, 2);
    text.copy(attr, 4);
    return Buffer.concat([head, mtu, attr]);
  };

  it('reads the index and the name', () => {
    expect(readLink(link(7, 'flannel.1'))).toEqual({ ifindex: 7, name: 'flannel.1' });
    expect(readLink(link(12, 'veth1a2b3c4d'))).toEqual({ ifindex: 12, name: 'veth1a2b3c4d' });
  });

  it('a header without attributes has no name; a short one is unreadable', () => {
    expect(readLink(link(7, 'x').subarray(0, 16))).toEqual({ ifindex: 7 });
    expect(readLink(Buffer.alloc(8))).toBeUndefined();
  });
});
