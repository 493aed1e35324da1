import { z } from 'zod';
import { conditionSchema, labelSelectorSchema, type ObjectMeta } from './common.js';

/**
 * FlannelNetwork: one pod network (v4 and optionally v6) and how nodes reach each other in it.
 * Cluster-scoped. The operator never writes `spec`; only `status`.
 * CEL rules for admission are attached by the CRD generator (see crd.ts).
 */
export const backendTypeSchema = z.enum(['vxlan', 'host-gw']);
export type BackendType = z.infer<typeof backendTypeSchema>;

export const backendSchema = z.object({
  /** vxlan encapsulates; host-gw routes via the node IPs and needs all nodes on one L2 segment. */
  type: backendTypeSchema.default('vxlan'),
  /** VXLAN network identifier; the device is named flannel.<vni>. */
  vni: z.number().int().min(1).max(16777215).default(1),
  /** VXLAN UDP port (Linux default 8472; IANA 4789). */
  port: z.number().int().min(1).max(65535).default(8472),
  /** Pod MTU. When unset: underlay MTU minus the encapsulation overhead (50 for vxlan). */
  mtu: z.number().int().min(576).max(65535).optional(),
  /** vxlan only: route directly (host-gw style) to peers on the same L2 subnet. */
  directRouting: z.boolean().default(false),
  /** vxlan only: VXLAN Group Based Policy extension. */
  gbp: z.boolean().default(false),
});
export type Backend = z.infer<typeof backendSchema>;

export const netpolSchema = z.object({
  /** Run the kube-network-policies sidecar next to the agent. */
  enabled: z.boolean().default(false),
  image: z.string().optional(),
  args: z.array(z.string()).optional(),
});
export type Netpol = z.infer<typeof netpolSchema>;

export const flannelNetworkSpecSchema = z.object({
  /** IPv4 pod network, e.g. 10.244.0.0/16. */
  network: z.string().optional(),
  /** Per-node subnet prefix length. Default: 24 if the network is /22 or larger, else network prefix + 2. */
  subnetLen: z.number().int().min(1).max(32).optional(),
  /** First subnet handed out (network address of a subnet). Default: the second subnet. */
  subnetMin: z.string().optional(),
  /** Last subnet handed out. Default: the last subnet. */
  subnetMax: z.string().optional(),
  /** IPv6 pod network, e.g. fd00:10:244::/56. */
  ipv6Network: z.string().optional(),
  ipv6SubnetLen: z.number().int().min(1).max(128).optional(),
  ipv6SubnetMin: z.string().optional(),
  ipv6SubnetMax: z.string().optional(),
  /** Subnets never handed out (CIDRs inside the network). */
  reservedSubnets: z.array(z.string()).optional(),
  backend: backendSchema.prefault({}),
  /** Masquerade traffic leaving the pod network. */
  ipMasq: z.boolean().default(true),
  /** Nodes this network serves. Empty selects every node. Networks must not overlap in nodes. */
  nodeSelector: labelSelectorSchema.optional(),
  netpol: netpolSchema.prefault({}),
});
export type FlannelNetworkSpec = z.infer<typeof flannelNetworkSpecSchema>;

export const flannelNetworkStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
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
