import { z } from 'zod';
import { backendTypeSchema } from './flannel-network.js';
import { conditionSchema, conditionsMeta, type ObjectMeta } from './common.js';
import { withRules, type Rule } from './rules.js';
import { dnsLabelRule, dnsSubdomainRule } from './common.js';
import {
  celIsCanonicalCidr,
  celIsCidrOf,
  celIsIpOf,
  cidrRangeRules,
  isCanonicalCidr,
  isCidrOf,
  isIpOf,
  unicastRule,
} from './cel.js';
import type { Family } from '../ipam/cidr.js';
import { wireguardKeyRules } from './wireguard-key.js';

/**
 * SubnetLease: the subnet one node holds in one FlannelNetwork.
 * `spec` is written by the controller (or by `kubectl flannel migrate`), `status` by the node's agent.
 * Names, network and subnets never change once written: a different subnet is a new lease.
 */

const immutable = (field: string): Rule<string>[] => [
  {
    rule: 'self == oldSelf',
    message: `${field} is immutable`,
    transition: (self, old) => self === old,
  },
];

const subnetRules = (field: string, family: Family): Rule<string>[] => [
  {
    rule: `${celIsCidrOf('self', family)} && ${celIsCanonicalCidr('self')}`,
    message: `${field} must be an IPv${family} CIDR in canonical form (host bits zero)`,
    check: (s) => isCidrOf(s, family) && isCanonicalCidr(s),
  },
  ...cidrRangeRules(field, family),
];

type LeaseSpecShape = { subnet?: string | undefined; ipv6Subnet?: string | undefined };

const leaseSpecRules: Rule<LeaseSpecShape>[] = (['subnet', 'ipv6Subnet'] as const).map((f) => ({
  rule: `!has(oldSelf.${f}) || (has(self.${f}) && self.${f} == oldSelf.${f})`,
  message: `${f} is immutable once set`,
  reason: 'FieldValueForbidden' as const,
  fieldPath: `.${f}`,
  transition: (self: LeaseSpecShape, old: LeaseSpecShape) =>
    old[f] === undefined || self[f] === old[f],
}));

export const subnetLeaseSpecSchema = withRules(
  z.object({
    nodeName: withRules(
      z.string().min(1).max(253),
      [...immutable('nodeName'), dnsSubdomainRule('nodeName', 'a Node name')],
      {
        description: 'Node holding the subnet. Immutable.',
      },
    ),
    networkName: withRules(
      z.string().min(1).max(253),
      [...immutable('networkName'), dnsLabelRule('networkName', 'a FlannelNetwork name')],
      { description: 'FlannelNetwork the subnet belongs to. Immutable.' },
    ),
    subnet: withRules(z.string().max(64), subnetRules('subnet', 4), {
      description: 'IPv4 subnet, e.g. 10.244.3.0/24. Immutable once set.',
    }).optional(),
    ipv6Subnet: withRules(z.string().max(64), subnetRules('ipv6Subnet', 6), {
      description: 'IPv6 subnet, e.g. fd00:10:244:3::/64. Immutable once set.',
    }).optional(),
  }),
  leaseSpecRules,
  { description: 'Written by the controller.' },
);
export type SubnetLeaseSpec = z.infer<typeof subnetLeaseSpecSchema>;

const ipRules = (field: string, family: Family): Rule<string>[] => [
  {
    rule: celIsIpOf('self', family),
    message: `${field} must be an IPv${family} address`,
    check: (s) => isIpOf(s, family),
  },
  unicastRule(field, family),
];

const MAC = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';
const macRules = (field: string): Rule<string>[] => [
  {
    rule: `self.matches('${MAC}')`,
    message: `${field} must be a MAC address such as 0a:58:0a:f4:01:01`,
    check: (s) => new RegExp(MAC).test(s),
  },
];

export const subnetLeaseStatusSchema = z
  .object({
    observedGeneration: z.number().int().optional(),
    conditions: z.array(conditionSchema).max(16).optional().meta(conditionsMeta),
    publicIP: withRules(z.string().max(64), ipRules('publicIP', 4), {
      description: 'Underlay address other nodes send to (node InternalIP unless overridden).',
    }).optional(),
    publicIPv6: withRules(z.string().max(64), ipRules('publicIPv6', 6), {
      description: 'IPv6 underlay address other nodes send to.',
    }).optional(),
    backend: z
      .object({
        type: backendTypeSchema,
        vtepMAC: withRules(z.string().max(17), macRules('vtepMAC'), {
          description:
            "MAC of this node's flannel.<vni> device; kept stable across agent restarts.",
        }).optional(),
        v6VtepMAC: withRules(z.string().max(17), macRules('v6VtepMAC'), {
          description: "MAC of this node's flannel-v6.<vni> device.",
        }).optional(),
        vni: z.number().int().min(0).max(16777215).optional(),
        publicKey: withRules(z.string().max(44), wireguardKeyRules('publicKey'), {
          description:
            "wireguard: this node's WireGuard public key (both devices use one key pair; the private key never leaves the node).",
        }).optional(),
      })
      .optional()
      .describe('Backend data peers need to reach this node.'),
  })
  .describe("Written by the node's agent.");
export type SubnetLeaseStatus = z.infer<typeof subnetLeaseStatusSchema>;

export interface SubnetLease {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: SubnetLeaseSpec;
  status?: SubnetLeaseStatus;
}

export const SUBNET_LEASE_SPEC_RULES = { spec: leaseSpecRules };

/**
 * Condition types a node's agent writes on its own lease. Every other type (SubnetConflict,
 * BackendRejected) is the controller's: the chart's ValidatingAdmissionPolicy keeps agents from
 * adding, changing or removing those.
 */
export const AGENT_CONDITION_TYPES = ['Ready', 'ForwardingBlocked'] as const;

export { BACKEND_REJECTED } from './group.js';
