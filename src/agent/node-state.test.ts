import { networkConfig, toPeer } from './node-state.js';
import type { FlannelNetwork, SubnetLease } from '../api/index.js';

describe('agent mapping of API objects', () => {
  it('applies the CRD defaults when the API server did not', () => {
    const fn = {
      metadata: { name: 'n' },
      spec: { network: '10.244.0.5/16' },
    } as unknown as FlannelNetwork;
    expect(networkConfig(fn)).toEqual({
      network: '10.244.0.0/16',
      type: 'vxlan',
      vni: 1,
      port: 8472,
      directRouting: false,
      mtu: undefined,
      ipMasq: true,
    });
  });

  it('rejects a network without an IPv4 CIDR with a clear error', () => {
    const fn = {
      metadata: { name: 'v6only' },
      spec: { ipv6Network: 'fd00::/56' },
    } as unknown as FlannelNetwork;
    expect(() => networkConfig(fn)).toThrow(/v6only has no IPv4 network/);
  });

  it('maps a lease to a peer (deleting leases flagged)', () => {
    const l: SubnetLease = {
      metadata: { name: 'n.a', deletionTimestamp: '2026-01-01T00:00:00Z' },
      spec: { nodeName: 'a', networkName: 'n', subnet: '10.244.1.0/24' },
      status: {
        publicIP: '10.0.0.1',
        backend: { type: 'vxlan', vtepMAC: '0e:00:00:00:00:01', vni: 1 },
      },
    };
    expect(toPeer(l)).toEqual({
      nodeName: 'a',
      subnet: '10.244.1.0/24',
      publicIP: '10.0.0.1',
      vtepMAC: '0e:00:00:00:00:01',
      deleting: true,
    });
  });
});
