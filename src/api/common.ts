import { z } from 'zod';

/** metav1.Condition, as kstatus, `kubectl wait` and Argo CD read it. */
export const conditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().min(0).optional(),
  lastTransitionTime: z.string(),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof conditionSchema>;

/** Schema metadata for a `conditions` list: a map keyed by type, so server-side apply merges per condition. */
export const conditionsMeta = {
  description: 'Standard conditions (Ready, Reconciling, Degraded) with observedGeneration.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

/** metav1.LabelSelector. */
export const labelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z.object({
          key: z.string(),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.array(z.string()).optional().meta({ 'x-kubernetes-list-type': 'atomic' }),
        }),
      )
      .optional()
      .meta({ 'x-kubernetes-list-type': 'atomic' }),
  })
  // Like metav1.LabelSelector: replaced as a whole by server-side apply.
  .meta({ 'x-kubernetes-map-type': 'atomic' });
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** The bits of ObjectMeta the operator reads; the API server owns the rest. */
export interface ObjectMeta {
  name?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}
