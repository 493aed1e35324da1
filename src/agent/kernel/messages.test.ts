import ipaddr from 'ipaddr.js';
import { AttrStream, rt } from 'netlink';
import {
  deleteFdbRequest,
  deleteNeighborRequest,
  deleteRouteRequest,
  errnoOf,
  frame,
  ipBytes,
  ipText,
  replaceFdbRequest,
  replaceNeighborRequest,
  replaceRouteRequest,
} from './messages.js';

/**
 * What the npm `netlink` formatters (the agent's former one-request-at-a-time path) produce,
 * padded to 4 bytes as every message but the last of a batch must be.
 */
const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
const ip = (s: string): Buffer => Buffer.from(ipaddr.parse(s).toByteArray());
const mac = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');
function route(data: rt.RouteMessage['data'], attrs: rt.RouteMessage['attrs']): Buffer {
  const out = new AttrStream();
  rt.formatRouteMessage({ kind: 'route', data, attrs }, out);
  return padded(Buffer.concat(out.bufs));
}
function neigh(data: rt.NeighborMessage['data'], attrs: rt.NeighborMessage['attrs']): Buffer {
  const out = new AttrStream();
  rt.formatNeighborMessage({ kind: 'neighbor', data, attrs }, out);
  return padded(Buffer.concat(out.bufs));
}

describe('rtnetlink request encoders', () => {
  it.each([
    ['10.244.1.0/24', '10.244.1.0', true],
    ['10.244.1.0/24', '10.200.0.5', false],
    ['fd00:10:244:1::/64', 'fd00:10:244:1::', true],
  ])('replace route %s via %s (onlink %s) = the package encoding', (dst, gw, onlink) => {
    const [addr, len] = dst.split('/') as [string, string];
    const want = route(
      {
        family: addr.includes(':') ? 10 : 2,
        dstLen: Number(len),
        table: 254,
        protocol: 157 as unknown as rt.RouteProtocol,
        scope: 'UNIVERSE',
        type: 'UNICAST',
        flags: onlink ? { __unknown: 4 } : {},
      },
      { dst: ip(addr), gateway: ip(gw), oif: 7 },
    );
    const got = replaceRouteRequest({ dst, gateway: gw, dev: 'flannel.1', onlink }, 7);
    expect(got.msg.subarray(16).toString('hex')).toBe(want.toString('hex'));
    expect(got.type).toBe(24);
    expect(got.flags).toBe(0x500);
  });

  it('a route without a gateway (wireguard device route) is scope link', () => {
    const want = route(
      {
        family: 2,
        dstLen: 24,
        table: 254,
        protocol: 157 as unknown as rt.RouteProtocol,
        scope: 'LINK',
        type: 'UNICAST',
        flags: {},
      },
      { dst: ip('10.244.1.0'), oif: 7 },
    );
    const got = replaceRouteRequest(
      { dst: '10.244.1.0/24', gateway: '', dev: 'wg', onlink: false },
      7,
    );
    expect(got.msg.subarray(16).toString('hex')).toBe(want.toString('hex'));
  });

  it('delete route = the package encoding, with and without a gateway', () => {
    for (const gateway of ['10.244.1.0', '']) {
      const want = route(
        { family: 2, dstLen: 24, table: 254, scope: 'NOWHERE' },
        { dst: ip('10.244.1.0'), ...(gateway ? { gateway: ip(gateway) } : {}) },
      );
      const got = deleteRouteRequest({ dst: '10.244.1.0/24', gateway, dev: 'x', onlink: true });
      expect(got.msg.subarray(16).toString('hex')).toBe(want.toString('hex'));
      expect(got.missingOk).toBe(true);
    }
  });

  it('neighbour and FDB replace/delete = the package encoding', () => {
    const n = { dev: 'flannel.1', ip: '10.244.1.0', mac: '0e:11:22:33:44:55' };
    const f = { dev: 'flannel.1', mac: '0e:11:22:33:44:55', dst: '10.200.0.5' };
    const body = (r: { msg: Buffer }): Buffer => r.msg.subarray(16);
    const cases: Array<[Buffer, Buffer]> = [
      [
        body(replaceNeighborRequest(n, 9)),
        neigh(
          { family: 2, ifindex: 9, state: { permanent: true } },
          { dst: ip(n.ip), lladdr: mac(n.mac) },
        ),
      ],
      [body(deleteNeighborRequest(n, 9)), neigh({ family: 2, ifindex: 9 }, { dst: ip(n.ip) })],
      [
        body(replaceFdbRequest(f, 9)),
        neigh(
          { family: 7, ifindex: 9, state: { permanent: true }, flags: { self: true } },
          { dst: ip(f.dst), lladdr: mac(f.mac) },
        ),
      ],
      [
        body(deleteFdbRequest(f, 9)),
        neigh(
          { family: 7, ifindex: 9, flags: { self: true } },
          { dst: ip(f.dst), lladdr: mac(f.mac) },
        ),
      ],
    ];
    for (const [got, want] of cases) expect(got.toString('hex')).toBe(want.toString('hex'));
  });

  it('IPv6 neighbour and FDB destination (dual-stack) = the package encoding', () => {
    const m = '0e:11:22:33:44:55';
    const gotNeigh = replaceNeighborRequest({ dev: 'x', ip: 'fd00:10:244:1::', mac: m }, 9);
    const wantNeigh = neigh(
      { family: 10, ifindex: 9, state: { permanent: true } },
      { dst: ip('fd00:10:244:1::'), lladdr: mac(m) },
    );
    expect(gotNeigh.msg.subarray(16).toString('hex')).toBe(wantNeigh.toString('hex'));
    const gotFdb = replaceFdbRequest({ dev: 'x', mac: m, dst: '2001:db8::5' }, 9);
    const wantFdb = neigh(
      { family: 7, ifindex: 9, state: { permanent: true }, flags: { self: true } },
      { dst: ip('2001:db8::5'), lladdr: mac(m) },
    );
    expect(gotFdb.msg.subarray(16).toString('hex')).toBe(wantFdb.toString('hex'));
  });

  it.each([
    ['10.244.1.7/24', '10.244.1.0/24'],
    ['fd00:10:244:1::5/64', 'fd00:10:244:1::/64'],
  ])('a route to %s is written to its network, %s', (dst, net) => {
    const r = (d: string): string =>
      replaceRouteRequest({ dst: d, gateway: '', dev: 'x', onlink: false }, 7).msg.toString('hex');
    expect(r(dst)).toBe(r(net));
  });

  it('refuses what is not a CIDR, an address or its canonical text', () => {
    const route = { dst: '10.244.1.0/24', gateway: '10.244.1.0', dev: 'x', onlink: true };
    expect(() => replaceRouteRequest({ ...route, dst: '10.244.1/24' }, 7)).toThrow(/not a CIDR/);
    expect(() => replaceRouteRequest({ ...route, gateway: '010.244.1.0' }, 7)).toThrow(
      /not an IP address/,
    );
    expect(() =>
      replaceNeighborRequest({ dev: 'x', ip: ' 10.244.1.0', mac: '0e:11:22:33:44:55' }, 9),
    ).toThrow(/not an IP address/);
  });

  it('frames a request: length, type, REQUEST plus its flags, sequence number', () => {
    const req = replaceNeighborRequest({ dev: 'd', ip: '10.0.0.1', mac: '0e:00:00:00:00:01' }, 3);
    const b = frame(req, 42, 0x4);
    expect(b.readUInt32LE(0)).toBe(b.length);
    expect(b.readUInt16LE(4)).toBe(28);
    expect(b.readUInt16LE(6)).toBe(0x1 | 0x500 | 0x4);
    expect(b.readUInt32LE(8)).toBe(42);
    expect(b.readUInt32LE(12)).toBe(0);
  });

  it('reads the errno of an NLMSG_ERROR payload (0 = ACK)', () => {
    const e = Buffer.alloc(20);
    e.writeInt32LE(-17, 0);
    expect(errnoOf(e)).toBe(17);
    expect(errnoOf(Buffer.alloc(20))).toBe(0);
  });

  it.each(['10.244.1.0', '0.0.0.0', '255.255.255.255', 'fd00:10:244:1::', '::1', 'fe80::1:2'])(
    'address %s to bytes and back',
    (a) => {
      expect(ipBytes(a)).toEqual(ip(a));
      expect(ipText(ip(a))).toBe(a);
    },
  );
});
