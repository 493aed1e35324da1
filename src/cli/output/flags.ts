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

/**
 * Flags of a long-running command (controller, agent): bad flags print the error and the usage
 * on stderr (exit 2), --help prints the usage on stdout (exit 0).
 */
export function parseDaemonFlags<F>(
  argv: string[],
  parse: (argv: string[]) => F | 'help',
  usage: string,
  io: { out(s: string): void; err(s: string): void } = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  },
): { flags: F } | { exit: number } {
  let flags: F | 'help';
  try {
    flags = parse(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${usage}`);
    return { exit: 2 };
  }
  if (flags === 'help') {
    io.out(usage);
    return { exit: 0 };
  }
  return { flags };
}
