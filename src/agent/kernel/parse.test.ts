import {
  deleteNeighborRequest,
  replaceFdbRequest,
  replaceNeighborRequest,
  replaceRouteRequest,
} from './messages.js';
import { eachMessage, macText, readAddress, readLinkInfo, readNeigh, readRoute } from './parse.js';

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

/** An rtattr with its padding, built by hand (not by the encoders under test). */
function rtattr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc((4 + payload.length + 3) & ~3);
  b.writeUInt16LE(4 + payload.length, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
};
const text = (s: string): Buffer => Buffer.from(`${s}\0`);

describe('readLinkInfo', () => {
  /** A vxlan device as the kernel reports it: attributes it skips around the ones it reads. */
  function vxlanLink(local: [number, Buffer], learning: number): Buffer {
    const head = Buffer.alloc(16);
    head.writeInt32LE(4, 4);
    head.writeUInt32LE(0x11043, 8); // IFF_UP | BROADCAST | RUNNING | MULTICAST | LOWER_UP
    const data = Buffer.concat([
      rtattr(1, u32(7)), // ID
      rtattr(3, u32(2)), // LINK
      rtattr(local[0], local[1]),
      rtattr(5, Buffer.from([0])), // TTL: not read
      rtattr(7, Buffer.from([learning])),
      rtattr(15, Buffer.from([0x21, 0x18])), // PORT 8472, network order
    ]);
    return Buffer.concat([
      head,
      rtattr(3, text('flannel.7')),
      rtattr(13, u32(1000)), // TXQLEN: not read
      rtattr(4, u32(1450)),
      rtattr(1, Buffer.from([0x0e, 0, 0, 0, 0, 0x07])),
      rtattr(2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), // BROADCAST: not the MAC
      rtattr(18, Buffer.concat([rtattr(1, text('vxlan')), rtattr(2, data)])),
    ]);
  }

  it('reads a vxlan device: index, name, MTU, MAC, up, kind and its vxlan attributes', () => {
    expect(readLinkInfo(vxlanLink([4, Buffer.from([10, 200, 0, 2])], 0))).toEqual({
      index: 4,
      name: 'flannel.7',
      mtu: 1450,
      mac: '0e:00:00:00:00:07',
      up: true,
      kind: 'vxlan',
      vxlan: { vni: 7, port: 8472, local: '10.200.0.2', linkIndex: 2, learning: false },
    });
    const v6 = Buffer.from('fd000200000000000000000000000002', 'hex');
    expect(readLinkInfo(vxlanLink([17, v6], 1))?.vxlan).toMatchObject({
      local: 'fd00:200::2',
      learning: true,
    });
  });

  it('a link without linkinfo (lo) has no kind; other kinds carry no vxlan attributes', () => {
    const lo = Buffer.concat([Buffer.alloc(16), rtattr(3, text('lo')), rtattr(4, u32(65536))]);
    expect(readLinkInfo(lo)).toEqual({ index: 0, name: 'lo', mtu: 65536, mac: '', up: false });
    const veth = Buffer.concat([
      Buffer.alloc(16),
      rtattr(18, Buffer.concat([rtattr(1, text('veth')), rtattr(2, rtattr(1, u32(9)))])),
    ]);
    expect(readLinkInfo(veth)).toMatchObject({ kind: 'veth' });
    expect(readLinkInfo(veth)?.vxlan).toBeUndefined();
  });

  it('short or malformed input: undefined or the fields that were whole, never a throw', () => {
    expect(readLinkInfo(Buffer.alloc(15))).toBeUndefined();
    const whole = vxlanLink([4, Buffer.from([10, 200, 0, 2])], 0);
    for (let cut = 16; cut < whole.length; cut++)
      expect(() => readLinkInfo(whole.subarray(0, cut))).not.toThrow();
    // Cut inside the linkinfo: the attributes before it are read, the kind is not.
    const cut = readLinkInfo(whole.subarray(0, whole.length - 8));
    expect(cut).toMatchObject({ name: 'flannel.7', mtu: 1450 });
    expect(cut?.kind).toBeUndefined();
    // An MTU attribute too short for its u32 and a zero-length attribute end nothing badly.
    const odd = Buffer.concat([Buffer.alloc(16), rtattr(4, Buffer.from([1])), Buffer.alloc(8)]);
    expect(readLinkInfo(odd)).toMatchObject({ mtu: 0 });
  });
});

describe('readAddress', () => {
  const addr = (family: number, len: number, index: number, attrs: Buffer[]): Buffer => {
    const head = Buffer.from([family, len, 0, 0, 0, 0, 0, 0]);
    head.writeUInt32LE(index, 4);
    return Buffer.concat([head, ...attrs]);
  };

  it('reads family, prefix, index, local and address', () => {
    const ptp = addr(2, 32, 5, [
      rtattr(1, Buffer.from([10, 0, 0, 2])), // ADDRESS: the peer
      rtattr(2, Buffer.from([10, 0, 0, 1])), // LOCAL
      rtattr(3, text('tun0')), // LABEL: not read
    ]);
    expect(readAddress(ptp)).toEqual({
      family: 2,
      prefixLen: 32,
      index: 5,
      local: '10.0.0.1',
      address: '10.0.0.2',
    });
    const v6 = addr(10, 64, 3, [rtattr(1, Buffer.from('fd000200000000000000000000000002', 'hex'))]);
    expect(readAddress(v6)).toEqual({
      family: 10,
      prefixLen: 64,
      index: 3,
      local: '',
      address: 'fd00:200::2',
    });
  });

  it('short or malformed input: undefined or empty fields, never a throw', () => {
    expect(readAddress(Buffer.alloc(7))).toBeUndefined();
    expect(readAddress(addr(2, 24, 1, [rtattr(2, Buffer.from([10, 0]))]))?.local).toBe('');
    expect(readAddress(addr(2, 24, 1, [Buffer.from([200, 0, 2, 0])]))?.local).toBe('');
  });
});
