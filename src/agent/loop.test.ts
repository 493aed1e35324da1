import { jest } from '@jest/globals';
import { PassLoop, type PassLoopOptions } from './loop.js';

/** A loop whose passes are recorded with the (fake) time they started; `fail` makes them reject. */
function harness(opts: Partial<PassLoopOptions> = {}, passMs = 0) {
  const starts: number[] = [];
  const errors: number[] = [];
  const t0 = Date.now();
  let fail = false;
  const loop = new PassLoop({
    debounceMs: 50,
    resyncMs: 10_000,
    random: () => 0,
    onError: (_e, failures) => errors.push(failures),
    run: async () => {
      starts.push(Date.now() - t0);
      if (passMs) await new Promise((r) => setTimeout(r, passMs));
      if (fail) throw new Error('boom');
    },
    ...opts,
  });
  return {
    loop,
    starts,
    errors,
    setFail: (f: boolean) => (fail = f),
    at: async (ms: number) => jest.advanceTimersByTimeAsync(ms - (Date.now() - t0)),
  };
}

describe('PassLoop', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('runs a first pass at start, then one per resync period when nothing happens', async () => {
    const h = harness();
    h.loop.start();
    await h.at(35_000);
    // Node (and the fake clock) run a 0 ms timer after 1 ms.
    expect(h.starts).toEqual([0, 10_001, 20_001, 30_001]);
    await h.loop.stop();
  });

  it('coalesces a burst into one pass after the debounce', async () => {
    const h = harness();
    h.loop.start();
    await h.at(1000);
    for (let i = 0; i < 100; i++) h.loop.trigger('kernel');
    await h.at(1049);
    expect(h.starts).toEqual([0]);
    await h.at(1050);
    expect(h.starts).toEqual([0, 1050]);
    await h.at(5000);
    expect(h.starts).toEqual([0, 1050]);
    await h.loop.stop();
  });

  it('a steady event stream brings passes forward and never starves them', async () => {
    const h = harness();
    h.loop.start();
    await h.at(1000);
    // An event every 10 ms for one second: a postponing debounce would never run a pass.
    for (let t = 1000; t < 2000; t += 10) {
      await h.at(t);
      h.loop.trigger('kernel');
    }
    const during = h.starts.filter((s) => s >= 1000 && s <= 2050);
    expect(during[0]).toBe(1050);
    // One pass per debounce window: every gap is the debounce (plus at most one 10 ms step).
    expect(during.length).toBeGreaterThanOrEqual(16);
    for (let i = 1; i < during.length; i++)
      expect(during[i]! - during[i - 1]!).toBeLessThanOrEqual(60);
    await h.loop.stop();
  });

  it('a shorter delay brings a pending pass forward; a longer one does not postpone it', async () => {
    const h = harness();
    h.loop.start();
    await h.at(1000);
    h.loop.trigger('api'); // due at 1050
    await h.at(1010);
    h.loop.trigger('api', 500); // would be 1510: ignored
    await h.at(1020);
    h.loop.trigger('nudge', 0); // brought forward to 1020
    await h.at(1600);
    expect(h.starts).toEqual([0, 1020]);
    await h.loop.stop();
  });

  it('triggers during a pass cause exactly one follow-up pass', async () => {
    const h = harness({ rerunMs: 20 }, 100);
    h.loop.start();
    await h.at(10);
    for (let i = 0; i < 10; i++) h.loop.trigger('api');
    await h.at(119);
    expect(h.starts).toEqual([0]);
    await h.at(120); // pass ended at 100, follow-up after rerunMs
    expect(h.starts).toEqual([0, 120]);
    await h.at(2000);
    expect(h.starts).toEqual([0, 120]);
    await h.loop.stop();
  });

  it('retries failures with exponential backoff, capped, and resets after a success', async () => {
    const h = harness({ backoff: { baseMs: 1000, maxMs: 8000 }, resyncMs: 1e9 });
    h.setFail(true);
    h.loop.start();
    await h.at(25_000);
    // 0 fails; retries 1 s, 2 s, 4 s, 8 s, 8 s (cap) after each failure.
    expect(h.starts).toEqual([0, 1000, 3000, 7000, 15_000, 23_000]);
    expect(h.errors).toEqual([1, 2, 3, 4, 5, 6]);
    h.setFail(false);
    await h.at(31_000); // the retry at 31 s succeeds
    expect(h.starts.at(-1)).toBe(31_000);
    expect(h.loop.failures).toBe(0);
    h.setFail(true);
    h.loop.trigger('api');
    await h.at(31_050 + 1000);
    // Failure count started over: the first retry is 1 s after the failed pass.
    expect(h.starts.slice(-2)).toEqual([31_050, 32_050]);
    expect(h.errors.slice(-2)).toEqual([1, 2]);
    await h.loop.stop();
  });

  it('an event during the backoff brings the retry forward (fresh drift is worth a try)', async () => {
    const h = harness({ backoff: { baseMs: 5000, maxMs: 30_000 } });
    h.setFail(true);
    h.loop.start(); // fails at 0, retry due at 5000
    await h.at(1000);
    h.loop.trigger('kernel');
    await h.at(1050);
    expect(h.starts).toEqual([0, 1050]);
    await h.loop.stop();
  });

  it('jitter spreads the retry within the configured fraction', async () => {
    const h = harness({ backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0.5 }, random: () => 1 });
    h.setFail(true);
    h.loop.start();
    await h.at(1600);
    expect(h.starts).toEqual([0, 1500]);
    await h.loop.stop();
  });

  it('stop waits for the pass in flight and runs no more passes', async () => {
    const h = harness({}, 100);
    h.loop.start();
    await h.at(50);
    let stopped = false;
    const done = h.loop.stop().then(() => (stopped = true));
    h.loop.trigger('api');
    await h.at(99);
    expect(stopped).toBe(false);
    await h.at(100);
    await done;
    await h.at(60_000);
    expect(h.starts).toEqual([0]);
  });

  it('reports every accepted trigger with its reason', async () => {
    const reasons: string[] = [];
    const h = harness({ onTrigger: (r) => reasons.push(r), resyncMs: 1000 });
    h.loop.trigger('before-start');
    h.loop.start();
    h.loop.trigger('kernel');
    await h.at(1000);
    await h.loop.stop();
    h.loop.trigger('after-stop');
    expect(reasons).toEqual(['start', 'kernel', 'periodic']);
  });
});
