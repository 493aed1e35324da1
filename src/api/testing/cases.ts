/**
 * FlannelNetwork specs shared by the unit tests (zod side) and the admission test against the
 * real API server (CEL side): each invalid case names the exact message both must produce.
 */
export interface InvalidCase {
  name: string;
  spec: Record<string, unknown>;
  /** Field path as the API server reports it, and the message. */
  errors: Array<{ field: string; message: string }>;
}

export const VALID_SPECS: Record<string, Record<string, unknown>> = {
  vxlan: { network: '10.244.0.0/16' },
  'host-gw': { network: '10.245.0.0/16', backend: { type: 'host-gw' } },
  'direct-routing': {
    network: '10.246.0.0/16',
    backend: { type: 'vxlan', directRouting: true, vni: 4 },
  },
  'dual-stack': { network: '10.247.0.0/16', ipv6Network: 'fd00:10:247::/56' },
  'ipv6-only': { ipv6Network: 'fd00:10:248::/48', ipv6SubnetLen: 64 },
  'explicit-range': {
    network: '10.249.0.0/16',
    subnetLen: 26,
    subnetMin: '10.249.1.0',
    subnetMax: '10.249.8.192',
    reservedSubnets: ['10.249.2.0/24', 'fd00:1::/64'],
    ipv6Network: 'fd00:1::/56',
  },
  'small-network': { network: '192.168.7.0/28' },
};

export const INVALID_SPECS: InvalidCase[] = [
  {
    // ipaddr.js reads 010 as octal (8.244.0.0/16); the strict parser refuses it everywhere.
    name: 'leading zero in an IPv4 octet',
    spec: { network: '010.244.0.0/16' },
    errors: [
      { field: 'spec.network', message: 'network must be an IPv4 CIDR such as 10.244.0.0/16' },
    ],
  },
  {
    name: 'malformed CIDR',
    spec: { network: '10.244.0/16' },
    errors: [
      { field: 'spec.network', message: 'network must be an IPv4 CIDR such as 10.244.0.0/16' },
    ],
  },
  {
    name: 'IPv6 CIDR in network',
    spec: { network: 'fd00::/56' },
    errors: [
      { field: 'spec.network', message: 'network must be an IPv4 CIDR such as 10.244.0.0/16' },
    ],
  },
  {
    name: 'non-canonical CIDR',
    spec: { network: '10.244.1.0/16' },
    errors: [
      {
        field: 'spec.network',
        message:
          'network must be in canonical form: the network address with all host bits zero, e.g. 10.244.0.0/16',
      },
    ],
  },
  {
    name: 'non-canonical IPv6 CIDR',
    spec: { ipv6Network: 'FD00:10:244::/56' },
    errors: [
      {
        field: 'spec.ipv6Network',
        message:
          'ipv6Network must be in canonical form: the network address with all host bits zero, lowercase and compressed (RFC 5952), e.g. fd00:10:244::/56',
      },
    ],
  },
  {
    name: 'network too small',
    spec: { network: '10.0.0.0/29' },
    errors: [
      {
        field: 'spec.network',
        message: 'network must be /28 or larger: it has to hold at least 4 subnets of at most /30',
      },
    ],
  },
  {
    name: 'subnetLen outside (too few subnets)',
    spec: { network: '10.244.0.0/16', subnetLen: 17 },
    errors: [
      {
        field: 'spec.subnetLen',
        message:
          'subnetLen must be at least the network prefix length + 2: a network holds at least 4 subnets',
      },
    ],
  },
  {
    name: 'subnetMin off-boundary',
    spec: { network: '10.244.0.0/16', subnetMin: '10.244.1.5' },
    errors: [
      {
        field: 'spec.subnetMin',
        message: 'subnetMin must be the first address of a subnet (aligned to subnetLen)',
      },
    ],
  },
  {
    name: 'subnetMax outside',
    spec: { network: '10.244.0.0/16', subnetMax: '10.245.0.0' },
    errors: [{ field: 'spec.subnetMax', message: 'subnetMax must lie inside network' }],
  },
  {
    name: 'subnetMin greater than subnetMax',
    spec: { network: '10.244.0.0/16', subnetMin: '10.244.9.0', subnetMax: '10.244.3.0' },
    errors: [
      {
        field: 'spec.subnetMax',
        message:
          'subnetMin must not be greater than subnetMax (defaults: the second and the last subnet)',
      },
    ],
  },
  {
    name: 'subnetMax below the default subnetMin',
    spec: { network: '10.244.0.0/16', subnetMax: '10.244.0.0' },
    errors: [
      {
        field: 'spec.subnetMax',
        message:
          'subnetMin must not be greater than subnetMax (defaults: the second and the last subnet)',
      },
    ],
  },
  {
    name: 'IPv6 subnetMin greater than subnetMax',
    spec: {
      ipv6Network: 'fd00:10:244::/56',
      ipv6SubnetMin: 'fd00:10:244:9::',
      ipv6SubnetMax: 'fd00:10:244:3::',
    },
    errors: [
      {
        field: 'spec.ipv6SubnetMax',
        message:
          'ipv6SubnetMin must not be greater than ipv6SubnetMax (defaults: the second and the last subnet)',
      },
    ],
  },
  {
    name: 'missing both networks',
    spec: {},
    errors: [{ field: 'spec', message: 'at least one of network or ipv6Network must be set' }],
  },
  {
    name: 'subnetLen without network',
    spec: { ipv6Network: 'fd00::/56', subnetLen: 24 },
    errors: [
      { field: 'spec.network', message: 'subnetLen, subnetMin and subnetMax require network' },
    ],
  },
  {
    name: 'directRouting with host-gw',
    spec: { network: '10.244.0.0/16', backend: { type: 'host-gw', directRouting: true } },
    errors: [
      { field: 'spec.backend.directRouting', message: 'directRouting requires backend type vxlan' },
    ],
  },
  {
    name: 'gbp with host-gw',
    spec: { network: '10.244.0.0/16', backend: { type: 'host-gw', gbp: true } },
    errors: [{ field: 'spec.backend.gbp', message: 'gbp requires backend type vxlan' }],
  },
  {
    name: 'reserved subnet outside the network',
    spec: { network: '10.244.0.0/16', reservedSubnets: ['10.245.0.0/24'] },
    errors: [
      {
        field: 'spec.reservedSubnets',
        message: 'reservedSubnets entries must lie inside network (IPv4) or ipv6Network (IPv6)',
      },
    ],
  },
  {
    name: 'reserved subnet not canonical',
    spec: { network: '10.244.0.0/16', reservedSubnets: ['10.244.0.1/24'] },
    errors: [
      {
        field: 'spec.reservedSubnets[0]',
        message: 'reservedSubnets entries must be CIDRs in canonical form (host bits zero)',
      },
    ],
  },
];

/** Updates: `from` is accepted, then `to` must be rejected with `errors`. */
export interface TransitionCase {
  name: string;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
  errors: Array<{ field: string; message: string }>;
}

export const INVALID_TRANSITIONS: TransitionCase[] = [
  {
    name: 'backend type change',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/16', backend: { type: 'host-gw' } },
    errors: [
      {
        field: 'spec.backend.type',
        message: 'backend type is immutable: create a new FlannelNetwork to switch backends',
      },
    ],
  },
  {
    name: 'shrinking network',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/17' },
    errors: [
      {
        field: 'spec.network',
        message: 'network cannot shrink: the new prefix length must not be longer than the old one',
      },
    ],
  },
  {
    name: 'moving network',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.245.0.0/16' },
    errors: [
      {
        field: 'spec.network',
        message: 'network cannot move: the new network must contain the old one',
      },
    ],
  },
  {
    name: 'removing network',
    from: { network: '10.244.0.0/16', ipv6Network: 'fd00::/56' },
    to: { ipv6Network: 'fd00::/56' },
    errors: [{ field: 'spec.network', message: 'network cannot be removed once set' }],
  },
  {
    name: 'changing subnetLen',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/16', subnetLen: 25 },
    errors: [
      {
        field: 'spec.subnetLen',
        message:
          'subnetLen cannot change once set (to grow network, set subnetLen explicitly to the old effective value)',
      },
    ],
  },
  {
    name: 'growing a small network changes the default subnetLen',
    from: { network: '10.244.0.0/24' },
    to: { network: '10.244.0.0/23' },
    errors: [
      {
        field: 'spec.subnetLen',
        message:
          'subnetLen cannot change once set (to grow network, set subnetLen explicitly to the old effective value)',
      },
    ],
  },
];

export const VALID_TRANSITIONS: Array<{
  name: string;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
}> = [
  { name: 'growing network', from: { network: '10.244.0.0/16' }, to: { network: '10.244.0.0/15' } },
  {
    name: 'growing a small network with subnetLen pinned',
    from: { network: '10.244.0.0/24' },
    to: { network: '10.244.0.0/23', subnetLen: 26 },
  },
  {
    name: 'adding IPv6',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/16', ipv6Network: 'fd00::/56' },
  },
  {
    name: 'changing MTU and range',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/16', subnetMin: '10.244.10.0', backend: { mtu: 1400 } },
  },
];
