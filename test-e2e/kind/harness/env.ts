/**
 * Where the kind suite's pieces are: our dockerd's socket (hack/kind/dockerd.sh), the tools built by
 * hack/tools/build.sh, the images built by hack/kind/build.sh. One environment for every child.
 */
import { join } from 'node:path';
import { kindStateDir, type Prereqs } from '../../harness/prereqs.js';
import { runProcess, type RunResult } from '../../harness/process.js';
import { REPO, toolsDir } from '../../harness/tools.js';

export { REPO };

/** Kubernetes version of the node image (hack/kind/lib.sh KUBE_VERSION). */
export const KUBE_VERSION = 'v1.34.4';
export const NODE_IMAGE = `local/kind-node:${KUBE_VERSION}`;
/** The operator image hack/kind/build.sh builds from the repository's Dockerfile. */
export const OPERATOR_IMAGE = 'flannel-operator:e2e';
export const AGNHOST_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.56';
export const CHART = join(REPO, 'charts/flannel-operator');
export const OPERATOR_NAMESPACE = 'kube-flannel';

/** What every kind test file needs: root, our dockerd (and no netns lab), the tools, the CLI build. */
export const KIND_PREREQS: Prereqs = {
  root: true,
  kindDockerd: true,
  tools: ['kind', 'kubectl', 'helm', 'kstatus'],
  build: true,
};

/** Environment of every child process: our dockerd, Debian's docker CLI first, the tools on PATH. */
export function kindEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DOCKER_HOST: `unix://${join(kindStateDir(), 'docker.sock')}`,
    PATH: ['/usr/sbin', '/usr/bin', join(toolsDir(), 'bin'), process.env.PATH ?? ''].join(':'),
  };
}

export class CommandError extends Error {
  readonly code = 'EKIND_COMMAND';
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(
      `${command} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(-2000)}`,
    );
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

/** Runs a command in kindEnv(); resolves with the result whatever the exit code. */
export function runKind(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(cmd, args, { ...opts, timeoutMs: opts.timeoutMs ?? 300_000, env: kindEnv() });
}

/** Runs a command in kindEnv(); resolves with stdout, throws CommandError on a non-zero exit. */
export async function mustRun(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runKind(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(`${cmd} ${args.join(' ')}`, r);
  return r.stdout;
}

/** The kubectl plugin entry of the build (`npm run build`), run as `kubectl flannel` in the suite. */
export const CLI_PLUGIN = join(REPO, 'dist/cli/kubectl-flannel.js');
