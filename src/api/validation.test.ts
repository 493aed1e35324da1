import {
  ApiValidationError,
  flannelNetworkSpecSchema,
  flannelNetworkUpdateProblems,
  parseFlannelNetwork,
  parseSubnetLease,
  subnetLeaseUpdateProblems,
} from './index.js';
import {
  INVALID_SPECS,
  INVALID_TRANSITIONS,
  VALID_SPECS,
  VALID_TRANSITIONS,
} from './testing/cases.js';

const fnet = (name: string, spec: unknown) => ({
  apiVersion: 'network.flannel-operator.io/v1alpha1',
  kind: 'FlannelNetwork',
  metadata: { name },
  spec,
});

describe('parseFlannelNetwork', () => {
  it('applies the schema defaults', () => {
    const n = parseFlannelNetwork(fnet('pods', { network: '10.244.0.0/16' }));
    expect(n.spec).toEqual({
      network: '10.244.0.0/16',
      backend: { type: 'vxlan', vni: 1, port: 8472, directRouting: false, gbp: false },
      ipMasq: true,
      netpol: { enabled: false },
    });
    expect(n.metadata.name).toBe('pods');
  });

  it.each(Object.entries(VALID_SPECS))('accepts %s', (_name, spec) => {
    expect(() => parseFlannelNetwork(fnet('ok', spec))).not.toThrow();
  });

  it.each(INVALID_SPECS.map((c) => [c.name, c] as const))(
    'rejects %s with the admission message',
    (_n, c) => {
      let err: unknown;
      try {
        parseFlannelNetwork(fnet('bad', c.spec));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiValidationError);
      const issues = (err as ApiValidationError).issues.map((i) => ({
        field: i.path.replace(/\.(\d+)(?=\.|$)/g, '[$1]'),
        message: i.message,
      }));
      expect(issues).toEqual(c.errors);
      expect((err as ApiValidationError).code).toBe('EAPI_INVALID');
      expect((err as Error).message).toContain('FlannelNetwork "bad" is invalid: ');
    },
  );

  it('rejects names that are not DNS labels', () => {
    expect(() => parseFlannelNetwork(fnet('a.b', { network: '10.0.0.0/16' }))).toThrow(
      /must be DNS labels/,
    );
  });

  it('rejects a missing spec and non-objects', () => {
    expect(() => parseFlannelNetwork({ metadata: { name: 'x' } })).toThrow(ApiValidationError);
    expect(() => parseFlannelNetwork(null)).toThrow(/not an object/);
  });

  it('keeps the type stable for controller code using safeParse', () => {
    const r = flannelNetworkSpecSchema.safeParse({ network: '10.244.0.0/16', subnetLen: 33 });
    expect(r.success).toBe(false);
  });
});

describe('FlannelNetwork update rules (JS twins of the CEL transition rules)', () => {
  it.each(INVALID_TRANSITIONS.map((c) => [c.name, c] as const))('rejects %s', (_n, c) => {
    const from = parseFlannelNetwork(fnet('n', c.from));
    const to = parseFlannelNetwork(fnet('n', c.to));
    expect(flannelNetworkUpdateProblems(from, to)).toEqual(c.errors.map((e) => e.message));
  });

  it.each(VALID_TRANSITIONS.map((c) => [c.name, c] as const))('allows %s', (_n, c) => {
    const from = parseFlannelNetwork(fnet('n', c.from));
    const to = parseFlannelNetwork(fnet('n', c.to));
    expect(flannelNetworkUpdateProblems(from, to)).toEqual([]);
  });
});

describe('parseSubnetLease', () => {
  const lease = (spec: unknown, status?: unknown) => ({
    metadata: { name: 'pods.node-1' },
    spec,
    ...(status ? { status } : {}),
  });

  it('accepts a complete lease', () => {
    const l = parseSubnetLease(
      lease(
        {
          nodeName: 'node-1',
          networkName: 'pods',
          subnet: '10.244.1.0/24',
          ipv6Subnet: 'fd00:0:0:1::/64',
        },
        {
          publicIP: '192.168.1.10',
          publicIPv6: 'fd01::10',
          backend: { type: 'vxlan', vtepMAC: '0a:58:0a:f4:01:01', vni: 1 },
        },
      ),
    );
    expect(l.spec.subnet).toBe('10.244.1.0/24');
    expect(l.status?.backend?.vtepMAC).toBe('0a:58:0a:f4:01:01');
  });

  it.each([
    [
      'subnet not canonical',
      { subnet: '10.244.1.1/24' },
      undefined,
      'spec.subnet: subnet must be an IPv4 CIDR in canonical form (host bits zero)',
    ],
    [
      'subnet of the wrong family',
      { subnet: 'fd00::/64' },
      undefined,
      'spec.subnet: subnet must be an IPv4 CIDR',
    ],
    [
      'ipv6Subnet not canonical',
      { ipv6Subnet: 'fd00:0:0:1:0::/64' },
      undefined,
      'spec.ipv6Subnet: ipv6Subnet must be an IPv6 CIDR',
    ],
    [
      'publicIP invalid',
      {},
      { publicIP: '10.0.0.256' },
      'status.publicIP: publicIP must be an IPv4 address',
    ],
    [
      'publicIPv6 is IPv4',
      {},
      { publicIPv6: '10.0.0.1' },
      'status.publicIPv6: publicIPv6 must be an IPv6 address',
    ],
    [
      'vtepMAC invalid',
      {},
      { backend: { type: 'vxlan', vtepMAC: '0a:58:0a:f4:01' } },
      'status.backend.vtepMAC: vtepMAC must be a MAC address',
    ],
  ])('rejects %s', (_n, spec, status, message) => {
    expect(() =>
      parseSubnetLease(lease({ nodeName: 'node-1', networkName: 'pods', ...spec }, status)),
    ).toThrow(message);
  });

  it('rejects a lease without node or network', () => {
    expect(() => parseSubnetLease(lease({ nodeName: 'n' }))).toThrow(/spec\.networkName/);
  });

  it('reports immutability problems on update', () => {
    const a = parseSubnetLease(lease({ nodeName: 'n', networkName: 'p', subnet: '10.0.1.0/24' }));
    const b = parseSubnetLease(lease({ nodeName: 'm', networkName: 'p', subnet: '10.0.2.0/24' }));
    expect(subnetLeaseUpdateProblems(a, b)).toEqual([
      'subnet is immutable once set',
      'nodeName is immutable',
    ]);
    const unset = parseSubnetLease(lease({ nodeName: 'n', networkName: 'p' }));
    expect(subnetLeaseUpdateProblems(unset, a)).toEqual([]);
  });
});
