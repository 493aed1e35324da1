import type { ParseArgsConfig } from 'node:util';
import { EXIT_USAGE } from '../../cmd/flags.js';
import { CliError } from './errors.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command that talks to the API server understands. */
export const KUBE_FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
} as const satisfies Options;

export const OUTPUT_FLAG = {
  output: { type: 'string', short: 'o' },
} as const satisfies Options;

export function outputFormat(
  value: string | undefined,
  allowed: readonly OutputFormat[] = OUTPUT_FORMATS,
): OutputFormat {
  const v = (value ?? 'table') as OutputFormat;
  if (!allowed.includes(v)) {
    throw new CliError(
      `unknown output format "${value}": use one of ${allowed.join('|')}`,
      'ECLI_OUTPUT_FORMAT',
      EXIT_USAGE,
    );
  }
  return v;
}
