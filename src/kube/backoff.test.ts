import { backoffDelay, TokenBucket } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from base and caps at max (client-go 5ms..1000s)', () => {
    const o = { baseMs: 5, maxMs: 1_000_000 };
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, o))).toEqual([5, 10, 20, 40]);
    expect(backoffDelay(40, o)).toBe(1_000_000);
    expect(backoffDelay(5000, o)).toBe(1_000_000);
  });
  it('adds bounded jitter', () => {
    const o = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(0, o, () => 0)).toBe(100);
    expect(backoffDelay(0, o, () => 1)).toBe(150);
    expect(backoffDelay(10, o, () => 1)).toBe(1500);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then paces at the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 2, () => now);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(100);
    expect(b.take()).toBe(200);
    now = 1000;
    expect(b.take()).toBe(0);
  });
  it('is unlimited with an infinite rate', () => {
    const b = new TokenBucket(Infinity, 1);
    for (let i = 0; i < 100; i++) expect(b.take()).toBe(0);
  });
});
