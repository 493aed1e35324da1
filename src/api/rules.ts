import type { z } from 'zod';

/**
 * Admission rules live next to the schemas they guard. Each rule is written twice, on purpose:
 * as CEL (enforced by the API server through `x-kubernetes-validations` in the generated CRD) and
 * as a JS twin (enforced by zod when the operator parses an object, e.g. one created before a
 * rule existed). Both sides share the same message, so users see one wording everywhere.
 */
export type RuleReason =
  'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

export interface Rule<T> {
  /** CEL expression; `self` is the value at the node the rule is attached to. */
  rule: string;
  message: string;
  reason?: RuleReason;
  /** Field the error is reported on, relative to the node (e.g. `.subnetMin`). */
  fieldPath?: string;
  /** JS twin of a rule that reads only `self`. */
  check?: (self: T) => boolean;
  /** JS twin of a transition rule (one that reads `oldSelf`; runs on updates only). */
  transition?: (self: T, oldSelf: T) => boolean;
}

export interface CelValidation {
  rule: string;
  message: string;
  reason?: RuleReason;
  fieldPath?: string;
}

export function toCel<T>(rules: readonly Rule<T>[]): CelValidation[] {
  return rules.map(({ rule, message, reason, fieldPath }) => ({
    rule,
    message,
    ...(reason ? { reason } : {}),
    ...(fieldPath ? { fieldPath } : {}),
  }));
}

/**
 * Attaches rules to a schema: CEL into its metadata (read by the CRD generator), the JS twins
 * as a zod refinement. Extra metadata (description, list types) goes into the same `.meta()`.
 */
export function withRules<S extends z.ZodType>(
  schema: S,
  rules: readonly Rule<z.output<S>>[],
  meta: Record<string, unknown> = {},
): S {
  const checked = rules.filter((r) => r.check);
  const refined =
    checked.length === 0
      ? schema
      : (schema.superRefine((value, ctx) => {
          for (const r of checked) {
            if (r.check!(value)) continue;
            ctx.addIssue({
              code: 'custom',
              message: r.message,
              path: r.fieldPath ? fieldPathToPath(r.fieldPath) : [],
            });
          }
        }) as S);
  return refined.meta({
    ...meta,
    ...(rules.length > 0 ? { 'x-kubernetes-validations': toCel(rules) } : {}),
  }) as S;
}

/** Runs the transition twins of `rules`; returns the messages of the rules that fail. */
export function checkTransitions<T>(rules: readonly Rule<T>[], self: T, oldSelf: T): string[] {
  return rules.filter((r) => r.transition && !r.transition(self, oldSelf)).map((r) => r.message);
}

function fieldPathToPath(fieldPath: string): string[] {
  return fieldPath.split('.').filter((p) => p.length > 0);
}
