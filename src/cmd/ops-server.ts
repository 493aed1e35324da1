import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { UsageError } from './flags.js';

export interface OpsServerOptions {
  port: number;
  host?: string;
  /** What /metrics serves; a function loads it on the first scrape (the agent's DeferredMetrics). */
  registry: Registry | (() => Promise<Registry>);
  ready: () => boolean;
  healthy?: () => boolean;
  logger: Logger;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** Parses ":8080", "127.0.0.1:8080", "8080" or "0" (disabled) into host/port. */
export function parseBindAddress(addr: string): { host?: string; port: number } | undefined {
  if (addr === '0' || addr === '') return undefined;
  const idx = addr.lastIndexOf(':');
  const host = idx > 0 ? addr.slice(0, idx).replace(/^\[|\]$/g, '') : undefined;
  const port = Number(idx >= 0 ? addr.slice(idx + 1) : addr);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`invalid bind address "${addr}"`);
  return { host, port };
}

/**
 * The ops server on the metrics address and, when the probe address is another one, on that too
 * ("0" or "" turns an address off).
 */
export async function startOpsServers(
  addrs: { metrics: string; probe: string },
  opts: Omit<OpsServerOptions, 'port' | 'host'>,
): Promise<OpsServer[]> {
  const servers: OpsServer[] = [];
  const metrics = parseBindAddress(addrs.metrics);
  const probe = parseBindAddress(addrs.probe);
  if (metrics) servers.push(await startOpsServer({ ...metrics, ...opts }));
  // One server when both name the same port (two would collide), unless it is 0 (any free port).
  const same =
    addrs.probe === addrs.metrics || (probe?.port === metrics?.port && probe?.port !== 0);
  if (probe && !same) servers.push(await startOpsServer({ ...probe, ...opts }));
  return servers;
}

async function scrape(
  source: OpsServerOptions['registry'],
): Promise<{ text: string; type: string }> {
  const registry = typeof source === 'function' ? await source() : source;
  return { text: await registry.metrics(), type: registry.contentType };
}

/** /healthz, /readyz and /metrics (Prometheus text) on one small HTTP server. */
export function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    switch (url) {
      case '/healthz':
      case '/livez': {
        const ok = opts.healthy ? opts.healthy() : true;
        return reply(ok ? 200 : 503, ok ? 'ok\n' : 'unhealthy\n');
      }
      case '/readyz': {
        const ok = opts.ready();
        return reply(ok ? 200 : 503, ok ? 'ok\n' : 'not ready\n');
      }
      case '/metrics':
        scrape(opts.registry).then(
          ({ text, type }) => reply(200, text, type),
          (err: unknown) => {
            opts.logger.error({ err }, 'collecting metrics failed');
            reply(500, 'metrics failed\n');
          },
        );
        return;
      default:
        return reply(404, 'not found\n');
    }
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      opts.logger.info({ port, host: opts.host }, 'ops server listening');
      resolve({
        port,
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections();
            server.close(() => res());
          }),
      });
    });
  });
}
