import { planMigration, ANN, type ConfigMapLike } from './plan.js';
import { planApply, networkDifferences } from './existing.js';
import { parseNetConf, lineColumn } from './netconf.js';
import type { NodeLike } from '../status/types.js';

const NETCONF = JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });

function cm(netconf: string | null = NETCONF): ConfigMapLike {
  return {
    metadata: { name: 'kube-flannel-cfg', namespace: 'kube-flannel' },
    data:
      netconf === null
        ? { 'cni-conf.json': '{}' }
        : { 'net-conf.json': netconf, 'cni-conf.json': '{}' },
  };
}

function node(
  name: string,
  podCIDR: string | string[] | undefined,
  ann: Record<string, string> = {},
): NodeLike {
  const cidrs = podCIDR === undefined ? [] : Array.isArray(podCIDR) ? podCIDR : [podCIDR];
  return {
    metadata: {
      name,
      annotations: {
        [ANN.kubeSubnetManager]: 'true',
        ...ann,
      },
    },
    spec: cidrs.length ? { podCIDR: cidrs[0], podCIDRs: cidrs } : {},
  };
}

const flannelNode = (name: string, cidr: string, ip: string, mac: string, vni = 1): NodeLike =>
  node(name, cidr, {
    [ANN.backendType]: 'vxlan',
    [ANN.backendData]: JSON.stringify({ VNI: vni, VtepMAC: mac }),
    [ANN.publicIP]: ip,
  });

const codes = (issues: Array<{ code: string }>): string[] => issues.map((i) => i.code);

describe('planMigration: the happy path', () => {
  it('converts the default upstream install, keeping subnets, public IPs and MACs', () => {
    const plan = planMigration(cm(), [
      flannelNode('node-b', '10.244.2.0/24', '192.168.1.12', 'AA:BB:CC:00:00:02'),
      flannelNode('node-a', '10.244.1.0/24', '192.168.1.11', 'aa:bb:cc:00:00:01'),
    ]);
    expect(plan.errors).toEqual([]);
    expect(plan.warnings).toEqual([]);
    expect(plan.network).toEqual({
      apiVersion: 'network.flannel-operator.io/v1alpha1',
      kind: 'FlannelNetwork',
      metadata: {
        name: 'default',
        annotations: {
          'network.flannel-operator.io/migrated-from': 'configmap/kube-flannel/kube-flannel-cfg',
        },
      },
      spec: {
        network: '10.244.0.0/16',
        subnetLen: 24,
        backend: { type: 'vxlan', vni: 1, port: 8472, directRouting: false, gbp: false },
        ipMasq: true,
        netpol: { enabled: false },
      },
    });
    expect(plan.leases).toEqual([
      {
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'SubnetLease',
        metadata: {
          name: 'default.node-a',
          labels: {
            'network.flannel-operator.io/network': 'default',
            'network.flannel-operator.io/node': 'node-a',
          },
        },
        spec: { nodeName: 'node-a', networkName: 'default', subnet: '10.244.1.0/24' },
        status: {
          publicIP: '192.168.1.11',
          backend: { type: 'vxlan', vtepMAC: 'aa:bb:cc:00:00:01', vni: 1 },
        },
      },
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'default.node-b' }),
        spec: { nodeName: 'node-b', networkName: 'default', subnet: '10.244.2.0/24' },
        status: {
          publicIP: '192.168.1.12',
          backend: { type: 'vxlan', vtepMAC: 'aa:bb:cc:00:00:02', vni: 1 },
        },
      }),
    ]);
  });

  it('translates every backend option and honours --name and --no-ip-masq', () => {
    const conf = {
      network: '10.10.0.0/16', // Go's json is case-insensitive
      SubnetLen: 26,
      SubnetMin: '10.10.0.64',
      SubnetMax: '10.10.200.0',
      EnableNFTables: true,
      Backend: { Type: 'VXLAN', VNI: 4096, Port: 4789, MTU: 1400, GBP: true, DirectRouting: true },
    };
    const plan = planMigration(
      cm(JSON.stringify(conf)),
      [flannelNode('n', '10.10.0.64/26', '10.0.0.1', '02:00:00:00:00:01', 4096)],
      {
        name: 'blue',
        ipMasq: false,
      },
    );
    expect(plan.errors).toEqual([]);
    expect(plan.network!.metadata.name).toBe('blue');
    expect(plan.network!.spec).toEqual({
      network: '10.10.0.0/16',
      subnetLen: 26,
      subnetMin: '10.10.0.64',
      subnetMax: '10.10.200.0',
      backend: { type: 'vxlan', vni: 4096, port: 4789, mtu: 1400, directRouting: true, gbp: true },
      ipMasq: false,
      netpol: { enabled: false },
    });
    expect(plan.leases[0]!.metadata.name).toBe('blue.n');
    expect(plan.leases[0]!.status!.backend).toEqual({
      type: 'vxlan',
      vtepMAC: '02:00:00:00:00:01',
      vni: 4096,
    });
    expect(plan.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('EnableNFTables is ignored'),
    ]);
  });

  it('warns about EnableNFTables only when it is true', () => {
    const off = planMigration(
      cm(
        JSON.stringify({
          Network: '10.244.0.0/16',
          EnableNFTables: false,
          Backend: { Type: 'vxlan' },
        }),
      ),
      [
        node('n', '10.244.1.0/24', {
          [ANN.backendData]: '{"VNI":1,"VtepMAC":"02:00:00:00:00:01"}',
        }),
      ],
    );
    expect(off.warnings).toEqual([]);
  });

  it('defaults SubnetLen like flannel (/24 for /22 or larger, else prefix+2)', () => {
    const small = planMigration(
      cm(JSON.stringify({ Network: '10.1.0.0/24', Backend: { Type: 'vxlan' } })),
      [node('n', '10.1.0.64/26')],
    );
    expect(small.errors).toEqual([]);
    expect(small.network!.spec.subnetLen).toBe(26);
  });

  it('widens SubnetMin to the first subnet when a node holds it (kube-controller-manager starts there)', () => {
    const plan = planMigration(cm(), [
      node('first', '10.244.0.0/24'),
      node('second', '10.244.1.0/24'),
    ]);
    expect(plan.errors).toEqual([]);
    expect(plan.network!.spec.subnetMin).toBe('10.244.0.0');
    expect(plan.warnings.filter((w) => w.code !== 'WMIGRATE_NO_VTEP_MAC')).toEqual([
      expect.objectContaining({
        code: 'WMIGRATE_SUBNET_MIN',
        message:
          'subnetMin set to 10.244.0.0: node first holds the first subnet 10.244.0.0/24, which the default range skips',
      }),
    ]);
    const explicit = planMigration(
      cm(
        JSON.stringify({
          Network: '10.244.0.0/16',
          SubnetMin: '10.244.10.0',
          Backend: { Type: 'vxlan' },
        }),
      ),
      [node('low', '10.244.0.0/24')],
    );
    expect(explicit.network!.spec.subnetMin).toBe('10.244.10.0');
    expect(codes(explicit.warnings)).toEqual(['WMIGRATE_NO_VTEP_MAC', 'WMIGRATE_BELOW_SUBNET_MIN']);
  });

  it('migrates host-gw (no MAC) and uses public-ip-overwrite', () => {
    const plan = planMigration(
      cm(JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } })),
      [
        node('n', '10.244.3.0/24', {
          [ANN.backendType]: 'host-gw',
          [ANN.backendData]: 'null',
          [ANN.publicIP]: '192.168.0.3',
          [ANN.publicIPOverwrite]: '203.0.113.3',
        }),
      ],
    );
    expect(plan.errors).toEqual([]);
    expect(plan.network!.spec.backend.type).toBe('host-gw');
    expect(plan.leases[0]!.status).toEqual({
      publicIP: '203.0.113.3',
      backend: { type: 'host-gw' },
    });
  });

  it('migrates dual-stack: podCIDRs of both families, v6 MAC and public IPv6', () => {
    const plan = planMigration(
      cm(
        JSON.stringify({
          Network: '10.244.0.0/16',
          EnableIPv6: true,
          IPv6Network: 'fd00:10:244::/56',
          Backend: { Type: 'vxlan' },
        }),
      ),
      [
        node('n', ['10.244.1.0/24', 'fd00:10:244:1::/64'], {
          [ANN.backendData]: '{"VNI":1,"VtepMAC":"02:00:00:00:00:0a"}',
          [ANN.backendV6Data]: '{"VNI":1,"VtepMAC":"02:00:00:00:00:0b"}',
          [ANN.publicIP]: '10.0.0.1',
          [ANN.publicIPv6]: 'fd00::1',
        }),
      ],
    );
    expect(plan.errors).toEqual([]);
    expect(plan.network!.spec).toMatchObject({
      ipv6Network: 'fd00:10:244::/56',
      ipv6SubnetLen: 64,
    });
    expect(plan.leases[0]!.spec).toEqual({
      nodeName: 'n',
      networkName: 'default',
      subnet: '10.244.1.0/24',
      ipv6Subnet: 'fd00:10:244:1::/64',
    });
    expect(plan.leases[0]!.status).toEqual({
      publicIP: '10.0.0.1',
      publicIPv6: 'fd00::1',
      backend: {
        type: 'vxlan',
        vtepMAC: '02:00:00:00:00:0a',
        v6VtepMAC: '02:00:00:00:00:0b',
        vni: 1,
      },
    });
  });

  it('warns (does not fail) about nodes without annotations, bad backend-data, VNI and backend mismatches', () => {
    const plan = planMigration(cm(), [
      node('bare', '10.244.1.0/24', { [ANN.kubeSubnetManager]: 'true' }),
      node('garbled', '10.244.2.0/24', { [ANN.backendData]: '{"VNI":1,' }),
      node('badmac', '10.244.3.0/24', { [ANN.backendData]: '{"VNI":1,"VtepMAC":"zz"}' }),
      node('oldvni', '10.244.4.0/24', {
        [ANN.backendType]: 'udp',
        [ANN.backendData]: '{"VNI":7,"VtepMAC":"02:00:00:00:00:01"}',
      }),
    ]);
    expect(plan.errors).toEqual([]);
    expect(plan.leases).toHaveLength(4);
    expect(codes(plan.warnings).sort()).toEqual([
      'WMIGRATE_BACKEND_DATA',
      'WMIGRATE_BACKEND_DATA',
      'WMIGRATE_BACKEND_MISMATCH',
      'WMIGRATE_NO_VTEP_MAC',
      'WMIGRATE_NO_VTEP_MAC',
      'WMIGRATE_NO_VTEP_MAC',
      'WMIGRATE_VNI_MISMATCH',
    ]);
    expect(plan.leases.find((l) => l.spec.nodeName === 'oldvni')!.status!.backend!.vtepMAC).toBe(
      '02:00:00:00:00:01',
    );
  });

  it('warns when flannel did not run with the kube subnet manager', () => {
    const plan = planMigration(cm(), [
      { metadata: { name: 'n' }, spec: { podCIDR: '10.244.1.0/24' } },
    ]);
    expect(codes(plan.warnings)).toContain('WMIGRATE_NOT_KUBE_SUBNET_MANAGER');
  });
});

describe('planMigration: wireguard', () => {
  const KEY_A = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
  const PSK = 'OFsDJ8iKO4pxRGcYvQr7Du9I3LFwS+tRgmRXUMGsxVw=';
  const wgNode = (name: string, cidr: string, ip: string, data?: string): NodeLike =>
    node(name, cidr, {
      [ANN.backendType]: 'wireguard',
      ...(data ? { [ANN.backendData]: data } : {}),
      [ANN.publicIP]: ip,
    });

  it('converts the options, keeps the public keys from the annotations, moves the PSK to a Secret', () => {
    const netconf = JSON.stringify({
      Network: '10.244.0.0/16',
      Backend: {
        Type: 'wireguard',
        ListenPort: 51000,
        PersistentKeepaliveInterval: 25,
        PSK: PSK,
        Mode: 'auto',
      },
    });
    const plan = planMigration(cm(netconf), [
      wgNode(
        'node-a',
        '10.244.1.0/24',
        '192.168.1.11',
        JSON.stringify({ PublicKey: KEY_A, Port: 51000 }),
      ),
      wgNode('node-b', '10.244.2.0/24', '192.168.1.12', JSON.stringify({ PublicKey: 'bogus' })),
    ]);
    expect(plan.errors).toEqual([]);
    expect(plan.network!.spec.backend).toEqual({
      type: 'wireguard',
      vni: 1,
      port: 8472,
      directRouting: false,
      gbp: false,
      listenPort: 51000,
      persistentKeepaliveInterval: 25,
      pskSecretRef: { name: 'flannel-wireguard-psk', key: 'psk' },
      mode: 'auto',
    });
    expect(plan.leases.map((l) => l.status?.backend)).toEqual([
      { type: 'wireguard', publicKey: KEY_A },
      { type: 'wireguard' },
    ]);
    expect(codes(plan.warnings).sort()).toEqual([
      'WMIGRATE_BACKEND_DATA',
      'WMIGRATE_NO_PUBLIC_KEY',
      'WMIGRATE_WIREGUARD_PSK',
    ]);
    // The PSK is a secret: it is in no warning, hint or planned object.
    expect(JSON.stringify(plan)).not.toContain(PSK);
  });

  it('refuses a malformed PSK, port or mode', () => {
    const netconf = JSON.stringify({
      Network: '10.244.0.0/16',
      Backend: { Type: 'wireguard', PSK: 'short', ListenPortV6: 70000, Mode: 'both' },
    });
    const plan = planMigration(cm(netconf), [node('n', '10.244.1.0/24')]);
    expect(plan.errors.map((e) => e.message)).toEqual([
      'Backend.ListenPortV6 70000 is not a UDP port',
      'Backend.Mode "both" is not one of separate, auto, ipv4, ipv6',
      'Backend.PSK is not a WireGuard key (32 bytes base64, as wg genpsk prints)',
    ]);
  });
});

describe('planMigration: refuses what it cannot convert', () => {
  it.each(['udp', 'ipip', 'ipsec', 'extension', 'alloc', 'aws-vpc', 'something'])(
    'unsupported backend %s, with a hint',
    (type) => {
      const plan = planMigration(
        cm(JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: type } })),
        [node('n', '10.244.1.0/24')],
      );
      expect(codes(plan.errors)).toEqual(['EMIGRATE_UNSUPPORTED_BACKEND']);
      expect(plan.errors[0]!.message).toBe(
        `backend "${type}" cannot be migrated: the operator runs vxlan (with optional directRouting), host-gw and wireguard`,
      );
      expect(plan.errors[0]!.hint).toMatch(/vxlan|keep upstream flannel/);
      expect(plan.network).toBeUndefined();
      expect(plan.leases).toEqual([]);
    },
  );

  it('nodes without podCIDR', () => {
    const plan = planMigration(cm(), [node('ok', '10.244.1.0/24'), node('empty', undefined)]);
    expect(plan.errors).toEqual([
      expect.objectContaining({
        code: 'EMIGRATE_NO_PODCIDR',
        object: 'node/empty',
        message: 'node empty has no podCIDR',
      }),
    ]);
    expect(plan.leases).toEqual([]);
  });

  it('podCIDR outside Network', () => {
    const plan = planMigration(cm(), [node('n', '10.99.1.0/24')]);
    expect(plan.errors).toEqual([
      expect.objectContaining({
        code: 'EMIGRATE_PODCIDR_OUTSIDE',
        message: 'node n podCIDR 10.99.1.0/24 is outside Network 10.244.0.0/16',
      }),
    ]);
  });

  it('podCIDR size different from SubnetLen', () => {
    const plan = planMigration(cm(), [node('n', '10.244.0.0/25')]);
    expect(plan.errors).toEqual([
      expect.objectContaining({
        code: 'EMIGRATE_PODCIDR_SIZE',
        message: 'node n podCIDR 10.244.0.0/25 is a /25, but SubnetLen is /24',
        hint: expect.stringContaining('set SubnetLen to 25'),
      }),
    ]);
  });

  it('podCIDR with host bits and duplicate podCIDRs', () => {
    const plan = planMigration(cm(), [
      node('a', '10.244.1.5/24'),
      node('b', '10.244.2.0/24'),
      node('c', '10.244.2.0/24'),
    ]);
    expect(codes(plan.errors)).toEqual(['EMIGRATE_PODCIDR_INVALID', 'EMIGRATE_DUPLICATE_PODCIDR']);
    expect(plan.errors[1]!.message).toBe('nodes b and c both have podCIDR 10.244.2.0/24');
  });

  it('malformed net-conf.json, with the parse position', () => {
    const text = '{\n  "Network": "10.244.0.0/16",\n  "Backend": {"Type": "vxlan",}\n}';
    const plan = planMigration(cm(text), [node('n', '10.244.1.0/24')]);
    expect(codes(plan.errors)).toEqual(['EMIGRATE_NETCONF_JSON']);
    expect(plan.errors[0]!.message).toMatch(
      /^net-conf\.json in configmap\/kube-flannel\/kube-flannel-cfg is not valid JSON: .*\(line 3, column 31, offset 62\)$/,
    );
    const truncated = planMigration(cm('{"Network": "10.244.0.0/16"'), []);
    expect(truncated.errors[0]!.message).toMatch(/line 1, column 28/);
  });

  it('wrong types and bad CIDRs in net-conf.json', () => {
    const plan = planMigration(
      cm(JSON.stringify({ Network: 'ten', SubnetLen: '24', Backend: { Type: 'vxlan', VNI: -1 } })),
      [],
    );
    expect(codes(plan.errors)).toEqual(['EMIGRATE_NETCONF_INVALID', 'EMIGRATE_NETCONF_INVALID']);
    expect(
      codes(
        planMigration(cm(JSON.stringify({ Network: 'ten', Backend: { Type: 'vxlan' } })), [])
          .errors,
      ),
    ).toEqual(['EIPAM_INVALID_CIDR']);
    const cidr = planMigration(
      cm(JSON.stringify({ Network: 'ten', Backend: { Type: 'vxlan' } })),
      [],
    );
    expect(cidr.errors[0]!.message).toBe(
      'Network must be an IPv4 CIDR such as 10.244.0.0/16, got "ten"',
    );
    const noBackend = planMigration(cm(JSON.stringify({ Network: '10.244.0.0/16' })), []);
    expect(noBackend.errors[0]!.message).toBe('net-conf.json has no Backend');
    const arr = planMigration(cm('[]'), []);
    expect(codes(arr.errors)).toEqual(['EMIGRATE_NETCONF_INVALID']);
  });

  it('missing net-conf.json key', () => {
    const plan = planMigration(cm(null), []);
    expect(codes(plan.errors)).toEqual(['EMIGRATE_NO_NETCONF']);
  });

  it('EnableIPv4=false without IPv6', () => {
    const plan = planMigration(
      cm(
        JSON.stringify({ Network: '10.244.0.0/16', EnableIPv4: false, Backend: { Type: 'vxlan' } }),
      ),
      [],
    );
    expect(codes(plan.errors)).toEqual(['EMIGRATE_NO_ADDRESS_FAMILY']);
  });

  it('EnableIPv4=false with IPv6 is an IPv6-only network: only the v6 lease data is kept', () => {
    // IPv4 annotations (left from a former dual-stack run) must not reach the lease.
    const v6node = node('n', 'fd00:0:0:5::/64', {
      [ANN.backendType]: 'vxlan',
      [ANN.backendData]: JSON.stringify({ VNI: 1, VtepMAC: '0e:00:00:00:00:05' }),
      [ANN.backendV6Data]: JSON.stringify({ VNI: 1, VtepMAC: '0e:00:00:00:06:05' }),
      [ANN.publicIP]: '10.200.0.5',
      [ANN.publicIPv6]: 'fd00:200::5',
    });
    const plan = planMigration(
      cm(
        JSON.stringify({
          EnableIPv4: false,
          EnableIPv6: true,
          IPv6Network: 'fd00::/48',
          Backend: { Type: 'vxlan' },
        }),
      ),
      [v6node],
    );
    expect(plan.errors).toEqual([]);
    expect(plan.warnings).toEqual([]);
    expect(plan.network!.spec).toMatchObject({ ipv6Network: 'fd00::/48' });
    expect(plan.network!.spec.network).toBeUndefined();
    const l = plan.leases[0]!;
    expect(l.spec.ipv6Subnet).toBe('fd00:0:0:5::/64');
    expect(l.spec.subnet).toBeUndefined();
    expect(l.status).toEqual({
      publicIPv6: 'fd00:200::5',
      backend: { type: 'vxlan', v6VtepMAC: '0e:00:00:00:06:05', vni: 1 },
    });
  });

  it('invalid --name', () => {
    const plan = planMigration(cm(), [], { name: 'Not_Valid' });
    expect(codes(plan.errors)).toEqual(['EMIGRATE_INVALID_NAME']);
  });

  it('reports every problem at once', () => {
    const plan = planMigration(cm(), [
      node('a', undefined),
      node('b', '10.1.0.0/24'),
      node('c', '10.244.0.0/23'),
    ]);
    expect(codes(plan.errors)).toEqual([
      'EMIGRATE_NO_PODCIDR',
      'EMIGRATE_PODCIDR_OUTSIDE',
      'EMIGRATE_PODCIDR_SIZE',
    ]);
  });
});

describe('planApply: reruns and conflicts', () => {
  const plan = planMigration(cm(), [
    flannelNode('a', '10.244.1.0/24', '10.0.0.1', '02:00:00:00:00:01'),
  ]);

  it('creates everything on an empty cluster', () => {
    const a = planApply(plan, { networks: [], leases: [] });
    expect(a).toEqual({
      network: 'create',
      leases: [{ name: 'default.a', spec: 'create', status: 'create' }],
      errors: [],
      warnings: [],
    });
  });

  it('is a no-op when everything is already there', () => {
    const a = planApply(plan, { networks: [plan.network!], leases: plan.leases });
    expect(a).toEqual({
      network: 'unchanged',
      leases: [{ name: 'default.a', spec: 'unchanged', status: 'unchanged' }],
      errors: [],
      warnings: [],
    });
  });

  it('treats defaults as equal (a hand-made network without subnetLen/port)', () => {
    expect(
      networkDifferences(plan.network!.spec, {
        network: '10.244.0.0/16',
        backend: { type: 'vxlan' },
      } as never),
    ).toEqual([]);
  });

  it('refuses a same-named network with another spec, an overlapping one, and a select-all one', () => {
    const other = { ...plan.network!, spec: { ...plan.network!.spec, network: '10.245.0.0/16' } };
    expect(codes(planApply(plan, { networks: [other], leases: [] }).errors)).toEqual([
      'EMIGRATE_NETWORK_CONFLICT',
    ]);
    expect(planApply(plan, { networks: [other], leases: [] }).errors[0]!.message).toContain(
      'network: existing "10.245.0.0/16", flannel "10.244.0.0/16"',
    );
    const overlapping = {
      ...plan.network!,
      metadata: { name: 'x' },
      spec: {
        ...plan.network!.spec,
        network: '10.244.128.0/17',
        nodeSelector: { matchLabels: { a: 'b' } },
      },
    };
    expect(codes(planApply(plan, { networks: [overlapping], leases: [] }).errors)).toEqual([
      'EMIGRATE_NETWORK_CONFLICT',
    ]);
    const all = {
      ...plan.network!,
      metadata: { name: 'y' },
      spec: { ...plan.network!.spec, network: '10.50.0.0/16' },
    };
    expect(planApply(plan, { networks: [all], leases: [] }).errors[0]!.message).toBe(
      'FlannelNetwork y already serves every node (no nodeSelector)',
    );
  });

  it('refuses a lease with another subnet, and leaves agent-published status alone', () => {
    const stale = {
      ...plan.leases[0]!,
      spec: { ...plan.leases[0]!.spec, subnet: '10.244.9.0/24' },
    };
    expect(codes(planApply(plan, { networks: [], leases: [stale] }).errors)).toEqual([
      'EMIGRATE_LEASE_CONFLICT',
    ]);
    const agentOwned = {
      ...plan.leases[0]!,
      status: {
        publicIP: '10.0.0.1',
        backend: { type: 'vxlan' as const, vtepMAC: '02:00:00:00:00:99', vni: 1 },
      },
    };
    const a = planApply(plan, { networks: [], leases: [agentOwned] });
    expect(a.errors).toEqual([]);
    expect(a.leases[0]).toEqual({ name: 'default.a', spec: 'unchanged', status: 'skip' });
    expect(codes(a.warnings)).toEqual(['WMIGRATE_STATUS_OWNED']);
    const noStatus = { ...plan.leases[0]!, status: undefined, metadata: { name: 'default.a' } };
    expect(planApply(plan, { networks: [], leases: [noStatus] }).leases[0]).toEqual({
      name: 'default.a',
      spec: 'update',
      status: 'create',
    });
  });
});

describe('netconf helpers', () => {
  it('lineColumn', () => {
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
  it('ignores unknown top-level keys with a flag in the result', () => {
    const r = parseNetConf(
      JSON.stringify({ Network: '10.0.0.0/8', Foo: 1, Backend: { Type: 'vxlan', Bar: 2 } }),
      'x',
    );
    expect(r.conf!.ignored).toEqual(['Foo']);
    expect(r.conf!.backend.other).toEqual(['Bar']);
  });
});
