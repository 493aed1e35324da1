import { z } from 'zod';
import type { DataplanePodConfig } from './daemonset.js';
import { FlannelOperatorError } from '../../errors.js';

/**
 * Agent pod settings handed from the Helm chart to the controller as JSON in the environment
 * variable FLANNEL_OPERATOR_DATAPLANE (the chart renders it from values; a change rolls the
 * controller Deployment, whose next reconcile rolls the agents).
 */
export const DATAPLANE_ENV = 'FLANNEL_OPERATOR_DATAPLANE';

export class DataplaneConfigError extends FlannelOperatorError {
  readonly code = 'EDATAPLANE_CONFIG';
}

const quantities = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));
const resources = z
  .object({ requests: quantities.optional(), limits: quantities.optional() })
  .strict();
const toleration = z
  .object({
    key: z.string().optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute', '']).optional(),
    tolerationSeconds: z.number().int().optional(),
  })
  .strict();
const port = z.number().int().min(1).max(65535);

const podConfigSchema = z
  .object({
    cniBinDir: z.string().startsWith('/').optional(),
    cniConfDir: z.string().startsWith('/').optional(),
    cniPluginBinary: z.string().startsWith('/').optional(),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    imagePullSecrets: z.array(z.string().min(1)).optional(),
    agentResources: resources.optional(),
    netpolResources: resources.optional(),
    tolerations: z.array(toleration).optional(),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    priorityClassName: z.string().min(1).optional(),
    netfilter: z.enum(['nftables', 'iptables']).optional(),
    metricsPort: port.optional(),
    healthPort: port.optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).optional(),
    extraArgs: z.array(z.string()).optional(),
  })
  .strict();

/** Parses and validates the JSON; throws DataplaneConfigError naming the bad field. */
export function parseDataplaneConfig(json: string): DataplanePodConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new DataplaneConfigError(`${DATAPLANE_ENV}: not JSON: ${(err as Error).message}`);
  }
  const r = podConfigSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new DataplaneConfigError(`${DATAPLANE_ENV}: ${issues}`);
  }
  return r.data as DataplanePodConfig;
}

/** The pod config from the environment, or {} when unset. */
export function dataplaneConfigFromEnv(env: NodeJS.ProcessEnv): DataplanePodConfig {
  const v = env[DATAPLANE_ENV];
  return v && v.trim() ? parseDataplaneConfig(v) : {};
}
