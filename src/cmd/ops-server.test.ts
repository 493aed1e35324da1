import pino from 'pino';
import { Registry } from 'prom-client';
import { parseBindAddress, startOpsServers } from './ops-server.js';

describe('parseBindAddress', () => {
  it('parses bind addresses', () => {
    expect(parseBindAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseBindAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddress('0')).toBeUndefined();
    expect(() => parseBindAddress(':x')).toThrow();
  });
});

describe('startOpsServers', () => {
  const opts = () => ({
    registry: new Registry(),
    ready: () => true,
    logger: pino({ level: 'silent' }),
  });

  it('serves metrics and probes on one server when both addresses are the same', async () => {
    const servers = await startOpsServers({ metrics: '127.0.0.1:0', probe: '127.0.0.1:0' }, opts());
    try {
      expect(servers).toHaveLength(1);
      const r = await fetch(`http://127.0.0.1:${servers[0]!.port}/readyz`);
      expect(r.status).toBe(200);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('serves both on one server when the addresses name the same port', async () => {
    const first = await startOpsServers({ metrics: '127.0.0.1:0', probe: '0' }, opts());
    const port = first[0]!.port;
    await first[0]!.close();
    const servers = await startOpsServers(
      { metrics: `:${port}`, probe: `127.0.0.1:${port}` },
      opts(),
    );
    try {
      expect(servers).toHaveLength(1);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('starts a second server for another probe address, none for a disabled one', async () => {
    const servers = await startOpsServers({ metrics: '0', probe: 'localhost:0' }, opts());
    try {
      expect(servers).toHaveLength(1);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
    const both = await startOpsServers({ metrics: '127.0.0.1:0', probe: ':0' }, opts());
    try {
      expect(both).toHaveLength(2);
      expect(both[0]!.port).not.toBe(both[1]!.port);
    } finally {
      await Promise.all(both.map((s) => s.close()));
    }
  });
});

describe('/metrics', () => {
  it('serves a registry, or one a function loads on the first scrape', async () => {
    const registry = new Registry();
    let loads = 0;
    const lazy = async (): Promise<Registry> => {
      loads++;
      return registry;
    };
    for (const source of [registry, lazy]) {
      const [s] = await startOpsServers(
        { metrics: '127.0.0.1:0', probe: '0' },
        { registry: source, ready: () => true, logger: pino({ level: 'silent' }) },
      );
      try {
        const r = await fetch(`http://127.0.0.1:${s!.port}/metrics`);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe(registry.contentType);
      } finally {
        await s!.close();
      }
    }
    expect(loads).toBe(1);
  });
});
