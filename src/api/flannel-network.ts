import { z } from 'zod';
import {
  conditionSchema,
  conditionsMeta,
  dnsSubdomainRule,
  labelSelectorSchema,
  type ObjectMeta,
} from './common.js';
import { withRules, type Rule } from './rules.js';
import {
  celCidrOf,
  celIpLessOrEqual,
  celIsCanonicalCidr,
  celIsCidrOf,
  celIsIpOf,
  cidrContainsCidr,
  cidrRangeRules,
  cidrContainsIp,
  ipLessOrEqual,
  isAligned,
  isCanonicalCidr,
  isCidrOf,
  isIpOf,
  prefixOf,
} from './cel.js';
import { formatIp, tryParseCidr, tryParseIp, type Family } from '../ipam/cidr.js';
import { defaultSubnetLen, type PoolSpec } from '../ipam/config.js';
import { invalidCidrMessage } from '../ipam/text.js';

/**
 * FlannelNetwork: one pod network (IPv4, dual-stack, or IPv6-only: at least one of `network` and
 * `ipv6Network`) and how nodes reach each other in it.
 * Cluster-scoped. The operator never writes `spec`; only `status`.
 *
 * Admission rules (CEL, enforced by the API server; the same checks run in zod) sit next to the
 * fields they guard. Decisions:
 * - A network must hold at least 4 subnets (subnetLen >= network prefix + 2), like upstream.
 *   So IPv4 networks are /28 or larger (subnets at most /30: the bridge needs a gateway and pods)
 *   and IPv6 networks /124 or larger (subnets at most /126).
 * - Defaults as upstream: IPv4 subnetLen 24 when the network is /22 or larger, else prefix + 2;
 *   IPv6 subnetLen 64 when the network is /62 or larger, else prefix + 2; subnetMin = the second
 *   subnet, subnetMax = the last.
 * - The network may grow (the new CIDR must contain the old one) but never shrink, move or
 *   disappear, and the EFFECTIVE subnet length (explicit or default) never changes: existing
 *   leases stay valid. Growing a network whose default subnet length depends on its size needs
 *   subnetLen set explicitly to the old value.
 */

const MAX_ADDR_TEXT = 64;
const MAX_RESERVED = 64;

export const backendTypeSchema = z.enum(['vxlan', 'host-gw', 'wireguard']);
export type BackendType = z.infer<typeof backendTypeSchema>;

/** Upstream's wireguard modes: two tunnels (one per family), or one tunnel carrying both. */
export const wireguardModeSchema = z.enum(['separate', 'auto', 'ipv4', 'ipv6']);
export type WireguardMode = z.infer<typeof wireguardModeSchema>;
export const WIREGUARD_DEFAULTS = {
  listenPort: 51820,
  listenPortV6: 51821,
  persistentKeepaliveInterval: 0,
  mode: 'separate',
} as const;

type BackendShape = {
  type: BackendType;
  directRouting: boolean;
  gbp: boolean;
  listenPort?: number | undefined;
  listenPortV6?: number | undefined;
  persistentKeepaliveInterval?: number | undefined;
  pskSecretRef?: unknown;
  mode?: WireguardMode | undefined;
};

const WIREGUARD_FIELDS = [
  'listenPort',
  'listenPortV6',
  'persistentKeepaliveInterval',
  'pskSecretRef',
  'mode',
] as const;

const wireguardOnlyRules: Rule<BackendShape>[] = WIREGUARD_FIELDS.map((f) => ({
  rule: `!has(self.${f}) || !has(self.type) || self.type == 'wireguard'`,
  message: `${f} requires backend type wireguard`,
  fieldPath: `.${f}`,
  check: (b: BackendShape) => b[f] === undefined || b.type === 'wireguard',
}));

const backendRules: Rule<BackendShape>[] = [
  {
    rule: "!has(self.directRouting) || !self.directRouting || !has(self.type) || self.type == 'vxlan'",
    message: 'directRouting requires backend type vxlan',
    fieldPath: '.directRouting',
    check: (b) => !b.directRouting || b.type === 'vxlan',
  },
  {
    rule: "!has(self.gbp) || !self.gbp || !has(self.type) || self.type == 'vxlan'",
    message: 'gbp requires backend type vxlan',
    fieldPath: '.gbp',
    check: (b) => !b.gbp || b.type === 'vxlan',
  },
  ...wireguardOnlyRules,
  {
    // Both devices of the separate mode listen on every address: one port each.
    rule:
      `(has(self.listenPort) ? self.listenPort : ${WIREGUARD_DEFAULTS.listenPort}) != ` +
      `(has(self.listenPortV6) ? self.listenPortV6 : ${WIREGUARD_DEFAULTS.listenPortV6})`,
    message: 'listenPort and listenPortV6 must differ (defaults 51820 and 51821)',
    fieldPath: '.listenPortV6',
    check: (b) =>
      (b.listenPort ?? WIREGUARD_DEFAULTS.listenPort) !==
      (b.listenPortV6 ?? WIREGUARD_DEFAULTS.listenPortV6),
  },
];

/**
 * The pre-shared key lives in a Secret in the operator's namespace (never in the FlannelNetwork,
 * which every reader of cluster-scoped objects sees). The controller mounts it into the agent
 * pods; the agent's service account cannot read Secrets at all.
 */
export const pskSecretRefSchema = z
  .object({
    name: withRules(z.string().min(1).max(253), [
      dnsSubdomainRule('pskSecretRef.name', 'a Secret name'),
    ]),
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/)
      .default('psk')
      .describe('Key in the Secret holding the base64 key (`wg genpsk`). Default psk.'),
  })
  .describe(
    "Secret in the operator's namespace holding a WireGuard pre-shared key, mounted into the agent pods.",
  );

const backendTypeRules: Rule<BackendType>[] = [
  {
    rule: 'self == oldSelf',
    message: 'backend type is immutable: create a new FlannelNetwork to switch backends',
    transition: (self, old) => self === old,
  },
];

function port(description: string) {
  return z.number().int().min(1).max(65535).optional().describe(description);
}

export const backendSchema = withRules(
  z.object({
    type: withRules(backendTypeSchema, backendTypeRules, {
      description:
        'vxlan encapsulates; host-gw routes via the node IPs and needs all nodes on one L2 segment; wireguard encrypts (kernel WireGuard, else wireguard-go). Immutable.',
    }).default('vxlan'),
    vni: z
      .number()
      .int()
      .min(1)
      .max(16777215)
      .default(1)
      .describe('VXLAN network identifier; the device is named flannel.<vni>.'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(8472)
      .describe('VXLAN UDP port (Linux default 8472; IANA 4789).'),
    mtu: z
      .number()
      .int()
      .min(576)
      .max(65535)
      .optional()
      .describe(
        'Pod MTU. When unset: underlay MTU minus the encapsulation overhead (vxlan 50; wireguard 60 over IPv4, 80 over IPv6).',
      ),
    directRouting: z
      .boolean()
      .default(false)
      .describe('vxlan only: route directly (host-gw style) to peers on the same L2 subnet.'),
    gbp: z.boolean().default(false).describe('vxlan only: VXLAN Group Based Policy extension.'),
    listenPort: port('wireguard only: UDP port of flannel-wg (default 51820).'),
    listenPortV6: port(
      'wireguard only: UDP port of flannel-wg-v6 in the separate mode (default 51821).',
    ),
    persistentKeepaliveInterval: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe('wireguard only: seconds between keepalives to each peer; 0 (default) disables.'),
    pskSecretRef: pskSecretRefSchema.optional(),
    mode: wireguardModeSchema
      .optional()
      .describe(
        'wireguard only, dual-stack: separate (default: flannel-wg for IPv4, flannel-wg-v6 for IPv6), ' +
          'or one tunnel flannel-wg for both families reaching peers over ipv4, ipv6, or auto (IPv4 ' +
          'unless only public IPv6 addresses are on both ends).',
      ),
  }),
  backendRules,
  { description: 'How nodes reach each other.' },
);
export type Backend = z.infer<typeof backendSchema>;

/**
 * Only the switch: the sidecar runs privileged on every node, so its image and arguments come
 * from the operator's own configuration (chart values netpol.image / netpol.args -> controller
 * flags --netpol-image / --netpol-args), never from a FlannelNetwork.
 */
export const netpolSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Run the kube-network-policies sidecar next to the agent (image and args: operator configuration).',
      ),
  })
  .describe('NetworkPolicy enforcement via kube-network-policies.');
export type Netpol = z.infer<typeof netpolSchema>;

/** The spec fields of one address family; both families share the rule builders below. */
interface FamilyFields {
  family: Family;
  net: 'network' | 'ipv6Network';
  len: 'subnetLen' | 'ipv6SubnetLen';
  min: 'subnetMin' | 'ipv6SubnetMin';
  max: 'subnetMax' | 'ipv6SubnetMax';
  maxSubnetLen: number;
  defaultLen: number;
  example: string;
}

export const IPV4_FIELDS: FamilyFields = {
  family: 4,
  net: 'network',
  len: 'subnetLen',
  min: 'subnetMin',
  max: 'subnetMax',
  maxSubnetLen: 30,
  defaultLen: 24,
  example: '10.244.0.0/16',
};

export const IPV6_FIELDS: FamilyFields = {
  family: 6,
  net: 'ipv6Network',
  len: 'ipv6SubnetLen',
  min: 'ipv6SubnetMin',
  max: 'ipv6SubnetMax',
  maxSubnetLen: 126,
  defaultLen: 64,
  example: 'fd00:10:244::/56',
};

export { defaultSubnetLen };

function networkRules(f: FamilyFields): Rule<string>[] {
  const maxPrefix = f.maxSubnetLen - 2;
  return [
    {
      rule: celIsCidrOf('self', f.family),
      message: invalidCidrMessage(f.net, f.family),
      check: (s) => isCidrOf(s, f.family),
    },
    {
      rule: `!isCIDR(self) || ${celIsCanonicalCidr('self')}`,
      message: `${f.net} must be in canonical form: the network address with all host bits zero${f.family === 6 ? ', lowercase and compressed (RFC 5952)' : ''}, e.g. ${f.example}`,
      check: (s) => tryCidr(s) === undefined || isCanonicalCidr(s),
    },
    {
      rule: `!${celIsCidrOf('self', f.family)} || cidr(self).prefixLength() <= ${maxPrefix}`,
      message: `${f.net} must be /${maxPrefix} or larger: it has to hold at least 4 subnets of at most /${f.maxSubnetLen}`,
      check: (s) => !isCidrOf(s, f.family) || prefixOf(s) <= maxPrefix,
    },
    ...cidrRangeRules(f.net, f.family),
  ];
}

function addressRules(f: FamilyFields, field: string): Rule<string>[] {
  const kind = f.family === 4 ? 'IPv4' : 'IPv6';
  return [
    {
      rule:
        f.family === 4 ? celIsIpOf('self', 4) : `${celIsIpOf('self', 6)} && ip.isCanonical(self)`,
      message: `${field} must be an ${kind} address${f.family === 6 ? ' in canonical form (RFC 5952)' : ''}`,
      check: (s) => isIpOf(s, f.family) && (f.family === 4 || isCanonicalIp(s)),
    },
  ];
}

/** The pool fields the rules check: the same ones the IPAM reads. */
type SpecShape = PoolSpec & { backend?: { mode?: WireguardMode | undefined } | undefined };

function familySpecRules(f: FamilyFields): Rule<SpecShape>[] {
  const net = `self.${f.net}`;
  const len = `self.${f.len}`;
  const min = `self.${f.min}`;
  const max = `self.${f.max}`;
  // Rules that read the network only run on a valid, canonical one (else its own rule reports it).
  const validNet = `(has(${net}) && ${celIsCidrOf(net, f.family)} && ${celIsCanonicalCidr(net)})`;
  const effLen = `(has(${len}) ? ${len} : (cidr(${net}).prefixLength() <= ${f.defaultLen - 2} ? ${f.defaultLen} : cidr(${net}).prefixLength() + 2))`;
  const lenOk = `(${effLen} >= cidr(${net}).prefixLength() && ${effLen} <= ${f.family === 4 ? 32 : 128})`;
  const validAddr = (a: string) => `(has(${a}) && ${celIsIpOf(a, f.family)})`;

  // JS twins.
  const jsNet = (s: SpecShape) =>
    isCidrOf(s[f.net], f.family) && isCanonicalCidr(s[f.net]) ? s[f.net]! : undefined;
  const jsLen = (s: SpecShape, n: string) => s[f.len] ?? defaultSubnetLen(f.family, prefixOf(n));
  const jsAddr = (a: string | undefined) => (isIpOf(a, f.family) ? a : undefined);
  const jsAligned = (s: SpecShape, a: 'min' | 'max') => {
    const n = jsNet(s);
    const addr = jsAddr(s[f[a]]);
    if (!n || !addr) return true;
    const l = jsLen(s, n);
    if (l < prefixOf(n) || l > (f.family === 4 ? 32 : 128)) return true;
    return isAligned(addr, l);
  };
  const aligned = (a: string) =>
    `!${validAddr(a)} || !${validNet} || !${lenOk} || ${celCidrOf(a, effLen, f.family)}.masked().ip() == ip(${a})`;

  return [
    {
      rule: `has(${net}) || !(has(${len}) || has(${min}) || has(${max}))`,
      message: `${f.len}, ${f.min} and ${f.max} require ${f.net}`,
      reason: 'FieldValueRequired',
      fieldPath: `.${f.net}`,
      check: (s) => s[f.net] !== undefined || (s[f.len] ?? s[f.min] ?? s[f.max]) === undefined,
    },
    {
      rule: `!has(${len}) || !${validNet} || ${len} >= cidr(${net}).prefixLength() + 2`,
      message: `${f.len} must be at least the ${f.net} prefix length + 2: a network holds at least 4 subnets`,
      fieldPath: `.${f.len}`,
      check: (s) => {
        const n = jsNet(s);
        return s[f.len] === undefined || !n || s[f.len]! >= prefixOf(n) + 2;
      },
    },
    ...(['min', 'max'] as const).flatMap((which): Rule<SpecShape>[] => {
      const a = `self.${f[which]}`;
      return [
        {
          rule: `!${validAddr(a)} || !${validNet} || cidr(${net}).containsIP(${a})`,
          message: `${f[which]} must lie inside ${f.net}`,
          fieldPath: `.${f[which]}`,
          check: (s) => {
            const n = jsNet(s);
            const addr = jsAddr(s[f[which]]);
            return !n || !addr || cidrContainsIp(n, addr);
          },
        },
        {
          rule: aligned(a),
          message: `${f[which]} must be the first address of a subnet (aligned to ${f.len})`,
          fieldPath: `.${f[which]}`,
          check: (s) => jsAligned(s, which),
        },
      ];
    }),
    {
      // Without subnetMin the range starts at the second subnet, so the only subnetMax below it
      // is the network's first subnet. (`!(a == b)`, not `a != b`: the latter's cost estimate
      // on ip values is unbounded.)
      rule:
        `!${validAddr(max)} || !${validNet} || (has(${min}) ? (!${validAddr(min)} || ` +
        `${celIpLessOrEqual(min, max, f.family)}) : !(ip(${max}) == cidr(${net}).ip()))`,
      message: `${f.min} must not be greater than ${f.max} (defaults: the second and the last subnet)`,
      fieldPath: `.${f.max}`,
      check: (s) => {
        const n = jsNet(s);
        const mx = jsAddr(s[f.max]);
        if (!n || !mx) return true;
        if (s[f.min] === undefined) return tryIp(mx) !== tryCidr(n)!.addr;
        const mn = jsAddr(s[f.min]);
        return !mn || ipLessOrEqual(mn, mx);
      },
    },
    // Transitions (updates only).
    {
      rule: `!has(oldSelf.${f.net}) || has(${net})`,
      message: `${f.net} cannot be removed once set`,
      reason: 'FieldValueForbidden',
      fieldPath: `.${f.net}`,
      transition: (s, o) => o[f.net] === undefined || s[f.net] !== undefined,
    },
    {
      rule:
        `!has(oldSelf.${f.net}) || !has(${net}) || !isCIDR(oldSelf.${f.net}) || !isCIDR(${net}) || ` +
        `cidr(${net}).prefixLength() <= cidr(oldSelf.${f.net}).prefixLength()`,
      message: `${f.net} cannot shrink: the new prefix length must not be longer than the old one`,
      reason: 'FieldValueForbidden',
      fieldPath: `.${f.net}`,
      transition: (s, o) => {
        const n = tryCidr(s[f.net]);
        const old = tryCidr(o[f.net]);
        return !n || !old || n.prefix <= old.prefix;
      },
    },
    {
      rule:
        `!has(oldSelf.${f.net}) || !has(${net}) || !isCIDR(oldSelf.${f.net}) || !isCIDR(${net}) || ` +
        `cidr(${net}).prefixLength() > cidr(oldSelf.${f.net}).prefixLength() || ` +
        `cidr(${net}).containsCIDR(oldSelf.${f.net})`,
      message: `${f.net} cannot move: the new network must contain the old one`,
      reason: 'FieldValueForbidden',
      fieldPath: `.${f.net}`,
      transition: (s, o) => {
        const n = tryCidr(s[f.net]);
        const old = tryCidr(o[f.net]);
        return !n || !old || n.prefix > old.prefix || cidrContainsCidr(s[f.net]!, o[f.net]!);
      },
    },
    {
      rule:
        `!${validNet} || !(has(oldSelf.${f.net}) && ${celIsCidrOf(`oldSelf.${f.net}`, f.family)}) || ` +
        `${effLen} == ${effLen.replaceAll('self.', 'oldSelf.')}`,
      message: `${f.len} cannot change once set (to grow ${f.net}, set ${f.len} explicitly to the old effective value)`,
      reason: 'FieldValueForbidden',
      fieldPath: `.${f.len}`,
      transition: (s, o) => {
        const n = jsNet(s);
        const old = jsNet(o);
        return !n || !old || jsLen(s, n) === jsLen(o, old);
      },
    },
  ];
}

const specRules: Rule<SpecShape>[] = [
  {
    rule: 'has(self.network) || has(self.ipv6Network)',
    message: 'at least one of network or ipv6Network must be set',
    reason: 'FieldValueRequired',
    check: (s) => s.network !== undefined || s.ipv6Network !== undefined,
  },
  ...familySpecRules(IPV4_FIELDS),
  ...familySpecRules(IPV6_FIELDS),
  ...(['ipv4', 'ipv6'] as const).map((m): Rule<SpecShape> => ({
    rule: `!has(self.backend) || !has(self.backend.mode) || self.backend.mode != '${m}' || has(self.${m === 'ipv4' ? 'network' : 'ipv6Network'})`,
    message: `backend mode ${m} requires ${m === 'ipv4' ? 'network' : 'ipv6Network'}: the tunnel reaches peers over their ${m === 'ipv4' ? 'IPv4' : 'IPv6'} addresses`,
    fieldPath: '.backend.mode',
    check: (s) => s.backend?.mode !== m || (m === 'ipv4' ? s.network : s.ipv6Network) !== undefined,
  })),
  {
    rule:
      '!has(self.reservedSubnets) || self.reservedSubnets.all(r, !isCIDR(r) || ' +
      `(cidr(r).ip().family() == 4 ? (has(self.network) && ${celIsCidrOf('self.network', 4)} && cidr(self.network).containsCIDR(r)) : ` +
      `(has(self.ipv6Network) && ${celIsCidrOf('self.ipv6Network', 6)} && cidr(self.ipv6Network).containsCIDR(r))))`,
    message: 'reservedSubnets entries must lie inside network (IPv4) or ipv6Network (IPv6)',
    fieldPath: '.reservedSubnets',
    check: (s) =>
      (s.reservedSubnets ?? []).every((r) => {
        const c = tryCidr(r);
        if (!c) return true;
        const n = c.family === 4 ? s.network : s.ipv6Network;
        return n !== undefined && isCidrOf(n, c.family) && cidrContainsCidr(n, r);
      }),
  },
];

const reservedSubnetRules: Rule<string>[] = [
  {
    rule: `isCIDR(self) && ${celIsCanonicalCidr('self')}`,
    message: 'reservedSubnets entries must be CIDRs in canonical form (host bits zero)',
    check: (s) => isCanonicalCidr(s),
  },
];

const str = (max = MAX_ADDR_TEXT) => z.string().max(max);

export const flannelNetworkSpecSchema = withRules(
  z.object({
    network: withRules(str(), networkRules(IPV4_FIELDS), {
      description:
        'IPv4 pod network, e.g. 10.244.0.0/16. May grow, never shrink or move. Omit for an IPv6-only network.',
    }).optional(),
    subnetLen: z
      .number()
      .int()
      .min(1)
      .max(IPV4_FIELDS.maxSubnetLen)
      .optional()
      .describe(
        'Per-node IPv4 subnet prefix length. Default: 24 if the network is /22 or larger, else network prefix + 2.',
      ),
    subnetMin: withRules(str(), addressRules(IPV4_FIELDS, 'subnetMin'), {
      description:
        'First subnet handed out (network address of a subnet). Default: the second subnet.',
    }).optional(),
    subnetMax: withRules(str(), addressRules(IPV4_FIELDS, 'subnetMax'), {
      description: 'Last subnet handed out. Default: the last subnet.',
    }).optional(),
    ipv6Network: withRules(str(), networkRules(IPV6_FIELDS), {
      description:
        'IPv6 pod network, e.g. fd00:10:244::/56 (dual-stack with network, IPv6-only without). May grow, never shrink or move.',
    }).optional(),
    ipv6SubnetLen: z
      .number()
      .int()
      .min(1)
      .max(IPV6_FIELDS.maxSubnetLen)
      .optional()
      .describe(
        'Per-node IPv6 subnet prefix length. Default: 64 if the network is /62 or larger, else network prefix + 2.',
      ),
    ipv6SubnetMin: withRules(str(), addressRules(IPV6_FIELDS, 'ipv6SubnetMin'), {
      description: 'First IPv6 subnet handed out. Default: the second subnet.',
    }).optional(),
    ipv6SubnetMax: withRules(str(), addressRules(IPV6_FIELDS, 'ipv6SubnetMax'), {
      description: 'Last IPv6 subnet handed out. Default: the last subnet.',
    }).optional(),
    reservedSubnets: z
      .array(withRules(str(), reservedSubnetRules))
      .max(MAX_RESERVED)
      .optional()
      .meta({
        description: 'Subnets never handed out (CIDRs inside network or ipv6Network).',
        'x-kubernetes-list-type': 'set',
      }),
    backend: backendSchema.prefault({}),
    ipMasq: z.boolean().default(true).describe('Masquerade traffic leaving the pod network.'),
    nodeSelector: labelSelectorSchema
      .optional()
      .describe(
        'Nodes this network serves. Empty selects every node. Networks must not overlap in nodes.',
      ),
    netpol: netpolSchema.prefault({}),
  }),
  specRules,
  { description: 'Desired state; written by users, never by the operator.' },
);
export type FlannelNetworkSpec = z.infer<typeof flannelNetworkSpecSchema>;

export const flannelNetworkStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional().meta(conditionsMeta),
  /** Subnets the v4 network can hand out (after subnetMin/Max and reservations). */
  capacity: z.number().int().optional(),
  allocated: z.number().int().optional(),
  free: z.number().int().optional(),
  ipv6Capacity: z.string().optional(),
  ipv6Allocated: z.number().int().optional(),
  /** Effective values after defaulting, for humans and the agent. */
  effective: z
    .object({
      subnetLen: z.number().int().optional(),
      ipv6SubnetLen: z.number().int().optional(),
    })
    .optional(),
  dataplane: z
    .object({
      desired: z.number().int().optional(),
      ready: z.number().int().optional(),
      updated: z.number().int().optional(),
      configHash: z.string().optional(),
    })
    .optional(),
});
export type FlannelNetworkStatus = z.infer<typeof flannelNetworkStatusSchema>;

export interface FlannelNetwork {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: FlannelNetworkSpec;
  status?: FlannelNetworkStatus;
}

/** FlannelNetwork names are part of lease names and label values: keep them DNS labels. */
export const flannelNetworkRootRules: Rule<{ metadata: { name?: string } }>[] = [
  {
    rule: "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
    message:
      "FlannelNetwork names must be DNS labels (at most 63 lowercase letters, digits and '-'): they are part of lease names and labels",
    check: (o) =>
      o.metadata.name === undefined ||
      (o.metadata.name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.metadata.name)),
  },
];

export const FLANNEL_NETWORK_SPEC_RULES = {
  spec: specRules,
  backend: backendRules,
  backendType: backendTypeRules,
};

function tryCidr(s: unknown) {
  return tryParseCidr(s);
}
function tryIp(s: string): bigint | undefined {
  return tryParseIp(s)?.addr;
}
function isCanonicalIp(s: string): boolean {
  const p = tryParseIp(s);
  return p !== undefined && formatIp(p.family, p.addr) === s;
}
