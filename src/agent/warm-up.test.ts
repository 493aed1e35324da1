import { warmUp } from './warm-up.js';

describe('warmUp (the pass code the startup snapshot compiles)', () => {
  it('plans, diffs, encodes and reads back a dual-stack network of three nodes', () => {
    // Two peers, both families: 4 routes, 4 neighbours, 4 FDB entries, each replaced and deleted;
    // the watcher reads all but the route deletes (no route type: not a main-table unicast route).
    expect(warmUp()).toBe(20);
  });

  it('keeps nothing between runs', () => {
    expect(warmUp()).toBe(warmUp());
  });
});
