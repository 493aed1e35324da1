import { z } from 'zod';
import { backendTypeSchema } from './flannel-network.js';
import { conditionSchema, type ObjectMeta } from './common.js';

/**
 * SubnetLease: the subnet one node holds in one FlannelNetwork.
 * `spec` is written by the controller (or by `kubectl flannel migrate`), `status` by the node's agent.
 */
export const subnetLeaseSpecSchema = z.object({
  nodeName: z.string().min(1),
  networkName: z.string().min(1),
  /** IPv4 subnet, e.g. 10.244.3.0/24. */
  subnet: z.string().optional(),
  ipv6Subnet: z.string().optional(),
});
export type SubnetLeaseSpec = z.infer<typeof subnetLeaseSpecSchema>;

export const subnetLeaseStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
  /** Underlay address other nodes send to (node InternalIP unless overridden). */
  publicIP: z.string().optional(),
  publicIPv6: z.string().optional(),
  backend: z
    .object({
      type: backendTypeSchema,
      /** MAC of this node's flannel.<vni> device; kept stable across agent restarts. */
      vtepMAC: z.string().optional(),
      v6VtepMAC: z.string().optional(),
      vni: z.number().int().optional(),
    })
    .optional(),
});
export type SubnetLeaseStatus = z.infer<typeof subnetLeaseStatusSchema>;

export interface SubnetLease {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: SubnetLeaseSpec;
  status?: SubnetLeaseStatus;
}
