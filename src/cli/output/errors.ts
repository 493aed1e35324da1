/**
 * Errors of the kubectl-flannel commands. Every error has a stable `code` (scripts match on it)
 * and the process exit code it maps to: 2 for bad usage, 1 for everything that went wrong at run time.
 */
import { FlannelOperatorError, type ErrorCode } from '../../errors.js';
import { EXIT_RUNTIME, UsageError } from '../../cmd/flags.js';

export class CliError extends FlannelOperatorError {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly exitCode: number = EXIT_RUNTIME,
    /** What the user can do about it; printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Exit code and one-line rendering of any thrown value. */
export function describeError(err: unknown): {
  code: string;
  message: string;
  exitCode: number;
  hint?: string;
} {
  if (err instanceof CliError) {
    return { code: err.code, message: err.message, exitCode: err.exitCode, hint: err.hint };
  }
  if (err instanceof UsageError) {
    return { code: err.code, message: err.message, exitCode: err.exitCode };
  }
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : 'ECLI_INTERNAL',
      message: err.message,
      exitCode: EXIT_RUNTIME,
    };
  }
  return { code: 'ECLI_INTERNAL', message: String(err), exitCode: EXIT_RUNTIME };
}
