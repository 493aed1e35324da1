import {
  createVxlanRequest,
  createWireguardRequest,
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  dumpNeighborsRequest,
  dumpRoutesRequest,
  getLinkRequest,
  replaceAddressRequest,
  setLinkRequest,
  setLinkUpRequest,
} from './link-messages.js';
import { frame } from './messages.js';
import { readAddress, readLinkInfo } from './parse.js';
import { NLM_F_ACK } from './constants.js';

/**
 * Expected bytes are written out field by field from the kernel's structs (nlmsghdr, ifinfomsg,
 * ifaddrmsg, rtattr), not produced by any encoder. Header flags and sequence stay 0 until frame().
 */
const hex = (...parts: string[]): string => parts.join('').replace(/\s/g, '');
const payload = (r: { msg: Buffer }): Buffer => r.msg.subarray(16);

const VXLAN = {
  name: 'flannel.1',
  vni: 1,
  port: 8472,
  local: '10.200.0.2',
  linkIndex: 3,
  mtu: 1450,
  mac: '0e:00:00:00:00:01',
  address: '10.244.1.0/32',
};

describe('link and address request encoders', () => {
  it('get link by name: ifinfomsg + IFLA_IFNAME with its NUL, padded', () => {
    const r = getLinkRequest('eth0');
    expect(r.msg.toString('hex')).toBe(
      hex(
        '2c000000 1200 0000 00000000 00000000', // nlmsghdr: 44 bytes, RTM_GETLINK
        '00 00 0000 00000000 00000000 00000000', // ifinfomsg: any family, index 0
        '0900 0300 6574683000 000000', // IFLA_IFNAME "eth0\0" + 3 bytes padding
      ),
    );
    expect([r.type, r.flags, r.what]).toEqual([18, 0, 'get link eth0']);
  });

  it('delete link by name', () => {
    const r = deleteLinkRequest('wg0');
    expect(r.msg.toString('hex')).toBe(
      hex(
        '28000000 1100 0000 00000000 00000000',
        '00 00 0000 00000000 00000000 00000000',
        '0800 0300 77673000',
      ),
    );
    expect(r.flags).toBe(0);
  });

  it('create vxlan (IPv4): name, mtu, MAC, linkinfo{kind, data{id, local, link, learning 0, port BE}}', () => {
    const r = createVxlanRequest(VXLAN);
    expect(r.msg.toString('hex')).toBe(
      hex(
        '80000000 1000 0000 00000000 00000000', // 128 bytes, RTM_NEWLINK
        '00 00 0000 00000000 00000000 00000000',
        '0e00 0300 666c616e6e656c2e3100 0000', // IFLA_IFNAME "flannel.1\0"
        '0800 0400 aa050000', // IFLA_MTU 1450
        '0a00 0100 0e0000000001 0000', // IFLA_ADDRESS
        '3c00 1200', // IFLA_LINKINFO, 60 bytes
        '0a00 0100 76786c616e00 0000', // IFLA_INFO_KIND "vxlan\0"
        '2c00 0200', // IFLA_INFO_DATA, 44 bytes
        '0800 0100 01000000', // IFLA_VXLAN_ID 1
        '0800 0400 0ac80002', // IFLA_VXLAN_LOCAL 10.200.0.2
        '0800 0300 03000000', // IFLA_VXLAN_LINK 3
        '0500 0700 00 000000', // IFLA_VXLAN_LEARNING 0
        '0600 0f00 2118 0000', // IFLA_VXLAN_PORT 8472, network order
      ),
    );
    expect([r.type, r.flags]).toEqual([16, 0x600]); // NLM_F_CREATE | NLM_F_EXCL
  });

  it('create vxlan up: IFF_UP in the flags and in the mask of flags to change', () => {
    const r = createVxlanRequest(VXLAN, { up: true });
    expect(r.msg.subarray(16, 32).toString('hex')).toBe(
      hex('00 00 0000 00000000 01000000 01000000'),
    );
    expect(r.msg.subarray(32)).toEqual(createVxlanRequest(VXLAN).msg.subarray(32));
  });

  it('create vxlan (IPv6): LOCAL6', () => {
    const r = createVxlanRequest({ ...VXLAN, name: 'flannel-v6.1', local: 'fd00:200::2' });
    expect(r.msg.toString('hex')).toContain(
      hex(
        '3800 0200', // IFLA_INFO_DATA, 56 bytes
        '0800 0100 01000000',
        '1400 1100 fd000200 00000000 00000000 00000002', // IFLA_VXLAN_LOCAL6, no LOCAL
        '0800 0300 03000000',
        '0500 0700 00 000000',
        '0600 0f00 2118 0000',
      ),
    );
  });

  it('create wireguard: name, mtu, linkinfo{kind}', () => {
    const r = createWireguardRequest('wg0', 1420);
    expect(r.msg.toString('hex')).toBe(
      hex(
        '44000000 1000 0000 00000000 00000000',
        '00 00 0000 00000000 00000000 00000000',
        '0800 0300 77673000',
        '0800 0400 8c050000',
        '1400 1200', // IFLA_LINKINFO, 20 bytes
        '0e00 0100 776972656775617264 00 0000', // "wireguard\0"
      ),
    );
    expect(r.flags).toBe(0x600);
  });

  it('set link mtu and address; set link up via flags and change mask', () => {
    expect(setLinkRequest(7, { mtu: 1400, mac: '0e:00:00:00:00:03' }).msg.toString('hex')).toBe(
      hex(
        '34000000 1300 0000 00000000 00000000', // RTM_SETLINK, 52 bytes
        '00 00 0000 07000000 00000000 00000000',
        '0800 0400 78050000',
        '0a00 0100 0e0000000003 0000',
      ),
    );
    expect(setLinkRequest(7, { mtu: 1400 }).msg.length).toBe(40);
    expect(setLinkUpRequest(7).msg.toString('hex')).toBe(
      hex('20000000 1300 0000 00000000 00000000', '00 00 0000 07000000 01000000 01000000'),
    );
  });

  it('replace address: ifaddrmsg + IFA_LOCAL + IFA_ADDRESS, both families', () => {
    const r = replaceAddressRequest(7, '10.244.1.0/32');
    expect(r.msg.toString('hex')).toBe(
      hex(
        '28000000 1400 0000 00000000 00000000', // RTM_NEWADDR
        '02 20 00 00 07000000', // AF_INET /32, index 7
        '0800 0200 0af40100',
        '0800 0100 0af40100',
      ),
    );
    expect(r.flags).toBe(0x500); // NLM_F_CREATE | NLM_F_REPLACE
    const r6 = replaceAddressRequest(7, 'fd00:10:244:1::/128');
    expect(r6.msg.subarray(16, 24).toString('hex')).toBe(hex('0a 80 00 00 07000000'));
    expect(r6.msg.length).toBe(16 + 8 + 20 + 20);
  });

  it('refuses an address without a valid prefix length, with the input in the message', () => {
    expect(() => replaceAddressRequest(7, '10.244.1.0')).toThrow(/10\.244\.1\.0/);
    expect(() => replaceAddressRequest(7, '10.244.1.0/33')).toThrow(/not an address\/prefix/);
    expect(() => replaceAddressRequest(7, 'fd00::/129')).toThrow(/not an address\/prefix/);
    expect(() => replaceAddressRequest(7, 'nope/24')).toThrow(/not an IP address/);
  });

  it('dumps: the family (and FDB interface) in the header struct, NLM_F_DUMP', () => {
    expect(dumpLinksRequest().msg.toString('hex')).toBe(
      hex('20000000 1200 0000 00000000 00000000', '00'.repeat(16)),
    );
    expect(dumpAddressesRequest(10).msg.toString('hex')).toBe(
      hex('18000000 1600 0000 00000000 00000000', '0a000000 00000000'),
    );
    expect(dumpRoutesRequest(2).msg.toString('hex')).toBe(
      hex('1c000000 1a00 0000 00000000 00000000', '02000000 00000000 00000000'),
    );
    expect(dumpNeighborsRequest(7, 5).msg.toString('hex')).toBe(
      hex('1c000000 1e00 0000 00000000 00000000', '07000000 05000000 00000000'),
    );
    for (const r of [dumpLinksRequest(), dumpAddressesRequest(2), dumpNeighborsRequest(2)])
      expect(r.flags).toBe(0x300);
  });

  it('frame() adds REQUEST, the request flags, ACK and the sequence number', () => {
    const m = frame(createWireguardRequest('wg0', 1420), 9, NLM_F_ACK);
    expect(m.subarray(6, 12).toString('hex')).toBe(hex('0506', '09000000'));
  });
});

describe('link and address requests read back', () => {
  it('a created vxlan device, both families', () => {
    expect(readLinkInfo(payload(createVxlanRequest(VXLAN)))).toEqual({
      index: 0,
      name: 'flannel.1',
      mtu: 1450,
      mac: '0e:00:00:00:00:01',
      up: false,
      kind: 'vxlan',
      vxlan: { vni: 1, port: 8472, local: '10.200.0.2', linkIndex: 3, learning: false },
    });
    const v6 = readLinkInfo(payload(createVxlanRequest({ ...VXLAN, local: 'fd00:200::2' })));
    expect(v6?.vxlan?.local).toBe('fd00:200::2');
  });

  it('a wireguard device has a kind and no vxlan attributes; up is read from the flags', () => {
    const wg = readLinkInfo(payload(createWireguardRequest('wg0', 1420)));
    expect(wg).toMatchObject({ name: 'wg0', mtu: 1420, kind: 'wireguard' });
    expect(wg?.vxlan).toBeUndefined();
    expect(readLinkInfo(payload(setLinkUpRequest(7)))).toMatchObject({ index: 7, up: true });
  });

  it('an address', () => {
    expect(readAddress(payload(replaceAddressRequest(7, 'fd00:10:244:1::/128')))).toEqual({
      family: 10,
      prefixLen: 128,
      index: 7,
      local: 'fd00:10:244:1::',
      address: 'fd00:10:244:1::',
    });
  });
});
