import type { Logger } from 'pino';
import type { KubeClient } from './client.js';
import { microTime } from './leader.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/**
 * The only namespaces the API server accepts Events about cluster-scoped objects in (it rejects
 * any other with 422 "does not match event.namespace"; test-e2e/controller/kube-events.test.ts).
 */
export const CLUSTER_EVENT_NAMESPACES = ['default', 'kube-system'] as const;
export type ClusterEventNamespace = (typeof CLUSTER_EVENT_NAMESPACES)[number];

export interface EventRecorderOptions {
  client: KubeClient;
  /** Namespace events of cluster-scoped objects go to (events.k8s.io needs one). */
  namespace: ClusterEventNamespace;
  reportingController: string;
  reportingInstance: string;
  logger: Logger;
  /** Same (target, reason, note) within this window is sent once. Default 10 min. */
  dedupeMs?: number;
}

/**
 * Writes events.k8s.io/v1 Events. Best effort: failures are logged, never thrown, so
 * reporting a problem cannot become a second problem. Repeats are suppressed for a while.
 */
export class EventRecorder {
  private readonly recent = new Map<string, number>();
  constructor(private readonly opts: EventRecorderOptions) {}

  async record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
  ): Promise<void> {
    const key = `${target.kind}/${target.namespace ?? ''}/${target.name}/${reason}/${note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < (this.opts.dedupeMs ?? 600_000)) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.recent.clear();
    const namespace = target.namespace ?? this.opts.namespace;
    const name = `${target.name.slice(0, 200)}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(now),
      type,
      reason,
      action,
      note: note.slice(0, 1024),
      reportingController: this.opts.reportingController,
      reportingInstance: this.opts.reportingInstance.slice(0, 128),
      regarding: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: target.name,
        namespace: target.namespace,
        uid: target.uid,
      },
    };
    try {
      await this.opts.client.create(
        `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        body,
      );
    } catch (err) {
      this.opts.logger.warn({ err, reason, target: target.name }, 'could not record event');
    }
  }
}
