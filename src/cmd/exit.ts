/**
 * Ends an entry point's run: its exit code, or 1 with the error's stack on stderr. Sets
 * process.exitCode rather than calling process.exit, so pino and open sockets flush first.
 */
export function exitWhenSettled(run: Promise<number>): void {
  run.then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
