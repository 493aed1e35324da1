/**
 * Command-line plumbing shared by every entry point: the kubectl-flannel commands (src/cli) and
 * the two daemons (controller, agent). Flags, the one usage error and the exit codes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FlannelOperatorError } from '../errors.js';
import { CLUSTER_EVENT_NAMESPACES, type ClusterEventNamespace } from '../kube/events.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** Wrong flags or arguments: exit code 2, like kubectl. */
export class UsageError extends FlannelOperatorError {
  readonly code = 'ECLI_USAGE';
  readonly exitCode = EXIT_USAGE;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export const HELP_FLAG = {
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** node:util parseArgs in strict mode; its own argument errors become UsageError, nothing else does. */
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
    if (!String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw e;
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

/** "15s", "500ms", "2m" or plain seconds, in milliseconds. */
export function duration(v: string | undefined, dflt: number, flag: string): number {
  if (v === undefined) return dflt;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new UsageError(`--${flag}: expected a duration like 15s, got "${v}"`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

/** `--flag=true|false` (also 1/0, yes/no). */
export function bool(v: string | boolean | undefined, dflt: boolean, flag: string): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new UsageError(`--${flag}: expected true or false, got "${v}"`);
}

export function posInt(v: string | undefined, dflt: number, flag: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${flag}: expected a positive integer, got "${v}"`);
  return n;
}

/** One value out of a fixed set; `why` explains the set in the error. */
export function oneOf<T extends string>(
  v: string | undefined,
  allowed: readonly T[],
  dflt: T,
  flag: string,
  why = '',
): T {
  if (v === undefined) return dflt;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(
    `--${flag}: expected ${allowed.join(' or ')}, got "${v}"${why ? ` (${why})` : ''}`,
  );
}

/** --events-namespace of the controller and the agent: all their Events are about cluster-scoped objects. */
export function eventsNamespace(v: string | undefined): ClusterEventNamespace {
  return oneOf(
    v,
    CLUSTER_EVENT_NAMESPACES,
    'default',
    'events-namespace',
    'the API server accepts Events about cluster-scoped objects only there',
  );
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A pino level for --log-level. */
export function logLevel(v: string | undefined): string {
  const level = v ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
  return level;
}

/**
 * Flags of a long-running command (controller, agent): a UsageError prints its message and the
 * usage on stderr (exit 2), --help prints the usage on stdout (exit 0). Any other error is a bug
 * or a broken environment, not bad usage: it propagates.
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
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${usage}`);
    return { exit: EXIT_USAGE };
  }
  if (flags === 'help') {
    io.out(usage);
    return { exit: EXIT_OK };
  }
  return { flags };
}
