/**
 * Jest glue for integration tests: a control plane per test file, prerequisite checks and kubectl.
 *
 *   const cp = useControlPlane();            // beforeAll starts it, afterAll stops it
 *   it('...', async () => { cp().kubeConfig ... });
 *
 * Prerequisites missing (tools not built, not root when asked for): with CI unset the file's tests
 * are reported as skipped with a warning saying why; with CI=true the file fails.
 */
import { startControlPlane, type ControlPlane, type StartOptions } from './control-plane.js';
import { missingTools, toolPath } from './tools.js';
import { runProcess, type RunResult } from './process.js';

// Jest's globals, typed here so this module also compiles without @types/jest (tsconfig.bench.json
// includes test-e2e/harness).
type Hook = (fn: () => Promise<void> | void, timeoutMs?: number) => void;
interface TestFn {
  (name: string, fn?: () => unknown, timeoutMs?: number): void;
  skip: TestFn;
  only: TestFn;
  todo: (name: string) => void;
  each: unknown;
}
interface JestGlobals {
  it: TestFn;
  test: TestFn;
  beforeAll: Hook;
  afterAll: Hook;
}
function jestGlobals(): JestGlobals {
  const g = globalThis as unknown as Partial<JestGlobals>;
  if (typeof g.it !== 'function' || typeof g.beforeAll !== 'function') {
    throw new Error('test-e2e/harness/jest.ts must be used from a jest test file');
  }
  return g as JestGlobals;
}

export interface Prereqs {
  /** Need uid 0 (network namespaces, netlink). Default true. */
  root?: boolean;
  /** Binaries that must exist in the tools dir. Default etcd + kube-apiserver. */
  tools?: string[];
}

export class PrereqError extends Error {
  code = 'EPREREQ_MISSING';
  constructor(message: string) {
    super(message);
    this.name = 'PrereqError';
  }
}

const inCI = (): boolean =>
  !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * Why this test file cannot run, or undefined when it can. Under CI=true a missing prerequisite
 * throws PrereqError instead (so CI never passes by skipping).
 */
export function requireIntegrationPrereqs(p: Prereqs = {}): string | undefined {
  const problems: string[] = [];
  if ((p.root ?? true) && process.getuid?.() !== 0) problems.push('not running as root');
  const missing = missingTools(p.tools ?? ['etcd', 'kube-apiserver']);
  if (missing.length > 0) problems.push(`missing tools ${missing.join(', ')} (run 'make tools')`);
  if (problems.length === 0) return undefined;
  const reason = problems.join('; ');
  if (inCI()) throw new PrereqError(`integration prerequisites missing under CI: ${reason}`);
  return reason;
}

/**
 * Skips every test declared after this call in the current file, with a visible warning.
 * Works because jest's `it`/`test` are looked up on the per-file global object when called.
 */
function skipRestOfFile(reason: string): void {
  const g = jestGlobals();
  console.warn(`SKIPPING integration tests in this file: ${reason}`);
  const skip = g.it.skip;
  g.it = Object.assign(skip, { skip, only: skip, todo: g.it.todo, each: skip.each });
  g.test = g.it;
}

/**
 * Returns true (after arranging the skip) when prerequisites are missing and CI is unset. Call at
 * the top of a test file, before its describe/it blocks.
 */
export function skipUnlessIntegrationPrereqs(p: Prereqs = {}): boolean {
  const reason = requireIntegrationPrereqs(p);
  if (reason === undefined) return false;
  skipRestOfFile(reason);
  return true;
}

export interface UseControlPlaneOptions extends StartOptions, Prereqs {}

/**
 * Starts a control plane before the file's tests (CRDs installed unless installCrds: false) and stops
 * it afterwards. Root is not required unless `root: true` is passed.
 */
export function useControlPlane(opts: UseControlPlaneOptions = {}): () => ControlPlane {
  const { root = false, tools, ...start } = opts;
  let cp: ControlPlane | undefined;
  if (skipUnlessIntegrationPrereqs({ root, ...(tools ? { tools } : {}) })) {
    return () => {
      throw new Error('control plane not started: integration prerequisites missing');
    };
  }
  const { beforeAll, afterAll } = jestGlobals();
  beforeAll(
    async () => {
      cp = await startControlPlane({ installCrds: true, ...start });
    },
    (start.timeoutMs ?? 60_000) + 30_000,
  );
  afterAll(async () => {
    await cp?.stop();
  }, 30_000);
  return () => {
    if (!cp) throw new Error('control plane not started (use the getter inside tests/hooks)');
    return cp;
  };
}

export type KubectlResult = RunResult;

/** Runs the built kubectl with the admin kubeconfig (or `kubeconfig`). Never throws on non-zero exit. */
export function kubectl(
  cp: ControlPlane,
  args: string[],
  opts: { input?: string; kubeconfig?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return runProcess(
    toolPath('kubectl'),
    ['--kubeconfig', opts.kubeconfig ?? cp.kubeconfigPath, ...args],
    { input: opts.input ?? '', timeoutMs: opts.timeoutMs ?? 60_000 },
  );
}
