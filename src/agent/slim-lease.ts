// group.js, not index.js: the agent loads no schema library (zod).
import { BACKEND_REJECTED } from '../api/group.js';
import type { SubnetLease } from '../api/index.js';

/**
 * What the agent's lease cache keeps of a lease (the informer's transform): the metadata it reads
 * (name and uid for Events, generation for its status, creation and deletion for peer order), no
 * managedFields, labels or annotations, and of another node's conditions only a true
 * BackendRejected, the one a peer plan reads (peers.ts). Its own lease keeps every condition:
 * publishing its status keeps their transition times. About 1.8 KB of heap per lease as listed,
 * 0.35 KB slimmed (issue 13).
 */
export function slimLease(lease: SubnetLease, ownNode: string): SubnetLease {
  const m = lease.metadata;
  const slim: SubnetLease = {
    metadata: {
      name: m.name,
      uid: m.uid,
      generation: m.generation,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: lease.spec,
  };
  const status = lease.status;
  if (!status) return slim;
  if (lease.spec.nodeName === ownNode || !status.conditions) return { ...slim, status };
  const { conditions, ...rest } = status;
  const rejected = conditions.filter((c) => c.type === BACKEND_REJECTED && c.status === 'True');
  return { ...slim, status: rejected.length > 0 ? { ...rest, conditions: rejected } : rest };
}
