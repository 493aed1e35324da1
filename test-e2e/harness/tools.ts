/**
 * Binary discovery, one rule: $FLANNEL_OPERATOR_TOOLS, else ~/.cache/flannel-operator/tools (what
 * hack/tools/build.sh fills). Binaries live in its bin/.
 */
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

// Repository root: nearest ancestor with package.json and crds/ (this file also runs compiled from dist-bench/).
export const REPO = findRepo(new URL('.', import.meta.url).pathname);
function findRepo(from: string): string {
  for (let dir = resolve(from); dir !== '/'; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'crds'))) return dir;
  }
  return resolve(from, '../..');
}

export function toolsDir(): string {
  return process.env.FLANNEL_OPERATOR_TOOLS ?? join(homedir(), '.cache/flannel-operator/tools');
}

export function toolPath(name: string): string {
  return join(toolsDir(), 'bin', name);
}

/** Names of the tools the control plane needs that are missing or not executable. */
export function missingTools(names: string[] = ['etcd', 'kube-apiserver']): string[] {
  return names.filter((n) => {
    try {
      accessSync(toolPath(n), fsConstants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}
