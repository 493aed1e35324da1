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
  wireguard: { network: '10.251.0.0/16', backend: { type: 'wireguard' } },
  'wireguard, every option': {
    network: '10.252.0.0/16',
    ipv6Network: 'fd00:10:252::/56',
    backend: {
      type: 'wireguard',
      listenPort: 51000,
      listenPortV6: 51001,
      persistentKeepaliveInterval: 25,
      pskSecretRef: { name: 'flannel-wg-psk', key: 'psk' },
      mode: 'ipv6',
    },
  },
  'widest networks': { network: '10.0.0.0/8', ipv6Network: 'fd00::/32', ipv6SubnetLen: 64 },
  'valid selector': {
    network: '10.250.0.0/16',
    nodeSelector: {
      matchLabels: { 'example.com/pool': 'a', zone: '' },
      matchExpressions: [
        { key: 'node-role.kubernetes.io/worker', operator: 'Exists' },
        { key: 'pool', operator: 'In', values: ['a', 'b.c'] },
      ],
    },
  },
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
    name: 'wireguard options on vxlan',
    spec: {
      network: '10.244.0.0/16',
      backend: { type: 'vxlan', listenPort: 51820, pskSecretRef: { name: 'psk' } },
    },
    errors: [
      { field: 'spec.backend.listenPort', message: 'listenPort requires backend type wireguard' },
      {
        field: 'spec.backend.pskSecretRef',
        message: 'pskSecretRef requires backend type wireguard',
      },
    ],
  },
  {
    name: 'wireguard listenPort equal to listenPortV6',
    spec: { network: '10.244.0.0/16', backend: { type: 'wireguard', listenPort: 51821 } },
    errors: [
      {
        field: 'spec.backend.listenPortV6',
        message: 'listenPort and listenPortV6 must differ (defaults 51820 and 51821)',
      },
    ],
  },
  {
    name: 'wireguard mode ipv6 without ipv6Network',
    spec: { network: '10.244.0.0/16', backend: { type: 'wireguard', mode: 'ipv6' } },
    errors: [
      {
        field: 'spec.backend.mode',
        message:
          'backend mode ipv6 requires ipv6Network: the tunnel reaches peers over their IPv6 addresses',
      },
    ],
  },
  {
    name: 'wireguard pskSecretRef name not a Secret name',
    spec: {
      network: '10.244.0.0/16',
      backend: { type: 'wireguard', pskSecretRef: { name: 'Bad_Name' } },
    },
    errors: [
      {
        field: 'spec.backend.pskSecretRef.name',
        message:
          "pskSecretRef.name must be a Secret name: a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)",
      },
    ],
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

const net4 = (message: string) => ({ field: 'spec.network', message });
const net6 = (message: string) => ({ field: 'spec.ipv6Network', message });
const overlap4 = {
  zero: net4('network must not overlap 0.0.0.0/8 ("this network")'),
  loopback: net4('network must not overlap 127.0.0.0/8 (loopback)'),
  linkLocal: net4('network must not overlap 169.254.0.0/16 (link-local)'),
  multicast: net4('network must not overlap 224.0.0.0/4 (multicast)'),
  reserved: net4('network must not overlap 240.0.0.0/4 (reserved, with the broadcast address)'),
};
const overlap6 = {
  low: net6('ipv6Network must not overlap ::/8 (loopback, unspecified and IPv4-mapped)'),
  linkLocal: net6('ipv6Network must not overlap fe80::/10 (link-local)'),
  multicast: net6('ipv6Network must not overlap ff00::/8 (multicast)'),
};
const tooWide4 = net4('network must not be wider than /8');
const tooWide6 = net6('ipv6Network must not be wider than /32');
const selector = (nodeSelector: Record<string, unknown>) => ({
  network: '10.244.0.0/16',
  nodeSelector,
});
const LABEL_KEY_HELP =
  "an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

/** Special-purpose ranges, over-wide networks and selectors that match nothing (issue 10). */
export const INVALID_RANGES_AND_SELECTORS: InvalidCase[] = [
  {
    name: 'the whole IPv4 space',
    spec: { network: '0.0.0.0/0' },
    errors: [tooWide4, ...Object.values(overlap4)],
  },
  { name: 'wider than /8', spec: { network: '10.0.0.0/7' }, errors: [tooWide4] },
  { name: 'loopback', spec: { network: '127.0.0.0/8' }, errors: [overlap4.loopback] },
  { name: '"this network"', spec: { network: '0.0.0.0/8' }, errors: [overlap4.zero] },
  { name: 'link-local', spec: { network: '169.254.0.0/16' }, errors: [overlap4.linkLocal] },
  {
    name: 'all of multicast',
    spec: { network: '224.0.0.0/4' },
    errors: [tooWide4, overlap4.multicast],
  },
  { name: 'inside multicast', spec: { network: '239.1.0.0/16' }, errors: [overlap4.multicast] },
  { name: 'broadcast range', spec: { network: '255.255.255.0/24' }, errors: [overlap4.reserved] },
  {
    name: 'the whole IPv6 space',
    spec: { ipv6Network: '::/0' },
    errors: [tooWide6, ...Object.values(overlap6)],
  },
  {
    name: 'IPv6 loopback',
    spec: { ipv6Network: '::1/128' },
    errors: [
      net6('ipv6Network must be /124 or larger: it has to hold at least 4 subnets of at most /126'),
      overlap6.low,
    ],
  },
  {
    name: 'IPv6 multicast',
    spec: { ipv6Network: 'ff00::/8' },
    errors: [tooWide6, overlap6.multicast],
  },
  {
    name: 'IPv6 link-local',
    spec: { ipv6Network: 'fe80::/10' },
    errors: [tooWide6, overlap6.linkLocal],
  },
  {
    name: 'inside IPv6 link-local',
    spec: { ipv6Network: 'fe80::/56' },
    errors: [overlap6.linkLocal],
  },
  {
    name: 'selector In without values',
    spec: selector({ matchExpressions: [{ key: 'pool', operator: 'In' }] }),
    errors: [
      {
        field: 'spec.nodeSelector.matchExpressions[0].values',
        message: 'values must not be empty with operator In or NotIn (it would match nothing)',
      },
    ],
  },
  {
    name: 'selector NotIn with an empty list',
    spec: selector({ matchExpressions: [{ key: 'pool', operator: 'NotIn', values: [] }] }),
    errors: [
      {
        field: 'spec.nodeSelector.matchExpressions[0].values',
        message: 'values must not be empty with operator In or NotIn (it would match nothing)',
      },
    ],
  },
  {
    name: 'selector Exists with values',
    spec: selector({ matchExpressions: [{ key: 'pool', operator: 'Exists', values: ['a'] }] }),
    errors: [
      {
        field: 'spec.nodeSelector.matchExpressions[0].values',
        message: 'values must be empty with operator Exists or DoesNotExist',
      },
    ],
  },
  {
    name: 'selector with an empty key',
    spec: selector({ matchExpressions: [{ key: '', operator: 'Exists' }] }),
    errors: [
      {
        field: 'spec.nodeSelector.matchExpressions[0].key',
        message: `key must be a label key: ${LABEL_KEY_HELP}`,
      },
    ],
  },
  {
    name: 'selector with an invalid key',
    spec: selector({ matchExpressions: [{ key: 'Bad_Prefix/pool', operator: 'DoesNotExist' }] }),
    errors: [
      {
        field: 'spec.nodeSelector.matchExpressions[0].key',
        message: `key must be a label key: ${LABEL_KEY_HELP}`,
      },
    ],
  },
  {
    name: 'matchLabels with an invalid key',
    spec: selector({ matchLabels: { 'has space': 'x' } }),
    errors: [
      {
        field: 'spec.nodeSelector.matchLabels',
        message: `matchLabels keys must be label keys: ${LABEL_KEY_HELP}`,
      },
    ],
  },
  {
    name: 'matchLabels with an invalid value',
    spec: selector({ matchLabels: { pool: 'not valid!' } }),
    errors: [
      {
        field: 'spec.nodeSelector.matchLabels',
        message:
          "matchLabels values must be label values: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      },
    ],
  },
];

INVALID_SPECS.push(...INVALID_RANGES_AND_SELECTORS);

/** Updates: `from` is accepted, then `to` must be rejected with `errors`. */
export interface TransitionCase {
  name: string;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
  errors: Array<{ field: string; message: string }>;
}

export const INVALID_TRANSITIONS: TransitionCase[] = [
  {
    name: 'backend type change to wireguard',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/16', backend: { type: 'wireguard' } },
    errors: [
      {
        field: 'spec.backend.type',
        message: 'backend type is immutable: create a new FlannelNetwork to switch backends',
      },
    ],
  },
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
    name: 'shrinking an IPv6-only network',
    from: { ipv6Network: 'fd00:10::/48' },
    to: { ipv6Network: 'fd00:10::/49' },
    errors: [
      {
        field: 'spec.ipv6Network',
        message:
          'ipv6Network cannot shrink: the new prefix length must not be longer than the old one',
      },
    ],
  },
  {
    name: 'moving an IPv6-only network',
    from: { ipv6Network: 'fd00:10::/48' },
    to: { ipv6Network: 'fd00:11::/48' },
    errors: [
      {
        field: 'spec.ipv6Network',
        message: 'ipv6Network cannot move: the new network must contain the old one',
      },
    ],
  },
  {
    name: 'changing ipv6SubnetLen of an IPv6-only network',
    from: { ipv6Network: 'fd00:10::/48' },
    to: { ipv6Network: 'fd00:10::/48', ipv6SubnetLen: 80 },
    errors: [
      {
        field: 'spec.ipv6SubnetLen',
        message:
          'ipv6SubnetLen cannot change once set (to grow ipv6Network, set ipv6SubnetLen explicitly to the old effective value)',
      },
    ],
  },
  {
    name: 'swapping an IPv6-only network for an IPv4 one',
    from: { ipv6Network: 'fd00:10::/48' },
    to: { network: '10.244.0.0/16' },
    errors: [{ field: 'spec.ipv6Network', message: 'ipv6Network cannot be removed once set' }],
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
    name: 'growing an IPv6-only network',
    from: { ipv6Network: 'fd00:10::/48' },
    to: { ipv6Network: 'fd00:10::/47' },
  },
  {
    name: 'changing MTU and range',
    from: { network: '10.244.0.0/16' },
    to: { network: '10.244.0.0/16', subnetMin: '10.244.10.0', backend: { mtu: 1400 } },
  },
];
