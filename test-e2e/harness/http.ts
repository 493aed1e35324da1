/** The harness's own HTTPS client for the API server (admin certificate), before any kubeconfig exists. */
import { request as httpsRequest, type Agent } from 'node:https';

/** One request; JSON in, parsed JSON (or text) out, never throws on an HTTP error status. */
export function httpJson<T>(
  agent: Agent,
  server: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  timeoutMs = 30_000,
): Promise<{ status: number; body: T; text: string }> {
  const url = new URL(path, server);
  const payload =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((res, rej) => {
    const req = httpsRequest(
      url,
      {
        method,
        agent,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined
            ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
        timeout: timeoutMs,
      },
      (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON (e.g. /readyz) */
          }
          res({ status: resp.statusCode ?? 0, body: parsed as T, text });
        });
        resp.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', rej);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
