import { networkConfig, nodeDesiredState, toPeer } from './node-state.js';
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

  it('maps an IPv6-only network (no IPv4 network at all)', () => {
    const fn = {
      metadata: { name: 'v6only' },
      spec: { ipv6Network: 'fd00::/56' },
    } as unknown as FlannelNetwork;
    expect(networkConfig(fn)).toMatchObject({ network: undefined, ipv6Network: 'fd00::/56' });
  });

  it('rejects a network without any CIDR with a clear error', () => {
    const fn = { metadata: { name: 'none' }, spec: {} } as unknown as FlannelNetwork;
    expect(() => networkConfig(fn)).toThrow(/none has neither network nor ipv6Network/);
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

describe('nodeDesiredState of an IPv6-only network', () => {
  const network = {
    metadata: { name: 'v6' },
    spec: { ipv6Network: 'fd00:10::/48', backend: { type: 'vxlan' } },
  } as unknown as FlannelNetwork;
  const lease: SubnetLease = {
    metadata: { name: 'v6.n1' },
    spec: { nodeName: 'n1', networkName: 'v6', ipv6Subnet: 'fd00:10:0:1::/64' },
  };
  const underlay = { name: 'eth0', index: 2, mtu: 1500 };
  const node = {
    nodeName: 'n1',
    underlay: { ...underlay, ipv6: 'fd00:200::1', prefixV6: 'fd00:200::/64' },
    publicIPv6: 'fd00:200::1',
  };

  it('has only IPv6 state: flannel-v6, ip6 rules, the v6 subnet.env keys, no IPv4 MAC', () => {
    const st = nodeDesiredState({ network, lease, leases: [lease], node });
    expect(st.self).toMatchObject({ subnet: undefined, vtepMAC: undefined });
    expect(st.desired.vxlan).toBeUndefined();
    expect(st.desired.vxlan6?.name).toBe('flannel-v6.1');
    expect(st.rules.map((r) => r.family)).toEqual(['ipv6']);
    expect(st.ownership).toMatchObject({ network: undefined, ownSubnet: undefined });
    expect(st.subnetEnv).toEqual({
      network: undefined,
      subnet: undefined,
      ipv6Network: 'fd00:10::/48',
      ipv6Subnet: 'fd00:10:0:1::/64',
      mtu: 1430,
      ipMasq: true,
    });
  });

  it('waits for the v6 subnet, and needs an IPv6 underlay address', () => {
    const noSubnet = { ...lease, spec: { ...lease.spec, ipv6Subnet: undefined } };
    expect(() => nodeDesiredState({ network, lease: noSubnet, leases: [], node })).toThrow(
      /no IPv6 subnet yet/,
    );
    expect(() =>
      nodeDesiredState({ network, lease, leases: [], node: { nodeName: 'n1', underlay } }),
    ).toThrow(/needs an IPv6 underlay address and eth0 has none/);
  });

  it('an IPv4 network on an underlay without IPv4 is a clear error, not a bad device', () => {
    const dual = { ...network, spec: { ...network.spec, network: '10.244.0.0/16' } };
    const l = { ...lease, spec: { ...lease.spec, subnet: '10.244.1.0/24' } };
    expect(() => nodeDesiredState({ network: dual, lease: l, leases: [], node })).toThrow(
      /needs an IPv4 underlay address and eth0 has none/,
    );
  });
});
