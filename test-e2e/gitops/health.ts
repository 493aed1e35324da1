/**
 * How Argo CD and Flux judge flannel-operator's objects, computed by the interpreters they embed
 * (hack/tools/local/gitops-health): Argo CD's health.lua under gopher-lua, Flux's
 * healthCheckExprs under cel-go. The scripts and expressions are read from examples/, so what is
 * tested is what users install.
 */
import { join } from 'node:path';
import { toolPath } from '../harness/tools.js';
import { runProcess } from '../harness/process.js';
import { REPO } from '../chart/helpers.js';

export const ARGO_CHECKS = join(REPO, 'examples/argocd/resource_customizations');
export const ARGO_CM = join(REPO, 'examples/argocd/argocd-cm-health.yaml');
export const FLUX_KUSTOMIZATIONS = join(REPO, 'examples/flux/kustomizations.yaml');

export interface ArgoHealth {
  name: string;
  status: string;
  message: string;
  error?: string;
}

export interface FluxStatus {
  name: string;
  status: string;
  error?: string;
}

export interface ArgoCase {
  check: string;
  inputPath: string;
  want: { status: string; message: string };
  got: { status: string; message: string };
  error?: string;
  pass: boolean;
}

function jsonLines<T>(stdout: string): T[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

async function gitopsHealth(args: string[], input?: string) {
  const r = await runProcess(toolPath('gitops-health'), args, {
    ...(input === undefined ? {} : { input }),
    timeoutMs: 30_000,
  });
  if (r.code === 2 || r.stderr !== '')
    throw new Error(`gitops-health ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Argo CD's health of each object, with the script for its group/Kind from `dir`. */
export async function argoHealth(objects: object[], dir = ARGO_CHECKS): Promise<ArgoHealth[]> {
  const input = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  return jsonLines<ArgoHealth>(
    (await gitopsHealth(['argocd', 'eval', dir, '-f', '-'], input)).stdout,
  );
}

/** Flux's status of each object under the healthCheckExprs in `kustomizations`. */
export async function fluxStatus(
  objects: object[],
  kustomizations = FLUX_KUSTOMIZATIONS,
): Promise<FluxStatus[]> {
  const input = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  const r = await gitopsHealth(['flux', 'eval', kustomizations, '-f', '-'], input);
  return jsonLines<FluxStatus>(r.stdout);
}

/** Every health_test.yaml case under `dir`, run as Argo CD's TestLuaHealthScript does. */
export async function argoHealthTests(
  dir = ARGO_CHECKS,
): Promise<{ code: number; cases: ArgoCase[] }> {
  const r = await gitopsHealth(['argocd', 'test', dir]);
  return { code: r.code, cases: jsonLines<ArgoCase>(r.stdout) };
}
