import { noteOf } from './netlink.js';

/** A link notification's payload, built by hand: ifinfomsg, then IFLA_IFNAME, MTU and ADDRESS. */
function linkPayload(index: number, flags: number, name: string, mtu: number, mac: number[]) {
  const head = Buffer.alloc(16);
  head.writeInt32LE(index, 4);
  head.writeUInt32LE(flags, 8);
  const attr = (type: number, payload: Buffer): Buffer => {
    const b = Buffer.alloc((4 + payload.length + 3) & ~3);
    b.writeUInt16LE(4 + payload.length, 0);
    b.writeUInt16LE(type, 2);
    payload.copy(b, 4);
    return b;
  };
  const u32 = Buffer.alloc(4);
  u32.writeUInt32LE(mtu, 0);
  return Buffer.concat([
    head,
    attr(3, Buffer.from(`${name}\0`)),
    attr(4, u32),
    attr(1, Buffer.from(mac)),
  ]);
}

describe('noteOf: link notifications', () => {
  const mac = [0x0e, 0, 0, 0, 0, 1];

  it('carries the operation, index, name, up, MTU and MAC', () => {
    expect(noteOf(16, linkPayload(7, 0x1043, 'flannel.1', 1450, mac))).toEqual({
      kind: 'link',
      op: 'new',
      ifindex: 7,
      name: 'flannel.1',
      up: true,
      mtu: 1450,
      mac: '0e:00:00:00:00:01',
    });
    expect(noteOf(17, linkPayload(7, 0, 'flannel.1', 1450, mac))).toMatchObject({
      op: 'del',
      up: false,
    });
  });

  it('a bare header names the link only; an unreadable one names none (any link)', () => {
    expect(noteOf(16, linkPayload(7, 1, 'x', 1, mac).subarray(0, 16))).toEqual({
      kind: 'link',
      op: 'new',
      ifindex: 7,
      name: undefined,
      up: true,
      mtu: undefined,
      mac: undefined,
    });
    expect(noteOf(16, Buffer.alloc(8))).toEqual({ kind: 'link' });
  });
});
