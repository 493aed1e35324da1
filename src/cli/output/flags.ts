import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

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

export const HELP_FLAG = {
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * node:util parseArgs in strict mode, with its TypeErrors turned into UsageError (exit code 2).
 */
export function parseFlags<O extends Options>(
  argv: string[],
  options: O,
  opts: { positionals?: { min?: number; max?: number; names?: string } } = {},
): {
  values: ReturnType<
    typeof parseArgs<{ options: O; args: string[]; allowPositionals: true; strict: true }>
  >['values'];
  positionals: string[];
} {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\s*To specify a positional.*$/s, ''));
  }
  const min = opts.positionals?.min ?? 0;
  const max = opts.positionals?.max ?? 0;
  const n = parsed.positionals.length;
  if (!(parsed.values as Record<string, unknown>).help) {
    if (n < min) throw new UsageError(`missing argument: ${opts.positionals?.names ?? 'argument'}`);
    if (n > max)
      throw new UsageError(
        `unexpected argument${n - max > 1 ? 's' : ''}: ${parsed.positionals.slice(max).join(' ')}`,
      );
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

export function outputFormat(
  value: string | undefined,
  allowed: readonly OutputFormat[] = OUTPUT_FORMATS,
): OutputFormat {
  const v = (value ?? 'table') as OutputFormat;
  if (!allowed.includes(v)) {
    throw new UsageError(
      `unknown output format "${value}": use one of ${allowed.join('|')}`,
      'ECLI_OUTPUT_FORMAT',
    );
  }
  return v;
}
