/** CRD installation into a started control plane: server-side apply, then wait for Established. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane } from './control-plane.js';
import { ControlPlaneError } from './errors.js';
import { REPO } from './tools.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CrdObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Server-side applies every crds/*.yaml and waits until each CRD is Established. */
export async function installCrds(
  cp: ControlPlane,
  dir = join(REPO, 'crds'),
  timeoutMs = 30_000,
): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const names: string[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const obj = doc.toJSON() as { kind?: string; metadata?: { name?: string } } | null;
      if (!obj || obj.kind !== 'CustomResourceDefinition' || !obj.metadata?.name) continue;
      await cp.request(
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${obj.metadata.name}?fieldManager=flannel-operator-tests&force=true`,
        obj,
        'application/apply-patch+yaml',
      );
      names.push(obj.metadata.name);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await cp.request<CrdObject>(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      const conds = crd.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
      const bad = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (bad)
        throw new ControlPlaneError(
          `CRD ${name} names not accepted: ${bad.message}`,
          'ECP_CRD_NAMES',
        );
      if (Date.now() > deadline) {
        throw new ControlPlaneError(
          `CRD ${name} not Established after ${timeoutMs}ms`,
          'ECP_CRD_TIMEOUT',
        );
      }
      await sleep(50);
    }
  }
  return names;
}
