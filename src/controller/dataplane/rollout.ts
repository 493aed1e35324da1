import type { V1DaemonSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { FIELD_MANAGER_CONTROLLER, type FlannelNetwork } from '../../api/index.js';
import type { KubeClient } from '../../kube/client.js';
import { Informer } from '../../kube/informer.js';
import { collectionPath, objectPath, type ObjectRef } from '../../kube/resources.js';
import {
  AGENT_APP_NAME,
  NAME_LABEL,
  configHashOf,
  daemonSetName,
  desiredDaemonSet,
  type DaemonSetOptions,
} from './daemonset.js';

export interface RolloutDeps {
  client: KubeClient;
  logger: Logger;
  /** Metrics go here when given (never to the global registry). */
  registry?: Registry;
}

export interface RolloutStatus {
  desired: number;
  ready: number;
  updated: number;
  configHash: string;
}

/**
 * Counts of a live DaemonSet. Until the DaemonSet controller has observed the current
 * generation its counts describe the previous template, so none of the pods count as updated.
 */
export function rolloutStatus(live: V1DaemonSet, desiredHash: string): RolloutStatus {
  const st = live.status;
  const observed = (st?.observedGeneration ?? 0) >= (live.metadata?.generation ?? 0);
  const desired = st?.desiredNumberScheduled ?? 0;
  return {
    desired,
    ready: st?.numberReady ?? 0,
    updated: observed ? (st?.updatedNumberScheduled ?? 0) : 0,
    configHash: configHashOf(live) ?? desiredHash,
  };
}

function counter(registry: Registry | undefined): Counter<'result'> | undefined {
  if (!registry) return undefined;
  const name = 'flannel_operator_dataplane_applies_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'result'>;
  return new Counter({
    name,
    help: 'Server-side applies of agent DaemonSets, by result',
    labelNames: ['result'],
    registers: [registry],
  });
}

/**
 * Applies the DaemonSet of a network with server-side apply on every reconcile: an unchanged
 * object is a no-op on the server (no write, no new resourceVersion), a changed or deleted one
 * is repaired, and the response carries the status, so one request does both.
 */
export class DaemonSetRollout {
  private readonly log: Logger;
  private readonly applies?: Counter<'result'>;
  constructor(
    private readonly deps: RolloutDeps,
    private readonly opts: DaemonSetOptions,
  ) {
    this.log = deps.logger;
    this.applies = counter(deps.registry);
  }

  async reconcile(network: FlannelNetwork): Promise<RolloutStatus> {
    const desired = desiredDaemonSet(network, this.opts);
    const hash = configHashOf(desired)!;
    let live: V1DaemonSet;
    try {
      live = await this.deps.client.apply<V1DaemonSet>(
        desired as unknown as ObjectRef & Record<string, unknown>,
        { fieldManager: FIELD_MANAGER_CONTROLLER, force: true },
      );
    } catch (err) {
      this.applies?.inc({ result: 'error' });
      throw err;
    }
    this.applies?.inc({ result: 'ok' });
    const status = rolloutStatus(live, hash);
    this.log.debug(
      { network: network.metadata.name, daemonSet: desired.metadata?.name, ...status },
      'dataplane applied',
    );
    return status;
  }

  /**
   * Calls `onChange(networkName)` whenever an agent DaemonSet's status counts change (pods got
   * ready or updated), so the controller can refresh the FlannelNetwork's dataplane status and
   * Reconciling condition at once instead of at its next resync. Resolves when the cache synced;
   * the returned function stops watching.
   */
  async watch(onChange: (networkName: string) => void): Promise<() => void> {
    const informer = new Informer<V1DaemonSet & { metadata: { name?: string } }>({
      client: this.deps.client,
      path: collectionPath('apps/v1', 'daemonsets', this.opts.namespace),
      labelSelector: `${NAME_LABEL}=${AGENT_APP_NAME}`,
      logger: this.log.child({ informer: 'daemonsets' }),
    });
    const networkOf = (ds: V1DaemonSet): string | undefined =>
      ds.metadata?.ownerReferences?.find((o) => o.kind === 'FlannelNetwork')?.name;
    const counts = (ds: V1DaemonSet): string => {
      const st = ds.status;
      return [
        st?.observedGeneration,
        st?.desiredNumberScheduled,
        st?.numberReady,
        st?.updatedNumberScheduled,
        st?.numberUnavailable,
      ].join('/');
    };
    informer.on('update', (ds, old) => {
      const net = networkOf(ds);
      if (net && counts(ds) !== counts(old)) onChange(net);
    });
    informer.on('delete', (ds) => {
      const net = networkOf(ds);
      if (net) onChange(net);
    });
    await informer.start();
    return () => informer.stop();
  }

  async remove(networkName: string): Promise<void> {
    const name = daemonSetName(networkName);
    const deleted = await this.deps.client.delete(
      objectPath('apps/v1', 'daemonsets', name, this.opts.namespace),
      { propagationPolicy: 'Background' },
    );
    if (deleted) this.log.info({ network: networkName, daemonSet: name }, 'dataplane removed');
  }
}
