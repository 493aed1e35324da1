/**
 * The pids of the `nft` processes that wrote the agent's own rules, so the watcher can tell their
 * transactions apart from anyone else's: `nft monitor` ends each transaction's events with
 * "# new generation N by process PID (nft)". Not a global: the agent makes one and hands it to
 * its Netfilter and its NftWatcher. Bounded: a pass writes one or two tables.
 */
export class NftWriters {
  private readonly pids: number[] = [];
  constructor(private readonly keep = 32) {}

  add(pid: number | undefined): void {
    if (pid === undefined) return;
    this.pids.push(pid);
    if (this.pids.length > this.keep) this.pids.shift();
  }

  has(pid: number): boolean {
    return this.pids.includes(pid);
  }
}
