import { z } from 'zod';
import { withRules, type Rule } from './rules.js';

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

// Name grammars of Kubernetes (apimachinery validation). `[.]`, not `\\.`: one text for CEL and JS.
const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = `${DNS_LABEL}([.]${DNS_LABEL})*`;
const LABEL_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const LABEL_KEY = `^(${DNS_SUBDOMAIN}/)?${LABEL_NAME}$`;
const LABEL_VALUE = `^(${LABEL_NAME})?$`;
const MAX_LABEL_KEY = 317; // 253 (prefix) + '/' + 63 (name)

/** CEL + twin: the label key grammar, prefix at most 253 characters. */
const celLabelKey = (e: string) =>
  `(${e}.matches('${LABEL_KEY}') && (!${e}.contains('/') || ${e}.lastIndexOf('/') <= 253))`;
const isLabelKey = (k: string) =>
  new RegExp(LABEL_KEY).test(k) && (!k.includes('/') || k.lastIndexOf('/') <= 253);

const LABEL_KEY_HELP =
  "an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
const LABEL_VALUE_HELP =
  "empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

export function dnsSubdomainRule(field: string, what: string): Rule<string> {
  return {
    rule: `self.matches('^${DNS_SUBDOMAIN}$')`,
    message: `${field} must be ${what}: a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)`,
    check: (s) => new RegExp(`^${DNS_SUBDOMAIN}$`).test(s),
  };
}

export function dnsLabelRule(field: string, what: string): Rule<string> {
  return {
    rule: `size(self) <= 63 && self.matches('^${DNS_LABEL}$')`,
    message: `${field} must be ${what}: a DNS label (lowercase letters, digits and '-', at most 63 characters)`,
    check: (s) => s.length <= 63 && new RegExp(`^${DNS_LABEL}$`).test(s),
  };
}

const labelKey = (field: string) =>
  withRules(z.string().max(MAX_LABEL_KEY), [
    {
      rule: celLabelKey('self'),
      message: `${field} must be a label key: ${LABEL_KEY_HELP}`,
      check: isLabelKey,
    },
  ]);
const labelValue = (field: string) =>
  withRules(z.string().max(63), [
    {
      rule: `self.matches('${LABEL_VALUE}')`,
      message: `${field} must be a label value: ${LABEL_VALUE_HELP}`,
      check: (v) => new RegExp(LABEL_VALUE).test(v),
    },
  ]);

type ExpressionShape = { operator: string; values?: string[] | undefined };
const SET_OPERATORS = ['In', 'NotIn'];
const expressionRules: Rule<ExpressionShape>[] = [
  {
    rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
    message: 'values must not be empty with operator In or NotIn (it would match nothing)',
    fieldPath: '.values',
    check: (e) => !SET_OPERATORS.includes(e.operator) || (e.values ?? []).length > 0,
  },
  {
    rule: "self.operator in ['In', 'NotIn'] || !has(self.values) || size(self.values) == 0",
    message: 'values must be empty with operator Exists or DoesNotExist',
    fieldPath: '.values',
    check: (e) => SET_OPERATORS.includes(e.operator) || (e.values ?? []).length === 0,
  },
];

/** metav1.LabelSelector, validated like the API server validates one in a built-in object. */
export const labelSelectorSchema = z
  .object({
    // Both rules on the map: the API server reports a map value's path as `matchLabels[key]`.
    matchLabels: withRules(
      z.record(z.string(), z.string().max(63)),
      [
        {
          rule: `self.all(k, size(k) <= ${MAX_LABEL_KEY} && ${celLabelKey('k')})`,
          message: `matchLabels keys must be label keys: ${LABEL_KEY_HELP}`,
          check: (m) => Object.keys(m).every((k) => k.length <= MAX_LABEL_KEY && isLabelKey(k)),
        },
        {
          rule: `self.all(k, self[k].matches('${LABEL_VALUE}'))`,
          message: `matchLabels values must be label values: ${LABEL_VALUE_HELP}`,
          check: (m) => Object.values(m).every((v) => new RegExp(LABEL_VALUE).test(v)),
        },
      ],
      { maxProperties: 64 },
    ).optional(),
    matchExpressions: z
      .array(
        withRules(
          z.object({
            key: labelKey('key'),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z
              .array(labelValue('values'))
              .max(64)
              .optional()
              .meta({ 'x-kubernetes-list-type': 'atomic' }),
          }),
          expressionRules,
        ),
      )
      .max(32)
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
