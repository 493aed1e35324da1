#!/usr/bin/env node
// Kills control planes (etcd, kube-apiserver) left behind by test runs that died without stop(), and
// removes their data. Reads the registry written by control-plane.ts.
//   node test-e2e/harness/reap.mjs          only those whose owning test process is gone
//   node test-e2e/harness/reap.mjs --all    every registered control plane (also live runs!)
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const registry = join(process.env.TMPDIR ?? tmpdir(), 'flannel-operator-control-planes');
const all = process.argv.includes('--all');

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};
const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

let files = [];
try {
  files = readdirSync(registry);
} catch {
  /* nothing registered */
}
let killed = 0;
for (const f of files) {
  const file = join(registry, f);
  let entry;
  try {
    entry = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    continue;
  }
  if (!all && alive(entry.owner)) continue;
  for (const { pid, binary } of entry.pids) {
    // Pids get reused: only kill a process still running our binary.
    if (alive(pid) && cmdline(pid).includes(binary)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        /* exited meanwhile */
      }
    }
  }
  rmSync(entry.dataDir, { recursive: true, force: true });
  rmSync(file, { force: true });
}
console.log(`reap: killed ${killed} leftover control-plane process(es)`);
