/**
 * The built agent (`node dist/cli/main.js agent`) does not load @kubernetes/client-node: a
 * module-resolution hook in the child records every module it loads. The image's bundle of the
 * same code is checked by test-e2e/image/bundle.test.ts.
 * `--help` loads the agent's whole static module graph, then exits before touching the kernel.
 * The unit test src/agent/imports.test.ts checks the same on the sources, statically.
 */
import { existsSync } from 'node:fs';
import { loadedModules as loaded } from '../harness/loaded-modules.js';
import { CLI } from '../lab/lab.js';

async function loadedModules(args: string[]): Promise<string[]> {
  expect(existsSync(CLI) ? CLI : `${CLI} missing: run npm run build`).toBe(CLI);
  return loaded(CLI, args);
}

describe('agent process modules', () => {
  it('`flannel-operator agent` loads the agent, never @kubernetes/client-node, and netlink only at its first socket', async () => {
    const urls = await loadedModules(['agent', '--help']);
    expect(urls.some((u) => u.endsWith('/dist/agent/agent.js'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/kube/kubeconfig.js'))).toBe(true);
    // The native addon cannot be in the agent's startup snapshot, which holds what it imports.
    expect(urls.filter((u) => u.includes('/node_modules/netlink/'))).toEqual([]);
    expect(urls.filter((u) => u.includes('@kubernetes/client-node'))).toEqual([]);
  }, 60_000);

  it('the hook does see client-node where it is loaded (`flannel-operator status`)', async () => {
    const urls = await loadedModules(['status', '--help']);
    expect(urls.some((u) => u.includes('@kubernetes/client-node'))).toBe(true);
  }, 60_000);

  it('`flannel-operator controller` loads client-node only for plugin kubeconfigs, not up front', async () => {
    const urls = await loadedModules(['controller', '--help']);
    expect(urls.some((u) => u.endsWith('/dist/controller/controller.js'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/kube/load-auth.js'))).toBe(true);
    expect(urls.filter((u) => u.includes('@kubernetes/client-node'))).toEqual([]);
  }, 60_000);
});
