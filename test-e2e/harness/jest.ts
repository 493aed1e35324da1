/**
 * Jest glue for integration tests: a control plane per test file, prerequisite checks and kubectl.
 *
 *   const cp = useControlPlane();            // beforeAll starts it, afterAll stops it
 *   it('...', async () => { cp().kubeConfig ... });
 *
 * Prerequisites missing (prereqs.ts: tools, commands, root, the build): outside CI the tests are
 * reported as skipped with a warning saying what is missing; under CI they fail with that reason.
 */
import { startControlPlane, type ControlPlane, type StartOptions } from './control-plane.js';
import { checkPrereqs, inCI, PrereqError, type Prereqs } from './prereqs.js';
import { toolPath } from './tools.js';
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
 * Call at the top of a test file, before its describe/it blocks. Returns true (after arranging the
 * skip) when prerequisites are missing outside CI; under CI it throws, so the file fails with why.
 */
export function skipUnlessIntegrationPrereqs(p: Prereqs): boolean {
  const reason = checkPrereqs(p);
  if (reason === undefined) return false;
  skipRestOfFile(reason);
  return true;
}

/**
 * One test with prerequisites of its own: skipped with a warning when they are missing outside
 * CI; under CI it runs and fails with the reason.
 */
export function itNeeds(
  p: Prereqs,
  name: string,
  fn: () => Promise<unknown>,
  timeoutMs?: number,
): void {
  const { it } = jestGlobals();
  let reason: string | undefined;
  try {
    reason = checkPrereqs(p);
  } catch (e) {
    it(name, () => {
      throw e;
    });
    return;
  }
  if (reason === undefined) return it(name, fn, timeoutMs);
  console.warn(`SKIPPING "${name}": ${reason}`);
  it.skip(`${name} (skipped: ${reason})`, fn);
}

export { inCI, PrereqError };

export interface UseControlPlaneOptions extends StartOptions, Prereqs {}

/**
 * Starts a control plane before the file's tests (CRDs installed unless installCrds: false) and stops
 * it afterwards. Needs etcd and kube-apiserver (or `tools`), plus whatever else is asked for.
 */
export function useControlPlane(opts: UseControlPlaneOptions = {}): () => ControlPlane {
  const { root, tools = ['etcd', 'kube-apiserver'], commands, build, ...start } = opts;
  let cp: ControlPlane | undefined;
  if (skipUnlessIntegrationPrereqs({ root, tools, commands, build })) {
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
