import http from 'node:http';
import https from 'node:https';
import pino from 'pino';
import { KubeConfig } from '@kubernetes/client-node';
import { useControlPlane } from '../harness/jest.js';
import { KubeClient, isNotFound, isAlreadyExists, KubeApiError } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { waitFor, nodeBody } from './helpers.js';
import { clientNodeAuth } from '../../src/kube/client-node-auth.js';

/** Plain-HTTP proxy to the API server that can answer the next watch with a 410 ERROR event. */
async function goneProxy(upstream: KubeConfig): Promise<{
  kubeConfig: KubeConfig;
  injectGone: number;
  injected: number;
  holding: boolean;
  close(): Promise<void>;
}> {
  const target = new URL(upstream.getCurrentCluster()!.server);
  const tls: https.RequestOptions = {};
  await upstream.applyToHTTPSOptions(tls);
  const state = { injectGone: 0, injected: 0, holding: false };
  const server = http.createServer((req, res) => {
    if (state.injectGone > 0 && /[?&]watch=1/.test(req.url ?? '')) {
      state.injectGone--;
      state.injected++;
      state.holding = true;
      // Hold the watch a moment (changes made meanwhile are missed), then say 410.
      setTimeout(() => {
        state.holding = false;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              code: 410,
              reason: 'Expired',
              message: 'too old resource version',
            },
          }) + '\n',
        );
      }, 1500);
      return;
    }
    const up = https.request(
      {
        ...tls,
        agent: undefined,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...(tls.headers as object), host: target.host },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'p', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'p' }],
    contexts: [{ name: 'p', cluster: 'p', user: 'p' }],
    currentContext: 'p',
  });
  return Object.assign(state, {
    kubeConfig: kc,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const cp = useControlPlane();

interface Node {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
}

describe('KubeClient against a real API server', () => {
  let client: KubeClient;
  beforeAll(() => {
    client = new KubeClient(clientNodeAuth(cp().kubeConfig));
  });
  afterAll(() => client.close());

  it('creates, gets, patches, applies and deletes with typed errors', async () => {
    const before = client.requestCount;
    await client.create('/api/v1/nodes', nodeBody('kc-1'));
    const dup = await client.create('/api/v1/nodes', nodeBody('kc-1')).catch((e: unknown) => e);
    expect(isAlreadyExists(dup)).toBe(true);
    const n = await client.get<Node>('/api/v1/nodes/kc-1');
    expect(n.metadata.name).toBe('kc-1');
    await client.patch('/api/v1/nodes/kc-1', { metadata: { labels: { a: 'b' } } });
    const applied = await client.apply<Node>(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kc-cm', namespace: 'default' },
        data: { k: 'v' },
      } as never,
      { fieldManager: 'test' },
    );
    expect(applied.metadata.name).toBe('kc-cm');
    expect(await client.delete('/api/v1/nodes/kc-1')).toBe(true);
    expect(await client.delete('/api/v1/nodes/kc-1')).toBe(false);
    const err = await client.get('/api/v1/nodes/kc-1').catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as KubeApiError).code).toBe('EKUBE_NOTFOUND');
    expect(client.requestCount - before).toBe(8);
  });

  it('pages through lists', async () => {
    for (let i = 0; i < 7; i++)
      await client.create('/api/v1/namespaces/default/configmaps', {
        metadata: { name: `page-${i}` },
      });
    const all = await client.listAll<Node>('/api/v1/namespaces/default/configmaps', { limit: 2 });
    expect(all.items.filter((c) => c.metadata.name.startsWith('page-'))).toHaveLength(7);
    expect(all.resourceVersion).toMatch(/^\d+$/);
  });
});

describe('Informer against a real API server', () => {
  let client: KubeClient;
  beforeAll(() => {
    client = new KubeClient(clientNodeAuth(cp().kubeConfig));
  });
  afterAll(() => client.close());

  it('lists, then streams add/update/delete', async () => {
    await client.create('/api/v1/nodes', nodeBody('inf-0', { suite: 'inf' }));
    const inf = new Informer<Node>({
      client,
      path: '/api/v1/nodes',
      labelSelector: 'suite=inf',
      logger,
    });
    const seen: string[] = [];
    inf.on('add', (n) => seen.push(`add ${n.metadata.name}`));
    inf.on('update', (n) => seen.push(`update ${n.metadata.name}`));
    inf.on('delete', (n) => seen.push(`delete ${n.metadata.name}`));
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(seen).toEqual(['add inf-0']);
    await client.create('/api/v1/nodes', nodeBody('inf-1', { suite: 'inf' }));
    await client.patch('/api/v1/nodes/inf-1', { metadata: { labels: { x: 'y' } } });
    await client.delete('/api/v1/nodes/inf-1');
    await waitFor('watch events', () => seen.length >= 4, 10_000);
    expect(seen).toEqual(['add inf-0', 'add inf-1', 'update inf-1', 'delete inf-1']);
    expect(inf.get('inf-0')?.metadata.name).toBe('inf-0');
    expect(inf.list()).toHaveLength(1);
    inf.stop();
    await inf.stopped();
  });

  it('relists on 410 Gone (ERROR Expired event) and emits what it missed', async () => {
    // The API server only answers 410 once etcd history is compacted; a pass-through proxy
    // injects that answer into the next watch so the relist path runs deterministically.
    const proxy = await goneProxy(cp().kubeConfig);
    const pc = new KubeClient(clientNodeAuth(proxy.kubeConfig));
    try {
      const inf = new Informer<Node>({
        client: pc,
        path: '/api/v1/nodes',
        labelSelector: 'suite=gone',
        logger,
      });
      const seen: string[] = [];
      inf.on('add', (n) => seen.push(`add ${n.metadata.name}`));
      inf.on('delete', (n) => seen.push(`delete ${n.metadata.name}`));
      await client.create('/api/v1/nodes', nodeBody('gone-0', { suite: 'gone' }));
      await inf.start();
      proxy.injectGone = 1;
      inf.restartWatch();
      await waitFor('held watch', () => proxy.holding, 5000);
      await client.delete('/api/v1/nodes/gone-0');
      await client.create('/api/v1/nodes', nodeBody('gone-1', { suite: 'gone' }));
      await waitFor(
        'relist',
        () => seen.includes('add gone-1') && seen.includes('delete gone-0'),
        15_000,
      );
      expect(proxy.injected).toBe(1);
      expect(inf.stats.relists).toBeGreaterThanOrEqual(1);
      expect(inf.keys().sort()).toEqual(['gone-1']);
      inf.stop();
      await inf.stopped();
    } finally {
      pc.close();
      await proxy.close();
    }
  });

  it('restarts a silent watch (watchdog) and keeps delivering', async () => {
    const inf = new Informer<Node>({
      client,
      path: '/api/v1/nodes',
      labelSelector: 'suite=dog',
      watchdogMs: 1200,
      logger,
    });
    const seen: string[] = [];
    inf.on('add', (n) => seen.push(n.metadata.name));
    await inf.start();
    await waitFor('watchdog restart', () => inf.stats.watchdogRestarts >= 1, 10_000);
    await client.create('/api/v1/nodes', nodeBody('dog-1', { suite: 'dog' }));
    await waitFor('event after restart', () => seen.includes('dog-1'), 10_000);
    expect(inf.stats.watches).toBeGreaterThanOrEqual(2);
    inf.stop();
    await inf.stopped();
  });

  it('emits periodic resync', async () => {
    const inf = new Informer<Node>({
      client,
      path: '/api/v1/nodes',
      labelSelector: 'suite=none',
      resyncMs: 300,
      logger,
    });
    let resyncs = 0;
    inf.on('resync', () => resyncs++);
    await inf.start();
    await waitFor('resync', () => resyncs >= 2, 5000);
    inf.stop();
    await inf.stopped();
  });
});
