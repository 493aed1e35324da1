/**
 * Control-plane processes never outlive their test run: children are started with
 * setpriv --pdeathsig, killed on exit and on SIGINT/SIGTERM/SIGHUP, and registered in a file so a
 * run killed with SIGKILL is cleaned up by the next start (or by reap.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every running control plane is registered in a file naming its owner pid,
// its children and its dataDir, so a crashed test run (SIGKILL) is cleaned up by the next start
// or by reapLeftoverControlPlanes() (test-e2e/harness/reap.ts).

export const REGISTRY = join(tmpdir(), 'flannel-operator-control-planes');

export interface RegistryEntry {
  owner: number;
  pids: { pid: number; binary: string }[];
  dataDir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Kills control-plane processes whose owning test process is gone and removes their data. */
export function reapLeftoverControlPlanes(opts: { all?: boolean } = {}): number {
  let reaped = 0;
  let files: string[];
  try {
    files = readdirSync(REGISTRY);
  } catch {
    return 0;
  }
  for (const f of files) {
    const file = join(REGISTRY, f);
    let entry: RegistryEntry;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as RegistryEntry;
    } catch {
      continue;
    }
    if (!opts.all && alive(entry.owner)) continue;
    for (const { pid, binary } of entry.pids) {
      // Pids get reused: only kill a process still running our binary.
      if (alive(pid) && cmdlineOf(pid).includes(binary)) {
        try {
          process.kill(pid, 'SIGKILL');
          reaped++;
        } catch {
          /* gone meanwhile */
        }
      }
    }
    rmSync(entry.dataDir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
  return reaped;
}

// Children of this process, killed synchronously on exit and on SIGINT/SIGTERM/SIGHUP.
const liveChildren = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
// Installed while this module has live children only: jest loads this module once per test file
// and hooks left on `process` would pile up across files.
let signalHandlers: Map<NodeJS.Signals, () => void> | undefined;

function killAllChildrenSync(): void {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function installExitHooks(): void {
  if (signalHandlers) return;
  signalHandlers = new Map();
  process.on('exit', killAllChildrenSync);
  for (const sig of SIGNALS) {
    const onSignal = (): void => {
      killAllChildrenSync();
      // If nobody else handles the signal, restore the default (terminate) behaviour.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    signalHandlers.set(sig, onSignal);
    process.on(sig, onSignal);
  }
}

export function removeExitHooksWhenIdle(): void {
  if (!signalHandlers || liveChildren.size > 0) return;
  process.removeListener('exit', killAllChildrenSync);
  for (const [sig, handler] of signalHandlers) process.removeListener(sig, handler);
  signalHandlers = undefined;
}

// setpriv --pdeathsig makes the kernel kill the child when this process dies, even by SIGKILL.
let setprivPath: string | null | undefined;
function pdeathsigPrefix(): string[] {
  if (setprivPath === undefined) {
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  }
  return setprivPath ? [setprivPath, '--pdeathsig', 'SIGKILL', '--'] : [];
}

export function startProcess(binary: string, args: string[], logFile: string): ChildProcess {
  const prefix = pdeathsigPrefix();
  const [cmd, ...rest] = [...prefix, binary, ...args];
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let timer: NodeJS.Timeout | undefined;
  if (graceMs > 0) {
    child.kill('SIGTERM');
    timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  } else {
    child.kill('SIGKILL');
  }
  await exited;
  clearTimeout(timer);
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
