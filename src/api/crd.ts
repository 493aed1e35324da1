import { z } from 'zod';
import { GROUP, VERSION, FLANNEL_NETWORK, SUBNET_LEASE } from './group.js';
import {
  flannelNetworkRootRules,
  flannelNetworkSpecSchema,
  flannelNetworkStatusSchema,
} from './flannel-network.js';
import { subnetLeaseSpecSchema, subnetLeaseStatusSchema } from './subnet-lease.js';
import { toCel } from './rules.js';
import { FlannelOperatorError } from '../errors.js';

/**
 * CustomResourceDefinitions generated from the zod schemas. Pure: returns objects; the `crds`
 * command writes them. zod emits JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3
 * schema, so `toStructural` rewrites it and refuses anything it cannot express.
 */

export class StructuralSchemaError extends FlannelOperatorError {
  readonly code = 'ECRD_NOT_STRUCTURAL';
}

export type JsonSchema = { [key: string]: unknown };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SAFE_INT = Number.MAX_SAFE_INTEGER;

/** Keys copied as they are. Everything else is either rewritten below or rejected. */
const PASSTHROUGH = new Set([
  'type',
  'description',
  'default',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'minProperties',
  'maxProperties',
  'nullable',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
]);

/** Rewrites zod's JSON Schema into a structural OpenAPI v3 schema (see the CRD docs). */
export function toStructural(schema: JsonSchema, path = '$'): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case '$schema':
      case 'propertyNames': // map keys are always strings in Kubernetes
        break;
      case 'properties': {
        const props: JsonSchema = {};
        for (const [name, sub] of Object.entries(value as Record<string, JsonSchema>)) {
          props[name] = toStructural(sub, `${path}.${name}`);
        }
        out.properties = props;
        break;
      }
      case 'required':
        if (Array.isArray(value) && value.length > 0) out.required = value;
        break;
      case 'additionalProperties':
        // false: unknown fields are pruned by the API server anyway; a schema: a map.
        if (typeof value === 'object' && value !== null) {
          out.additionalProperties = toStructural(value as JsonSchema, `${path}.*`);
        }
        break;
      case 'items':
        if (Array.isArray(value))
          throw new StructuralSchemaError(`${path}: tuple arrays are not structural`);
        out.items = toStructural(value as JsonSchema, `${path}[]`);
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        // JSON Schema 2020-12 puts the bound here; OpenAPI v3.0 wants a boolean flag.
        out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
        out[key] = true;
        break;
      default:
        if (!PASSTHROUGH.has(key)) {
          throw new StructuralSchemaError(
            `${path}: "${key}" cannot be expressed in a structural schema`,
          );
        }
        out[key] = value;
    }
  }
  if (typeof out.type !== 'string' && out['x-kubernetes-int-or-string'] !== true) {
    throw new StructuralSchemaError(`${path}: every node needs a type`);
  }
  if (out.type === 'integer') {
    if (out.minimum === -SAFE_INT) delete out.minimum;
    if (out.maximum === SAFE_INT) delete out.maximum;
    const int32 =
      typeof out.minimum === 'number' &&
      typeof out.maximum === 'number' &&
      out.minimum >= INT32_MIN &&
      out.maximum <= INT32_MAX;
    out.format ??= int32 ? 'int32' : 'int64';
  }
  return out;
}

export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  // 'input': fields with defaults stay optional; the API server fills the defaults in.
  return toStructural(z.toJSONSchema(schema, { io: 'input' }) as JsonSchema);
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Cluster' | 'Namespaced';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields?: Array<{ jsonPath: string }>;
      schema: { openAPIV3Schema: JsonSchema };
    }>;
  };
}

const CATEGORIES = ['flannel'];

function rootSchema(
  description: string,
  spec: z.ZodType,
  status: z.ZodType,
  extra: JsonSchema = {},
  nameMaxLength = 253,
  statusDefault?: JsonSchema,
): JsonSchema {
  return {
    description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // Only name/generateName may be constrained; the bound also keeps CEL costs estimable.
      metadata: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: nameMaxLength } },
      },
      spec: jsonSchemaOf(spec),
      status: statusDefault
        ? { ...jsonSchemaOf(status), default: statusDefault }
        : jsonSchemaOf(status),
    },
    ...extra,
  };
}

function crd(
  names: {
    kind: string;
    listKind: string;
    plural: string;
    singular: string;
    shortNames: readonly string[];
  },
  version: CustomResourceDefinition['spec']['versions'][number],
): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'flannel-operator' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
        categories: CATEGORIES,
      },
      scope: 'Cluster',
      versions: [version],
    },
  };
}

const READY = '.status.conditions[?(@.type=="Ready")].status';
const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export function flannelNetworkCrd(): CustomResourceDefinition {
  return crd(FLANNEL_NETWORK, {
    name: VERSION,
    served: true,
    storage: true,
    subresources: { status: {} },
    additionalPrinterColumns: [
      { name: 'Network', type: 'string', jsonPath: '.spec.network' },
      { name: 'IPv6 Network', type: 'string', jsonPath: '.spec.ipv6Network', priority: 1 },
      { name: 'Backend', type: 'string', jsonPath: '.spec.backend.type' },
      { name: 'VNI', type: 'integer', jsonPath: '.spec.backend.vni' },
      { name: 'Allocated', type: 'integer', jsonPath: '.status.allocated' },
      { name: 'Free', type: 'integer', jsonPath: '.status.free' },
      { name: 'Ready', type: 'string', jsonPath: READY },
      AGE,
    ],
    schema: {
      openAPIV3Schema: rootSchema(
        'FlannelNetwork is one pod network and how nodes reach each other in it.',
        flannelNetworkSpecSchema,
        flannelNetworkStatusSchema,
        { 'x-kubernetes-validations': toCel(flannelNetworkRootRules) },
        63,
        // kstatus reads an object with no status at all as Current; "observed 0 < generation 1"
        // keeps a GitOps health check InProgress until the controller has reconciled it once.
        { observedGeneration: 0 },
      ),
    },
  });
}

export function subnetLeaseCrd(): CustomResourceDefinition {
  return crd(SUBNET_LEASE, {
    name: VERSION,
    served: true,
    storage: true,
    subresources: { status: {} },
    additionalPrinterColumns: [
      { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
      { name: 'Network', type: 'string', jsonPath: '.spec.networkName' },
      { name: 'Subnet', type: 'string', jsonPath: '.spec.subnet' },
      { name: 'IPv6 Subnet', type: 'string', jsonPath: '.spec.ipv6Subnet', priority: 1 },
      { name: 'Public IP', type: 'string', jsonPath: '.status.publicIP' },
      { name: 'Backend', type: 'string', jsonPath: '.status.backend.type' },
      { name: 'Ready', type: 'string', jsonPath: READY, priority: 1 },
      AGE,
    ],
    selectableFields: [{ jsonPath: '.spec.nodeName' }, { jsonPath: '.spec.networkName' }],
    schema: {
      openAPIV3Schema: rootSchema(
        'SubnetLease is the subnet one node holds in one FlannelNetwork.',
        subnetLeaseSpecSchema,
        subnetLeaseStatusSchema,
      ),
    },
  });
}

/** All CRDs of the operator, in install order. */
export function crds(): CustomResourceDefinition[] {
  return [flannelNetworkCrd(), subnetLeaseCrd()];
}
