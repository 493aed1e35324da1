import { isAlreadyExists, type KubeClient } from './client.js';
import { resourceInfo, collectionPath, resourcePath, type ObjectRef } from './resources.js';
import type { OwnerReference } from '../api/common.js';

export type { OwnerReference };

/** An ownerReference pointing at `owner` (which must carry metadata.uid). */
export function ownerReference(
  owner: { apiVersion?: string; kind?: string; metadata: { name?: string; uid?: string } },
  opts: {
    apiVersion?: string;
    kind?: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  } = {},
): OwnerReference {
  const apiVersion = opts.apiVersion ?? owner.apiVersion;
  const kind = opts.kind ?? owner.kind;
  if (!apiVersion || !kind || !owner.metadata.name || !owner.metadata.uid) {
    throw new TypeError('ownerReference needs apiVersion, kind, metadata.name and metadata.uid');
  }
  const ref: OwnerReference = {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
  };
  if (opts.controller !== undefined) ref.controller = opts.controller;
  if (opts.blockOwnerDeletion !== undefined) ref.blockOwnerDeletion = opts.blockOwnerDeletion;
  return ref;
}

/** Server-side applies each object in order (e.g. RBAC before the DaemonSet using it). */
export async function applyAll<T = unknown>(
  client: KubeClient,
  objects: Array<ObjectRef & Record<string, unknown>>,
  opts: { fieldManager: string; force?: boolean; signal?: AbortSignal },
): Promise<T[]> {
  const out: T[] = [];
  for (const obj of objects) out.push(await client.apply<T>(obj, { force: true, ...opts }));
  return out;
}

/**
 * Creates the object unless it exists; the 409 of a concurrent creator is not an error.
 * Returns the stored object and whether this call created it.
 */
export async function createIfAbsent<T>(
  client: KubeClient,
  obj: ObjectRef & Record<string, unknown>,
  opts: { fieldManager?: string; signal?: AbortSignal } = {},
): Promise<{ created: boolean; object: T }> {
  const info = resourceInfo(obj.apiVersion, obj.kind);
  const path = collectionPath(
    obj.apiVersion,
    info.plural,
    info.namespaced ? obj.metadata.namespace : undefined,
  );
  try {
    return { created: true, object: await client.create<T>(path, obj, opts) };
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    return {
      created: false,
      object: await client.get<T>(resourcePath(obj), { signal: opts.signal }),
    };
  }
}

export interface ConditionLike {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/**
 * Sets `cond` in a conditions list the metav1 way: lastTransitionTime only moves when the
 * status changes. Returns a new list; the input is not modified.
 */
export function setCondition<C extends ConditionLike>(
  conditions: readonly C[] | undefined,
  cond: Omit<C, 'lastTransitionTime'> & { lastTransitionTime?: string },
  now: Date = new Date(),
): C[] {
  const list = [...(conditions ?? [])];
  const idx = list.findIndex((c) => c.type === cond.type);
  const old = idx >= 0 ? list[idx] : undefined;
  const lastTransitionTime =
    old && old.status === cond.status
      ? old.lastTransitionTime
      : (cond.lastTransitionTime ?? rfc3339(now));
  const next = { ...cond, lastTransitionTime } as C;
  if (idx >= 0) list[idx] = next;
  else list.push(next);
  return list;
}

/** metav1.Time: RFC 3339 with whole seconds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
