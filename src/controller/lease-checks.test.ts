import { rejectLeases } from './lease-checks.js';
import type { NodeLike } from './plan.js';
import type { SubnetLease } from '../api/index.js';

const lease = (
  node: string,
  created: string,
  status: NonNullable<SubnetLease['status']>,
): SubnetLease => ({
  metadata: { name: `net.${node}`, creationTimestamp: created },
  spec: { nodeName: node, networkName: 'net', subnet: '10.244.1.0/24' },
  status,
});
const vx = (publicIP: string, vtepMAC: string) => ({
  publicIP,
  backend: { type: 'vxlan' as const, vtepMAC },
});
const node = (name: string, ...addresses: string[]): [string, NodeLike] => [
  name,
  {
    metadata: { name },
    status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) },
  },
];
const nodes = new Map([
  node('a', '10.0.0.1'),
  node('b', '10.0.0.2'),
  node('c', '10.0.0.3', 'fd00::3'),
  ['bare', { metadata: { name: 'bare' } }] as [string, NodeLike],
]);
const opts = { uniqueAddresses: false, verifyPublicIP: true };

describe('rejectLeases', () => {
  it('accepts honest leases', () => {
    const ls = [
      lease('a', '2026-01-01T00:00:00Z', vx('10.0.0.1', '0e:00:00:00:00:01')),
      lease('b', '2026-01-01T00:00:01Z', vx('10.0.0.2', '0e:00:00:00:00:02')),
    ];
    expect(rejectLeases(ls, nodes, opts)).toEqual(new Map());
  });

  it('flags the younger of two leases publishing one VTEP MAC, in any order', () => {
    const older = lease('b', '2026-01-01T00:00:00Z', vx('10.0.0.2', '0e:00:00:00:00:02'));
    const younger = lease('c', '2026-01-01T00:00:05Z', vx('10.0.0.3', '0e:00:00:00:00:02'));
    for (const ls of [
      [older, younger],
      [younger, older],
    ]) {
      expect(rejectLeases(ls, nodes, opts)).toEqual(
        new Map([
          [
            'net.c',
            {
              reason: 'DuplicateBackendData',
              message:
                'vtepMAC 0e:00:00:00:00:02 is already published by the older lease of node b',
            },
          ],
        ]),
      );
    }
  });

  it('flags a publicIP that is not an address of the Node; unverifiable families pass', () => {
    const ls = [
      lease('a', '2026-01-01T00:00:00Z', vx('10.0.0.2', '0e:00:00:00:00:01')),
      lease('bare', '2026-01-01T00:00:00Z', vx('192.0.2.9', '0e:00:00:00:00:09')),
      lease('c', '2026-01-01T00:00:00Z', {
        ...vx('10.0.0.3', '0e:00:00:00:00:03'),
        publicIPv6: 'fd00::9',
      }),
    ];
    const r = rejectLeases(ls, nodes, opts);
    expect(r.get('net.a')).toEqual({
      reason: 'PublicIPNotNodeAddress',
      message: 'publicIP 10.0.0.2 is not an address of Node a (InternalIP/ExternalIP)',
    });
    expect(r.get('net.c')?.message).toBe(
      'publicIPv6 fd00::9 is not an address of Node c (InternalIP/ExternalIP)',
    );
    expect(r.has('net.bare')).toBe(false);
    expect(rejectLeases(ls, nodes, { ...opts, verifyPublicIP: false })).toEqual(new Map());
  });

  it('flags invalid backend data first', () => {
    const r = rejectLeases(
      [lease('a', '2026-01-01T00:00:00Z', vx('10.0.0.1', 'ff:ff:ff:ff:ff:ff'))],
      nodes,
      opts,
    );
    expect(r.get('net.a')).toEqual({
      reason: 'InvalidBackendData',
      message: 'vtepMAC ff:ff:ff:ff:ff:ff is the broadcast address',
    });
  });

  it('host-gw: a publicIP may be published by one lease only', () => {
    const ls = [
      lease('a', '2026-01-01T00:00:00Z', { publicIP: '10.0.0.1', backend: { type: 'host-gw' } }),
      lease('bare', '2026-01-01T00:00:01Z', { publicIP: '10.0.0.1', backend: { type: 'host-gw' } }),
    ];
    expect(
      rejectLeases(ls, nodes, { ...opts, uniqueAddresses: true }).get('net.bare')?.reason,
    ).toBe('DuplicateBackendData');
    expect(rejectLeases(ls, nodes, opts).size).toBe(0);
  });
});
