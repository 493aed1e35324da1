import { diffWireguard, isEmptyWgChange, parseWgDump, pskDigest, wgSetArgs } from './diff.js';
import type { WgDeviceSpec } from './desired.js';

const KEY = (c: string) => `${c.repeat(42)}A=`;
const PRIVATE = `${'P'.repeat(42)}A=`;
const PSK = `${'S'.repeat(42)}A=`;
const dump = [
  [PRIVATE, KEY('a'), '51820', 'off'].join('\t'),
  [KEY('b'), '(none)', '10.200.0.2:51820', '10.244.2.0/24', '1700000000', '10', '20', 'off'].join(
    '\t',
  ),
  [KEY('z'), PSK, '(none)', '(none)', '0', '0', '0', '25'].join('\t'),
].join('\n');

const want: WgDeviceSpec = {
  name: 'flannel-wg',
  listenPort: 51820,
  mtu: 1440,
  addresses: ['10.244.1.0/32'],
  peers: [
    {
      nodeName: 'n2',
      publicKey: KEY('b'),
      endpoint: '10.200.0.2:51820',
      allowedIPs: ['10.244.2.0/24'],
      keepalive: 0,
    },
    {
      nodeName: 'n3',
      publicKey: KEY('c'),
      endpoint: '10.201.0.1:51820',
      allowedIPs: ['10.244.3.0/24'],
      keepalive: 0,
    },
  ],
};

describe('parseWgDump', () => {
  it('keeps public data only: no private or pre-shared key text survives the parse', () => {
    const d = parseWgDump(dump)!;
    expect(d.publicKey).toBe(KEY('a'));
    expect(d.listenPort).toBe(51820);
    expect(d.peers[0]).toEqual({
      publicKey: KEY('b'),
      endpoint: '10.200.0.2:51820',
      allowedIPs: ['10.244.2.0/24'],
      latestHandshake: 1700000000,
      keepalive: 0,
    });
    expect(d.peers[1]).toMatchObject({ pskDigest: pskDigest(PSK), keepalive: 25, allowedIPs: [] });
    const text = JSON.stringify(d);
    expect(text).not.toContain(PRIVATE);
    expect(text).not.toContain(PSK);
  });

  it('is undefined for text that is not a dump', () => {
    expect(parseWgDump('')).toBeUndefined();
    expect(parseWgDump('Unable to access interface')).toBeUndefined();
  });
});

describe('diffWireguard', () => {
  it('adds missing peers, removes stale ones, keeps matching ones and the key', () => {
    const c = diffWireguard(want, parseWgDump(dump), { publicKey: KEY('a') });
    expect(c.privateKey).toBe(false);
    expect(c.listenPort).toBeUndefined();
    expect(c.upsert.map((p) => p.nodeName)).toEqual(['n3']);
    expect(c.remove).toEqual([KEY('z')]);
  });

  it('a fresh device needs key, port and every peer; a matching one nothing', () => {
    const c = diffWireguard(want, undefined, { publicKey: KEY('a') });
    expect(c).toEqual({ privateKey: true, listenPort: 51820, upsert: want.peers, remove: [] });
    const have = {
      publicKey: KEY('a'),
      listenPort: 51820,
      peers: want.peers.map((p) => ({ ...p, latestHandshake: 0 })),
    };
    expect(isEmptyWgChange(diffWireguard(want, have, { publicKey: KEY('a') }))).toBe(true);
  });

  it('a rotated key, a moved endpoint, a changed pre-shared key are changes', () => {
    const have = {
      publicKey: KEY('x'),
      listenPort: 51820,
      peers: [
        { ...want.peers[0]!, endpoint: '10.9.9.9:51820', latestHandshake: 0 },
        { ...want.peers[1]!, latestHandshake: 0 },
      ],
    };
    const c = diffWireguard(want, have, { publicKey: KEY('a'), psk: pskDigest(PSK) });
    expect(c.privateKey).toBe(true);
    expect(c.upsert.map((p) => p.nodeName)).toEqual(['n2', 'n3']);
  });
});

describe('wgSetArgs', () => {
  it('passes key material as file paths only', () => {
    const c = diffWireguard(want, parseWgDump(dump), { publicKey: KEY('x') });
    const args = wgSetArgs('flannel-wg', c, { privateKey: '/keys/private.key', psk: '/psk/psk' });
    expect(args).toEqual([
      'set',
      'flannel-wg',
      'private-key',
      '/keys/private.key',
      'peer',
      KEY('z'),
      'remove',
      'peer',
      KEY('c'),
      'preshared-key',
      '/psk/psk',
      'endpoint',
      '10.201.0.1:51820',
      'persistent-keepalive',
      'off',
      'allowed-ips',
      '10.244.3.0/24',
    ]);
    expect(wgSetArgs('d', { ...c, upsert: [want.peers[0]!] }, { privateKey: 'k' })).toContain(
      '/dev/null',
    );
  });
});
