/**
 * The one prerequisite check of the integration tests. Under CI (CI set to anything but '', '0'
 * or 'false') a missing prerequisite fails the test with the reason; elsewhere the test is skipped
 * with a message saying what is missing. Jest glue: skipUnlessIntegrationPrereqs / itNeeds in jest.ts.
 */
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
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

/** What is missing, one plain sentence each; empty when everything is there. */
export function missingPrereqs(p: Prereqs): string[] {
  const problems: string[] = [];
  if (p.root && process.getuid?.() !== 0) problems.push('not running as root');
  const tools = missingTools(p.tools ?? []);
  if (tools.length > 0)
    problems.push(`missing tools ${tools.join(', ')} in ${toolsDir()}/bin (run 'make tools')`);
  const cmds = (p.commands ?? []).filter((c) => !onPath(c));
  if (cmds.length > 0) problems.push(`missing commands ${cmds.join(', ')} (run 'make deps')`);
  if (p.build && !existsSync(CLI)) problems.push(`${CLI} missing (run 'npm run build')`);
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
