/**
 * Where a command writes: results on stdout (machine-readable with -o json|yaml), progress and
 * warnings on stderr. Passed in so tests capture both.
 */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export function captureIO(): CliIO & { stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return {
    out: (t) => void (o += t),
    err: (t) => void (e += t),
    stdout: () => o,
    stderr: () => e,
  };
}
