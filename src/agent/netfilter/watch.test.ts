import { NftWatcher, isOurs } from './watch.js';

describe('nftables change events', () => {
  it.each([
    ['delete table ip flannel-operator-ipv4', true],
    ['delete rule ip flannel-operator-ipv4 postrtg handle 7', true],
    [
      'add chain ip6 flannel-operator-ipv6 forward { type filter hook forward priority filter; }',
      true,
    ],
    ['add element ip flannel-operator-ipv4 s { 1.2.3.4 }', true],
    ['add table ip flannel-operator-ipv4x', false],
    ['add rule ip filter FORWARD counter accept comment "flannel-operator-ipv4"', false],
    ['# new generation 4 by process 18978 (nft)', false],
    ['add table inet kube-proxy', false],
  ])('%s -> %s', (line, ours) => {
    expect(isOurs(line)).toBe(ours);
  });

  it('emits one change per line about our tables, and restarts a monitor that exits', async () => {
    const script =
      'echo "add table ip other"; echo "delete table ip flannel-operator-ipv4"; exit 3';
    const w = new NftWatcher({ command: ['sh', '-c', script] });
    const seen: number[] = [];
    const t0 = Date.now();
    w.on('change', () => seen.push(Date.now() - t0));
    w.start();
    // Line event, then after the 1 s restart backoff a catch-up event and the same line again.
    await new Promise((r) => setTimeout(r, 1600));
    w.stop();
    expect(seen.length).toBe(3);
    expect(seen[0]).toBeLessThan(500);
    expect(seen[1]).toBeGreaterThanOrEqual(1000);
  });
});
