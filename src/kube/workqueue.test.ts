import { jest } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import { WorkQueue, createWorkQueueMetrics } from './workqueue.js';

const logger = pino({ level: 'silent' });
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

describe('WorkQueue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('dedupes a key added many times while queued', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ handler: async (k) => void seen.push(k), logger });
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    q.start();
    await flush();
    expect(seen).toEqual(['a', 'b']);
    await q.stop();
  });

  it('runs at most one handler per key and reprocesses a key re-added while running', async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue({
      concurrency: 4,
      logger,
      handler: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        const g = deferred();
        gates.push(g);
        await g.promise;
        running--;
      },
    });
    q.start();
    q.add('a');
    await flush();
    expect(gates).toHaveLength(1);
    q.add('a');
    q.add('a');
    await flush();
    expect(gates).toHaveLength(1); // not started twice in parallel
    gates[0]!.resolve();
    await flush();
    expect(gates).toHaveLength(2); // re-added while running -> runs once more
    gates[1]!.resolve();
    await flush();
    expect(gates).toHaveLength(2);
    expect(maxRunning).toBe(1);
    await q.stop();
  });

  it('processes distinct keys in parallel up to concurrency', async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    const q = new WorkQueue({
      concurrency: 2,
      logger,
      handler: async () => {
        const g = deferred();
        gates.push(g);
        await g.promise;
      },
    });
    q.start();
    ['a', 'b', 'c'].forEach((k) => q.add(k));
    await flush();
    expect(gates).toHaveLength(2);
    gates[0]!.resolve();
    await flush();
    expect(gates).toHaveLength(3);
    gates.forEach((g) => g.resolve());
    await q.stop();
  });

  it('retries failures with per-key exponential backoff and forgets on success', async () => {
    const calls: number[] = [];
    let fail = 3;
    const q = new WorkQueue({
      logger,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      ratePerSecond: Infinity,
      handler: async () => {
        calls.push(Date.now());
        if (fail-- > 0) throw new Error('boom');
      },
    });
    q.start();
    q.add('k');
    await flush();
    expect(calls).toHaveLength(1);
    expect(q.retries('k')).toBe(1);
    await jest.advanceTimersByTimeAsync(99);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(199);
    expect(calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(400);
    expect(calls).toHaveLength(4);
    expect(q.retries('k')).toBe(0);
    await q.stop();
  });

  it('applies the overall token bucket to retries', async () => {
    let calls = 0;
    const q = new WorkQueue({
      logger,
      baseDelayMs: 1,
      ratePerSecond: 1,
      burst: 1,
      concurrency: 10,
      handler: async () => {
        calls++;
        throw new Error('x');
      },
    });
    q.start();
    q.add('a');
    q.add('b');
    await flush();
    expect(calls).toBe(2);
    await jest.advanceTimersByTimeAsync(10);
    expect(calls).toBe(3); // one retry used the burst token, the other waits ~1 s
    await jest.advanceTimersByTimeAsync(1000);
    expect(calls).toBeGreaterThanOrEqual(4);
    await q.stop();
  });

  it('addAfter keeps the earliest delay and whenIdle resolves when drained', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ logger, handler: async (k) => void seen.push(k) });
    q.start();
    q.addAfter('x', 1000);
    q.addAfter('x', 500);
    q.addAfter('x', 2000);
    const idle = q.whenIdle();
    await jest.advanceTimersByTimeAsync(500);
    expect(seen).toEqual(['x']);
    await idle;
    await jest.advanceTimersByTimeAsync(5000);
    expect(seen).toEqual(['x']);
    await q.stop();
  });

  it('reports metrics', async () => {
    const registry = new Registry();
    const metrics = createWorkQueueMetrics(registry, 'test_queue');
    const q = new WorkQueue({ logger, metrics, name: 'n', handler: async () => {} });
    q.add('a');
    q.add('b');
    const text = await registry.metrics();
    expect(text).toMatch(/test_queue_depth\{name="n"\} 2/);
    expect(text).toMatch(/test_queue_adds_total\{name="n"\} 2/);
    q.start();
    await flush();
    expect(await registry.metrics()).toMatch(/test_queue_depth\{name="n"\} 0/);
    await q.stop();
  });

  it('stop() waits for running handlers and drops queued keys', async () => {
    const g = deferred();
    const seen: string[] = [];
    const q = new WorkQueue({
      logger,
      handler: async (k) => {
        seen.push(k);
        if (k === 'a') await g.promise;
      },
    });
    q.start();
    q.add('a');
    q.add('b');
    await flush();
    let stopped = false;
    const s = q.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    g.resolve();
    await s;
    expect(seen).toEqual(['a']);
  });
});
