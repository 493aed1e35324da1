import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { KubeApiError, KubeClient } from './client.js';

/** A server that answers /fast at once and never answers anything else. */
let server: http.Server;
let client: KubeClient;
beforeEach(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.startsWith('/fast')) res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  client = new KubeClient({
    server: `http://127.0.0.1:${port}`,
    tls: () => Promise.resolve({}),
    headers: () => Promise.resolve({}),
  });
});
afterEach(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const reason = (e: unknown): string => (e instanceof KubeApiError ? e.reason : String(e));

describe('requests sharing one AbortSignal', () => {
  it('are all cancelled by it, through a single listener on the signal', async () => {
    const abort = new AbortController();
    const hanging = Array.from({ length: 20 }, (_, i) =>
      client.get(`/slow/${i}`, { signal: abort.signal }).catch((e: unknown) => e),
    );
    await client.get('/fast', { signal: abort.signal });
    // Let every request reach the socket before counting listeners.
    await new Promise((r) => setTimeout(r, 50));
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(1);
    abort.abort();
    expect((await Promise.all(hanging)).map(reason)).toEqual(Array(20).fill('Aborted'));
  });

  it('an already aborted signal fails the request at once', async () => {
    const err = await client.get('/fast', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(reason(err)).toBe('Aborted');
  });

  it('finished requests are not touched by a later abort', async () => {
    const abort = new AbortController();
    expect(await client.get('/fast', { signal: abort.signal })).toEqual({});
    abort.abort();
    const err = await client.get('/fast', { signal: abort.signal }).catch((e: unknown) => e);
    expect(reason(err)).toBe('Aborted');
  });
});
