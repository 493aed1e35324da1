import { NftWatcher, isOurs, transactionWriter } from './watch.js';
import { NftWriters } from './writers.js';

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

  it.each([
    ['# new generation 4 by process 18978 (nft)', 18978],
    ['# new generation 4', null],
    ['add table ip flannel-operator-ipv4', undefined],
    ['# something else by process 5', undefined],
  ])('transaction end %s -> writer %s', (line, writer) => {
    expect(transactionWriter(line)).toBe(writer);
  });

  it("passes over the agent's own nft writes, and counts anyone else's", async () => {
    const writers = new NftWriters();
    writers.add(4242);
    const lines = [
      'add table ip flannel-operator-ipv4',
      'add chain ip flannel-operator-ipv4 forward',
      '# new generation 2 by process 4242 (nft)',
      'add rule ip filter FORWARD accept',
      '# new generation 3 by process 777 (iptables-nft-re)',
      'delete rule ip flannel-operator-ipv4 forward handle 4',
      '# new generation 4 by process 999 (nft)',
    ];
    const script = `${lines.map((l) => `echo '${l}'`).join('; ')}; exec sleep 2`;
    const w = new NftWatcher({ command: ['sh', '-c', script], writers });
    let changes = 0;
    w.on('change', () => changes++);
    w.start();
    await new Promise((r) => setTimeout(r, 700));
    w.stop();
    // Only the foreign transaction (999) touched our table as someone else.
    expect(changes).toBe(1);
  });
});

describe('NftWriters', () => {
  it('keeps the latest pids only', () => {
    const w = new NftWriters(2);
    for (const pid of [1, 2, 3]) w.add(pid);
    w.add(undefined);
    expect([1, 2, 3].map((p) => w.has(p))).toEqual([false, true, true]);
  });
});
