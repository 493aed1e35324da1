/**
 * Splits a byte stream into newline-terminated lines (a watch stream: one JSON event a line).
 * Works on Buffers: a newline byte never occurs inside a multi-byte UTF-8 sequence, so each line
 * is decoded once, whole, with no per-chunk string decoding or re-slicing of a growing string.
 */
export class LineSplitter {
  private pending?: Buffer;

  /** The complete lines `chunk` ends (trimmed, empty ones dropped); keeps the unfinished tail. */
  push(chunk: Buffer): string[] {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const lines: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(10, start)) >= 0) {
      const line = buf.toString('utf8', start, nl).trim();
      if (line) lines.push(line);
      start = nl + 1;
    }
    if (start < buf.length) this.pending = buf.subarray(start);
    return lines;
  }

  /** What is left after the stream ended without a final newline ('' when nothing). */
  rest(): string {
    const line = this.pending?.toString('utf8').trim() ?? '';
    this.pending = undefined;
    return line;
  }
}
