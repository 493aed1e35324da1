import { decideLease, microTime } from './leader.js';

const D = 15_000;

describe('decideLease', () => {
  it('creates a missing lease', () => {
    const d = decideLease(undefined, undefined, 'me', 1000, D);
    expect(d).toMatchObject({
      action: 'acquire',
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 },
    });
  });

  it('waits while another holder is fresh, measured from when we first saw the record', () => {
    const spec = {
      holderIdentity: 'other',
      leaseDurationSeconds: 15,
      renewTime: microTime(0),
      leaseTransitions: 2,
    };
    const obs = { raw: JSON.stringify(spec), at: 10_000 };
    // renewTime is ancient (clock skew) but we only saw it at t=10s: still valid until 25s.
    expect(decideLease(spec, obs, 'me', 20_000, D)).toMatchObject({
      action: 'wait',
      holder: 'other',
      expiresInMs: 5000,
    });
    expect(decideLease(spec, obs, 'me', 25_000, D)).toMatchObject({
      action: 'acquire',
      spec: { holderIdentity: 'me', leaseTransitions: 3 },
    });
  });

  it('treats a changed record as freshly observed', () => {
    const spec = {
      holderIdentity: 'other',
      leaseDurationSeconds: 15,
      renewTime: microTime(5),
      leaseTransitions: 0,
    };
    const obs = { raw: JSON.stringify({ ...spec, renewTime: microTime(1) }), at: 0 };
    expect(decideLease(spec, obs, 'me', 100_000, D).action).toBe('wait');
  });

  it('takes a released lease (empty holder) at once', () => {
    const spec = { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 };
    const d = decideLease(spec, { raw: JSON.stringify(spec), at: 0 }, 'me', 1, D);
    expect(d).toMatchObject({
      action: 'acquire',
      spec: { holderIdentity: 'me', leaseTransitions: 5 },
    });
  });

  it('renews its own lease keeping acquireTime and transitions', () => {
    const spec = {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: 'A',
      renewTime: 'R',
      leaseTransitions: 7,
    };
    const d = decideLease(spec, undefined, 'me', 42_000, D);
    expect(d).toMatchObject({
      action: 'renew',
      spec: { acquireTime: 'A', leaseTransitions: 7, renewTime: microTime(42_000) },
    });
  });

  it('formats MicroTime with microseconds', () => {
    expect(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05.678000Z');
  });
});
