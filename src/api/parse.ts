import type { z } from 'zod';
import {
  FLANNEL_NETWORK_SPEC_RULES,
  flannelNetworkRootRules,
  flannelNetworkSpecSchema,
  flannelNetworkStatusSchema,
  type FlannelNetwork,
} from './flannel-network.js';
import {
  SUBNET_LEASE_SPEC_RULES,
  subnetLeaseSpecSchema,
  subnetLeaseStatusSchema,
  type SubnetLease,
} from './subnet-lease.js';
import { checkTransitions } from './rules.js';
import type { ObjectMeta } from './common.js';
import { FlannelOperatorError } from '../errors.js';

/**
 * Parsing of objects read from the API server (or files): defaults applied, the same rules as
 * admission checked, and one typed error listing every problem with its field path.
 */
export interface ValidationIssue {
  /** Dotted path, e.g. `spec.subnetMin`. */
  path: string;
  message: string;
}

export class ApiValidationError extends FlannelOperatorError {
  override readonly name = 'ApiValidationError';
  readonly code = 'EAPI_INVALID';
  constructor(
    readonly kind: string,
    readonly objectName: string | undefined,
    readonly issues: ValidationIssue[],
  ) {
    super(
      `${kind}${objectName ? ` "${objectName}"` : ''} is invalid: ${issues
        .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
        .join('; ')}`,
    );
  }
}

type Obj = {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: unknown;
  spec?: unknown;
  status?: unknown;
};

function issuesOf(prefix: string, error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
}

function parseObject<Spec, Status>(
  kind: string,
  obj: unknown,
  spec: z.ZodType<Spec>,
  status: z.ZodType<Status>,
  extra: (o: Obj, meta: ObjectMeta) => ValidationIssue[],
): { apiVersion?: string; kind?: string; metadata: ObjectMeta; spec: Spec; status?: Status } {
  if (typeof obj !== 'object' || obj === null) {
    throw new ApiValidationError(kind, undefined, [{ path: '', message: 'not an object' }]);
  }
  const o = obj as Obj;
  const metadata = (
    typeof o.metadata === 'object' && o.metadata !== null ? o.metadata : {}
  ) as ObjectMeta;
  const issues: ValidationIssue[] = [...extra(o, metadata)];
  const s = spec.safeParse(o.spec);
  if (!s.success) issues.push(...issuesOf('spec', s.error));
  let st: z.ZodSafeParseResult<Status> | undefined;
  if (o.status !== undefined) {
    st = status.safeParse(o.status);
    if (!st.success) issues.push(...issuesOf('status', st.error));
  }
  if (issues.length > 0 || !s.success) throw new ApiValidationError(kind, metadata.name, issues);
  return {
    ...(typeof o.apiVersion === 'string' ? { apiVersion: o.apiVersion } : {}),
    ...(typeof o.kind === 'string' ? { kind: o.kind } : {}),
    metadata,
    spec: s.data,
    ...(st?.success ? { status: st.data } : {}),
  };
}

/** A FlannelNetwork with defaults applied; throws ApiValidationError listing every problem. */
export function parseFlannelNetwork(obj: unknown): FlannelNetwork {
  return parseObject(
    'FlannelNetwork',
    obj,
    flannelNetworkSpecSchema,
    flannelNetworkStatusSchema,
    (_o, meta) =>
      flannelNetworkRootRules
        .filter((r) => r.check && !r.check({ metadata: meta }))
        .map((r) => ({ path: 'metadata.name', message: r.message })),
  );
}

/** A SubnetLease with defaults applied; throws ApiValidationError listing every problem. */
export function parseSubnetLease(obj: unknown): SubnetLease {
  return parseObject('SubnetLease', obj, subnetLeaseSpecSchema, subnetLeaseStatusSchema, () => []);
}

/** Messages of the update rules (transition rules) `next` breaks relative to `prev`. */
export function flannelNetworkUpdateProblems(prev: FlannelNetwork, next: FlannelNetwork): string[] {
  return [
    ...checkTransitions(FLANNEL_NETWORK_SPEC_RULES.spec, next.spec, prev.spec),
    ...checkTransitions(
      FLANNEL_NETWORK_SPEC_RULES.backendType,
      next.spec.backend.type,
      prev.spec.backend.type,
    ),
  ];
}

export function subnetLeaseUpdateProblems(prev: SubnetLease, next: SubnetLease): string[] {
  const out = checkTransitions(SUBNET_LEASE_SPEC_RULES.spec, next.spec, prev.spec);
  if (next.spec.nodeName !== prev.spec.nodeName) out.push('nodeName is immutable');
  if (next.spec.networkName !== prev.spec.networkName) out.push('networkName is immutable');
  return out;
}
