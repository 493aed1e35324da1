/**
 * The one prerequisite check of the integration tests. Under CI (CI set to anything but '', '0'
 * or 'false') a missing prerequisite fails the test with the reason; elsewhere the test is skipped
 * with a message saying what is missing. Jest glue: skipUnlessIntegrationPrereqs / itNeeds in jest.ts.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO, missingTools, toolsDir } from './tools.js';

export interface Prereqs {
  /** uid 0 (network namespaces, netlink, netfilter). */
  root?: boolean;
  /** Binaries in the tools dir (hack/tools/build.sh, `make tools`). */
  tools?: string[];
  /** Commands on $PATH (Debian packages, `make deps`). */
  commands?: string[];
  /** The built CLI (`npm run build`): dist/cli/main.js, or $FLOP_CLI. */
  build?: boolean;
  /**
   * The netns lab may run: the kind suite's dockerd is not running (dockerd rewrites the host's
   * iptables, FORWARD policy DROP included).
   */
  noKindDockerd?: boolean;
  /** The kind suite may run: its dockerd runs (hack/kind/dockerd.sh) and no netns lab exists. */
  kindDockerd?: boolean;
}

/** Where hack/kind/dockerd.sh keeps its pidfile and socket ($FLOP_KIND_STATE). */
export function kindStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOP_KIND_STATE ?? '/run/flop-kind';
}

/** The pid of the kind suite's dockerd when it runs. */
export function kindDockerdPid(env: NodeJS.ProcessEnv = process.env): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(kindStateDir(env), 'dockerd.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Network namespaces of netns labs (named flop-*, test-e2e/lab). */
export function labNamespaces(): string[] {
  let out: string;
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith('flop-'));
}

/** The built binary every process-level test runs; FLOP_CLI points at another build. */
export const CLI = process.env.FLOP_CLI ?? join(REPO, 'dist/cli/main.js');

/**
 * The netns lab: root, the real CNI plugins, the flannel one included (the lab never imitates a
 * missing plugin), iproute2 and the built CLI.
 */
export const LAB_PREREQS: Prereqs = {
  root: true,
  tools: ['bridge', 'host-local', 'portmap', 'flannel'],
  commands: ['ip'],
  build: true,
  noKindDockerd: true,
};

export class PrereqError extends Error {
  readonly code = 'EPREREQ_MISSING';
  constructor(message: string) {
    super(message);
    this.name = 'PrereqError';
  }
}

/** Whether this is a CI run: CI set to any value but '', '0' or 'false' (any case). */
export function inCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What the dataplane checks read off the host; tests pass their own. */
export interface HostProbe {
  labNamespaces: () => string[];
}

const HOST: HostProbe = { labNamespaces };

/** What is missing, one plain sentence each; empty when everything is there. */
export function missingPrereqs(p: Prereqs, host: HostProbe = HOST): string[] {
  const problems: string[] = [];
  if (p.root && process.getuid?.() !== 0) problems.push('not running as root');
  const tools = missingTools(p.tools ?? []);
  if (tools.length > 0)
    problems.push(`missing tools ${tools.join(', ')} in ${toolsDir()}/bin (run 'make tools')`);
  const cmds = (p.commands ?? []).filter((c) => !onPath(c));
  if (cmds.length > 0) problems.push(`missing commands ${cmds.join(', ')} (run 'make deps')`);
  if (p.build && !existsSync(CLI)) problems.push(`${CLI} missing (run 'npm run build')`);
  problems.push(...dockerdProblems(p, host));
  return problems;
}

/** The netns lab and the kind suite's dockerd exclude each other (dockerd rewrites host iptables). */
function dockerdProblems(p: Prereqs, host: HostProbe): string[] {
  const problems: string[] = [];
  const pid = p.noKindDockerd || p.kindDockerd ? kindDockerdPid() : undefined;
  if (p.noKindDockerd && pid !== undefined)
    problems.push(
      `the kind suite's dockerd runs (pid ${pid}); the netns lab must not run beside it ('hack/kind/dockerd.sh stop')`,
    );
  if (p.kindDockerd && pid === undefined)
    problems.push(
      `the kind suite's dockerd is not running ('make e2e' starts it, or 'hack/kind/dockerd.sh start')`,
    );
  const labs = p.kindDockerd ? host.labNamespaces() : [];
  if (labs.length > 0)
    problems.push(
      `netns lab namespaces exist (${labs.join(', ')}); the kind suite must not run beside a lab`,
    );
  return problems;
}

/**
 * Why these prerequisites are not met, or undefined when they are. Under CI a missing one throws
 * PrereqError instead, so CI never passes by skipping.
 */
export function checkPrereqs(p: Prereqs, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const problems = missingPrereqs(p);
  if (problems.length === 0) return undefined;
  const reason = problems.join('; ');
  if (inCI(env)) throw new PrereqError(`integration prerequisites missing under CI: ${reason}`);
  return reason;
}
