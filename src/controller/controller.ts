import type { Logger } from 'pino';
import {
  API_VERSION,
  FIELD_MANAGER_CONTROLLER,
  FLANNEL_NETWORK,
  LABEL_NETWORK,
  SUBNET_LEASE,
  BACKEND_REJECTED,
} from '../api/group.js';
import type { Condition, FlannelNetwork, SubnetLease } from '../api/index.js';
import { KubeApiError, isAlreadyExists, isNotFound, type KubeClient } from '../kube/client.js';
import { Informer, stripManagedFields } from '../kube/informer.js';
import { WorkQueue } from '../kube/workqueue.js';
import { runLimited } from '../kube/limit.js';
import { collectionPath, objectPath } from '../kube/resources.js';
import { rfc3339 } from '../kube/apply.js';
import type { EventRecorder } from '../kube/events.js';
import type { DataplaneRollout, DataplaneStatus } from './dataplane/index.js';
import type { ControllerMetrics } from './metrics.js';
import type { NodeLike, Plan, PreparedNetwork } from './plan.js';
import type * as Planning from './planning.js';
import { computeStatus, sameStatus } from './status.js';
import type { LeaseRejection } from './lease-checks.js';
import { OwnWrites, nodeChange } from './echoes.js';
import { FlannelOperatorError } from '../errors.js';

export const NETWORKS_PATH = collectionPath(API_VERSION, FLANNEL_NETWORK.plural);
export const LEASES_PATH = collectionPath(API_VERSION, SUBNET_LEASE.plural);
export const NODES_PATH = '/api/v1/nodes';

/**
 * One field manager per controller-owned lease condition: a server-side apply drops what its
 * manager applied before and leaves out now, so two conditions applied separately need two.
 */
const LEASE_CONDITION_MANAGERS: Record<string, string> = {
  SubnetConflict: FIELD_MANAGER_CONTROLLER,
  [BACKEND_REJECTED]: `${FIELD_MANAGER_CONTROLLER}-lease-checks`,
};

export interface NetworkControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  dataplane?: DataplaneRollout;
  /** Reject leases whose publicIP is not one of their Node's addresses (default true). */
  verifyPublicIP?: boolean;
  /** FlannelNetworks reconciled in parallel. */
  workers?: number;
  /** Parallel API writes within one reconcile. */
  writeConcurrency?: number;
  /** Re-enqueue every network this often (drift repair, dataplane status). */
  resyncMs?: number;
  watchdogMs?: number;
}

/** The fields of a Node the controller reads. */
export function slimNode(n: NodeLike): NodeLike {
  const m = n.metadata;
  const metadata: NodeLike['metadata'] & { resourceVersion?: string } = {
    name: m.name,
    uid: m.uid,
    labels: m.labels,
    creationTimestamp: m.creationTimestamp,
    resourceVersion: (m as { resourceVersion?: string }).resourceVersion,
  };
  if (m.deletionTimestamp) metadata.deletionTimestamp = m.deletionTimestamp;
  const spec: NonNullable<NodeLike['spec']> = {};
  if (n.spec?.podCIDR) spec.podCIDR = n.spec.podCIDR;
  if (n.spec?.podCIDRs) spec.podCIDRs = n.spec.podCIDRs;
  const addresses = (n.status?.addresses ?? [])
    .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
    .map(({ type, address }) => ({ type, address }));
  return addresses.length ? { metadata, spec, status: { addresses } } : { metadata, spec };
}

export class ReconcileError extends FlannelOperatorError {
  readonly code = 'ERECONCILE';
}

/**
 * Reconciles FlannelNetworks: one SubnetLease per served node, Node.spec.podCIDR(s) when
 * empty, releases for gone nodes, status via server-side apply of the status subresource.
 * All state lives in the API (leases are the durable claims); a restart rebuilds it from
 * lists (leases first, then networks and nodes) before anything is written.
 */
export class NetworkController {
  readonly networks: Informer<FlannelNetwork>;
  readonly leases: Informer<SubnetLease>;
  readonly nodes: Informer<NodeLike>;
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly client: KubeClient;
  /** Writes the informers have not shown yet: lease name -> created object, or null when deleted. */
  private readonly leaseOverlay = new Map<string, SubnetLease | null>();
  /**
   * Lease creates whose outcome is unknown (timeout, connection reset): they may have been
   * stored. Their subnets stay claimed and their nodes untouched until a GET settles them.
   */
  private readonly uncertain = new Map<string, SubnetLease>();
  /** Node podCIDRs we set that the node informer has not shown yet. */
  private readonly nodeOverlay = new Map<string, string[]>();
  /** Writes sent whose watch echo has not arrived: an echo queues no pass. */
  private readonly ownWrites = new OwnWrites();
  private signal?: AbortSignal;
  private started = false;
  /** Loaded by start() while it lists; every pass runs after that. */
  private planning?: typeof Planning;

  constructor(private readonly opts: NetworkControllerOptions) {
    this.client = opts.client;
    this.log = opts.logger.child({ component: 'network-controller' });
    const common = {
      client: opts.client,
      logger: this.log,
      watchdogMs: opts.watchdogMs ?? 180_000,
    };
    this.networks = new Informer<FlannelNetwork>({
      ...common,
      path: NETWORKS_PATH,
      resyncMs: opts.resyncMs ?? 300_000,
      transform: stripManagedFields,
    });
    this.leases = new Informer<SubnetLease>({
      ...common,
      path: LEASES_PATH,
      transform: stripManagedFields,
    });
    // Only name, uid, labels, timestamps and podCIDRs of a Node matter here; status (images,
    // conditions) is most of a real Node's size.
    this.nodes = new Informer<NodeLike>({ ...common, path: NODES_PATH, transform: slimNode });
    this.queue = new WorkQueue({
      handler: (key) => this.reconcile(key),
      concurrency: opts.workers ?? 2,
      logger: this.log,
      metrics: opts.metrics.queue,
      name: 'flannelnetworks',
    });
    this.wire();
  }

  /** Lists leases, then networks, then nodes; then starts the workers. Resolves when synced. */
  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    const planning = import('./planning.js');
    planning.catch(() => undefined); // awaited below; a failed list must not leave it unhandled
    await this.leases.start();
    await this.networks.start();
    await this.nodes.start();
    this.planning = await planning;
    if (signal.aborted) return;
    this.started = true;
    this.enqueueAll(true);
    this.queue.start();
    this.log.info(
      {
        networks: this.networks.list().length,
        leases: this.leases.list().length,
        nodes: this.nodes.list().length,
      },
      'caches synced; reconciling',
    );
  }

  private get planner(): typeof Planning {
    if (!this.planning) throw new ReconcileError('reconcile before start()');
    return this.planning;
  }

  hasSynced(): boolean {
    return this.started;
  }

  async stop(): Promise<void> {
    this.networks.stop();
    this.leases.stop();
    this.nodes.stop();
    await this.queue.stop();
  }

  /** Every network; with `orphans`, also names that only leases still mention (start, resync). */
  private enqueueAll(orphans = false): void {
    for (const key of this.networks.keys()) this.queue.add(key);
    if (!orphans) return;
    // Leases of networks that no longer exist are released by reconciling the missing name.
    const known = new Set(this.networks.keys());
    for (const l of this.leases.list())
      if (l.spec?.networkName && !known.has(l.spec.networkName)) this.queue.add(l.spec.networkName);
  }

  private wire(): void {
    const all = (): void => {
      if (this.started) this.enqueueAll();
    };
    this.networks.on('add', all);
    this.networks.on('delete', (n) => {
      if (n.metadata.name) this.queue.add(n.metadata.name);
      all();
    });
    this.networks.on('update', (n, old) => {
      // Our own status writes do not need a pass; spec (generation) and label changes do.
      if (
        n.metadata.generation !== old.metadata.generation ||
        n.metadata.deletionTimestamp !== old.metadata.deletionTimestamp
      )
        all();
    });
    this.networks.on('resync', () => this.started && this.enqueueAll(true));

    const onLease = (l: SubnetLease, deleted: boolean, created = false): void => {
      const name = l.metadata.name ?? '';
      const o = this.leaseOverlay.get(name);
      if (o !== undefined && (deleted ? o === null : o !== null)) this.leaseOverlay.delete(name);
      if (o === null && !deleted && l.metadata.uid !== undefined) {
        // A lease re-created under a name we deleted: the informer is authoritative again.
        this.leaseOverlay.delete(name);
      }
      // The lease a pass created, shown back as created: that pass already counted it.
      const echo = created && this.ownWrites.isLeaseEcho(l);
      if (!created) this.ownWrites.forgetLease(name);
      const net = l.spec?.networkName ?? l.metadata.labels?.[LABEL_NETWORK];
      if (net && this.started && !echo) this.queue.add(net);
    };
    this.leases.on('add', (l) => onLease(l, false, true));
    this.leases.on('update', (l) => onLease(l, false));
    this.leases.on('delete', (l) => onLease(l, true));

    const nodeChanged = (n: NodeLike, old?: NodeLike): void => {
      const name = n.metadata.name ?? '';
      if (this.nodeOverlay.has(name) && (n.spec?.podCIDR || !old)) this.nodeOverlay.delete(name);
      const change = old ? nodeChange(old, n) : 'other';
      const echo = this.ownWrites.isPodCIDREcho(n);
      // Only the podCIDRs a pass patched in: that pass already counted them.
      if (change === 'other' || (change === 'podCIDRs' && !echo)) all();
    };
    this.nodes.on('add', (n) => nodeChanged(n));
    this.nodes.on('update', (n, old) => nodeChanged(n, old));
    this.nodes.on('delete', (n) => {
      this.nodeOverlay.delete(n.metadata.name ?? '');
      this.ownWrites.forgetNode(n.metadata.name ?? '');
      all();
    });
  }

  /** Leases of a network as the informer shows them, plus our writes it has not shown yet. */
  private leasesOf(network: string): SubnetLease[] {
    const out = new Map<string, SubnetLease>();
    for (const l of this.leases.list()) {
      if ((l.spec?.networkName ?? l.metadata.labels?.[LABEL_NETWORK]) === network)
        out.set(l.metadata.name ?? '', l);
    }
    for (const [name, o] of this.leaseOverlay) {
      if (o === null) out.delete(name);
      else if (o.spec.networkName === network) out.set(name, o);
    }
    return [...out.values()];
  }

  private nodeList(): NodeLike[] {
    if (this.nodeOverlay.size === 0) return this.nodes.list();
    return this.nodes.list().map((n) => {
      const o = this.nodeOverlay.get(n.metadata.name ?? '');
      if (!o || n.spec?.podCIDR) return n;
      return { ...n, spec: { ...n.spec, podCIDR: o[0], podCIDRs: o } };
    });
  }

  /**
   * Writes carry the leadership signal: when leadership is lost (or on shutdown) in-flight
   * requests are cancelled, so a deposed leader stops writing before a successor may start.
   */
  private ensureActive(): void {
    if (this.signal?.aborted)
      throw new ReconcileError('controller stopping (leadership lost or shutdown)');
  }

  /** One pass over one FlannelNetwork (or the clean-up of a deleted one). */
  async reconcile(name: string): Promise<void> {
    const end = this.opts.metrics.reconcileDuration.startTimer();
    try {
      this.ensureActive();
      const obj = this.networks.get(name);
      if (!obj || obj.metadata.deletionTimestamp) {
        await this.cleanup(name);
        return;
      }
      const { prepareNetworks, planNetwork } = this.planner;
      const all = prepareNetworks(this.networks.list());
      const net = all.find((n) => n.name === name);
      if (!net) return;
      await this.settleUncertain(name);
      const plan = planNetwork(
        net,
        all,
        this.nodeList(),
        this.leasesOf(name),
        this.pendingClaims(name),
      );
      const { failures, changed } = await this.execute(net, plan);
      await this.report(plan);
      await this.flagConflicts(name, plan);
      if (!net.refused) await this.flagRejected(net);
      let dataplane: DataplaneStatus | undefined;
      let dataplaneError: string | undefined;
      if (this.opts.dataplane && !net.refused) {
        try {
          dataplane = await this.opts.dataplane.reconcile(obj);
        } catch (err) {
          dataplaneError = `dataplane rollout failed: ${(err as Error).message}`;
          this.log.warn({ err, network: name }, 'dataplane rollout failed');
        }
      }
      // After this pass's writes the summary already counts them (the plan assumed success).
      await this.writeStatus(
        net,
        computeStatus({
          network: net,
          summary: plan.summary,
          failures,
          changed: false,
          dataplane,
          dataplaneError,
        }),
      );
      this.opts.metrics.subnetsAllocated.set(
        { network: name, family: 'ipv4' },
        plan.summary.allocated,
      );
      this.opts.metrics.subnetsFree.set({ network: name, family: 'ipv4' }, plan.summary.free);
      if (plan.summary.ipv6Allocated !== undefined)
        this.opts.metrics.subnetsAllocated.set(
          { network: name, family: 'ipv6' },
          plan.summary.ipv6Allocated,
        );
      if (failures > 0)
        throw new ReconcileError(`${failures} write(s) failed for FlannelNetwork ${name}`);
      if (dataplaneError) throw new ReconcileError(dataplaneError);
      if (changed && plan.actions.some((a) => a.type === 'deleteLease')) {
        // Released subnets (and re-leases after a podCIDR mismatch) are handed out on the next pass.
        this.queue.addAfter(name, 50);
      }
    } catch (err) {
      this.opts.metrics.reconcileErrors.inc();
      throw err;
    } finally {
      end();
    }
  }

  private async execute(
    net: PreparedNetwork,
    plan: Plan,
  ): Promise<{ failures: number; changed: boolean }> {
    let failures = 0;
    let changed = false;
    const limit = this.opts.writeConcurrency ?? 16;
    const fail = (err: unknown, what: string): void => {
      failures++;
      this.log.warn({ err, network: net.name }, `${what} failed`);
    };
    const deletes = plan.actions.filter((a) => a.type === 'deleteLease');
    await runLimited(deletes, limit, async (a) => {
      this.ensureActive();
      try {
        await this.client.delete(objectPath(API_VERSION, SUBNET_LEASE.plural, a.name), {
          preconditions: a.uid ? { uid: a.uid } : undefined,
          signal: this.signal,
        });
        this.leaseOverlay.set(a.name, null);
        changed = true;
        this.opts.metrics.releases.inc({ network: net.name, reason: a.reason });
        this.log.info(
          {
            network: net.name,
            lease: a.name,
            node: a.nodeName,
            subnet: a.subnet,
            reason: a.reason,
          },
          'released subnet',
        );
      } catch (err) {
        fail(err, `delete lease ${a.name}`);
      }
    });
    const writes = plan.actions.filter((a) => a.type !== 'deleteLease');
    await runLimited(writes, limit, async (a) => {
      this.ensureActive();
      if (a.type === 'patchNode') {
        if (
          await this.patchNode(a.nodeName, a.podCIDRs).catch(
            (err: unknown) => (fail(err, `patch node ${a.nodeName}`), false),
          )
        )
          changed = true;
        return;
      }
      if (a.type !== 'createLease') return;
      const body = this.planner.leaseObject(net, a.lease);
      this.ownWrites.expectLease(a.lease.name, body.spec);
      try {
        const created = await this.client.create<SubnetLease>(LEASES_PATH, body, {
          fieldManager: FIELD_MANAGER_CONTROLLER,
          signal: this.signal,
        });
        if (!this.leases.get(a.lease.name)) this.leaseOverlay.set(a.lease.name, created);
        changed = true;
        this.opts.metrics.allocations.inc({
          network: net.name,
          kind: a.lease.adopted ? 'adopted' : 'allocated',
        });
        this.log.debug(
          {
            network: net.name,
            node: a.lease.nodeName,
            subnet: a.lease.subnet,
            ipv6Subnet: a.lease.ipv6Subnet,
            adopted: a.lease.adopted,
          },
          'leased subnet',
        );
      } catch (err) {
        this.ownWrites.forgetLease(a.lease.name);
        if (isAlreadyExists(err)) {
          // Someone (a previous life of this controller) holds the name: learn it, decide next pass.
          const existing = await this.client
            .getOrUndefined<SubnetLease>(objectPath(API_VERSION, SUBNET_LEASE.plural, a.lease.name))
            .catch(() => undefined);
          if (existing) this.leaseOverlay.set(a.lease.name, existing);
          changed = true;
          this.queue.addAfter(net.name, 10);
        } else {
          if (!(err instanceof KubeApiError) || err.status === 0 || err.status >= 500) {
            this.uncertain.set(a.lease.name, body as SubnetLease);
          }
          fail(err, `create lease ${a.lease.name}`);
        }
        return;
      }
      if (a.patchNode) {
        this.ensureActive();
        try {
          await this.patchNode(a.lease.nodeName, a.patchNode);
        } catch (err) {
          fail(err, `patch node ${a.lease.nodeName}`);
        }
      }
    });
    return { failures, changed };
  }

  /** Lease names (and their subnets) whose create may or may not have been stored. */
  private pendingClaims(network: string): SubnetLease[] {
    return [...this.uncertain.values()].filter((l) => l.spec.networkName === network);
  }

  /** Looks up leases whose create had an unknown outcome; keeps them pending while the API is unreachable. */
  private async settleUncertain(network: string): Promise<void> {
    for (const l of this.pendingClaims(network)) {
      const name = l.metadata.name ?? '';
      if (this.leases.get(name)) {
        this.uncertain.delete(name);
        continue;
      }
      const got = await this.client.getOrUndefined<SubnetLease>(
        objectPath(API_VERSION, SUBNET_LEASE.plural, name),
      );
      this.uncertain.delete(name);
      if (got) this.leaseOverlay.set(name, got);
    }
  }

  /** Sets podCIDR(s) of a node that has none (the API server rejects changing a set value). */
  private async patchNode(nodeName: string, podCIDRs: string[]): Promise<boolean> {
    this.ownWrites.expectPodCIDRs(nodeName, podCIDRs);
    try {
      await this.client.patch(
        objectPath('v1', 'nodes', nodeName),
        { spec: { podCIDR: podCIDRs[0], podCIDRs } },
        { type: 'merge', fieldManager: FIELD_MANAGER_CONTROLLER, signal: this.signal },
      );
    } catch (err) {
      this.ownWrites.forgetNode(nodeName);
      if (isNotFound(err)) return false;
      throw err;
    }
    this.nodeOverlay.set(nodeName, podCIDRs);
    this.opts.metrics.podCIDRsSet.inc();
    return true;
  }

  /**
   * Sets condition SubnetConflict on leases that share a subnet with an older lease (and clears
   * it once resolved). Status is server-side applied; conditions are a map keyed by type, so
   * the agent's own conditions on the same lease are untouched.
   */
  private async flagConflicts(network: string, plan: Plan): Promise<void> {
    const conflicted = new Set(plan.summary.conflicts);
    const notes = new Map(
      plan.events
        .filter((e) => e.target === 'lease' && e.reason === 'SubnetConflict')
        .map((e) => [e.name, e.note]),
    );
    const changes: Array<{ name: string; flagged: boolean }> = [];
    for (const l of this.leasesOf(network)) {
      const name = l.metadata.name ?? '';
      const cond = l.status?.conditions?.find((c) => c.type === 'SubnetConflict');
      const want = conflicted.has(name);
      if (want !== (cond?.status === 'True') && (want || cond))
        changes.push({ name, flagged: want });
    }
    await runLimited(changes, 4, async ({ name, flagged }) => {
      await this.setLeaseCondition(name, {
        type: 'SubnetConflict',
        status: flagged ? 'True' : 'False',
        reason: flagged ? 'SubnetHeldByOlderLease' : 'Resolved',
        message: flagged ? (notes.get(name) ?? 'subnet is held by an older lease') : '',
        lastTransitionTime: rfc3339(new Date()),
      });
    });
  }

  /**
   * Sets BackendRejected on leases whose agent-written backend data is hostile or conflicting
   * (lease-checks.ts) and clears it once fixed; agents never program a flagged lease. A Warning
   * Event tells humans when a lease is flagged or its problem changes.
   */
  private async flagRejected(net: PreparedNetwork): Promise<void> {
    const leases = this.leasesOf(net.name);
    const nodes = new Map(this.nodeList().map((n) => [n.metadata.name ?? '', n]));
    const b = net.spec?.backend;
    const verdicts = this.planner.rejectLeases(leases, nodes, {
      uniqueAddresses: b?.type === 'host-gw' || !!b?.directRouting,
      verifyPublicIP: this.opts.verifyPublicIP ?? true,
    });
    const changes: Array<{ lease: SubnetLease; verdict?: LeaseRejection }> = [];
    for (const lease of leases) {
      const cond = lease.status?.conditions?.find((c) => c.type === BACKEND_REJECTED);
      const verdict = verdicts.get(lease.metadata.name ?? '');
      const same = verdict
        ? cond?.status === 'True' &&
          cond.reason === verdict.reason &&
          cond.message === verdict.message
        : !cond || cond.status === 'False';
      if (!same) changes.push({ lease, verdict });
    }
    await runLimited(changes, 4, async ({ lease, verdict }) => {
      const name = lease.metadata.name ?? '';
      const was = lease.status?.conditions?.find((c) => c.type === BACKEND_REJECTED);
      const status = verdict ? 'True' : 'False';
      const written = await this.setLeaseCondition(name, {
        type: BACKEND_REJECTED,
        status,
        reason: verdict?.reason ?? 'Accepted',
        message: verdict ? `${verdict.message}; agents do not program this lease` : '',
        lastTransitionTime: was?.status === status ? was.lastTransitionTime : rfc3339(new Date()),
      });
      if (!written) return;
      if (verdict) {
        this.log.warn({ lease: name, ...verdict }, 'lease rejected: agents do not program it');
        await this.opts.events.record(
          { apiVersion: API_VERSION, kind: SUBNET_LEASE.kind, name, uid: lease.metadata.uid },
          'Warning',
          verdict.reason,
          'Verify',
          `${verdict.message}; agents do not program this lease`,
        );
      }
    });
  }

  /** Server-side applies one controller-owned condition on a lease; false when not written. */
  private async setLeaseCondition(name: string, condition: Condition): Promise<boolean> {
    this.ensureActive();
    try {
      await this.client.applyStatus(
        {
          apiVersion: API_VERSION,
          kind: SUBNET_LEASE.kind,
          metadata: { name },
          status: { conditions: [condition] },
        },
        {
          fieldManager: LEASE_CONDITION_MANAGERS[condition.type] ?? FIELD_MANAGER_CONTROLLER,
          force: true,
          signal: this.signal,
        },
      );
      return true;
    } catch (err) {
      if (!isNotFound(err))
        this.log.warn(
          { err, lease: name, condition: condition.type },
          'could not set lease condition',
        );
      return false;
    }
  }

  private async report(plan: Plan): Promise<void> {
    const events = this.opts.events;
    await runLimited(plan.events, 4, async (e) => {
      const target =
        e.target === 'network'
          ? { apiVersion: API_VERSION, kind: FLANNEL_NETWORK.kind, name: e.name, uid: e.uid }
          : e.target === 'node'
            ? { apiVersion: 'v1', kind: 'Node', name: e.name, uid: e.uid }
            : { apiVersion: API_VERSION, kind: SUBNET_LEASE.kind, name: e.name, uid: e.uid };
      await events.record(
        target,
        e.type,
        e.reason,
        e.target === 'network' ? 'Reconcile' : 'Allocate',
        e.note,
      );
    });
  }

  private async writeStatus(
    net: PreparedNetwork,
    status: ReturnType<typeof computeStatus>,
  ): Promise<void> {
    const current = this.networks.get(net.name)?.status;
    if (current && sameStatus(current, status)) return;
    this.ensureActive();
    await this.client.applyStatus(
      { apiVersion: API_VERSION, kind: FLANNEL_NETWORK.kind, metadata: { name: net.name }, status },
      { fieldManager: FIELD_MANAGER_CONTROLLER, force: true, signal: this.signal },
    );
  }

  /** A deleted network: release all its leases (no finalizer on the user's object) and its dataplane. */
  private async cleanup(name: string): Promise<void> {
    const leases = this.leasesOf(name);
    let failures = 0;
    await runLimited(leases, this.opts.writeConcurrency ?? 16, async (l) => {
      this.ensureActive();
      try {
        await this.client.delete(
          objectPath(API_VERSION, SUBNET_LEASE.plural, l.metadata.name ?? ''),
          {
            preconditions: l.metadata.uid ? { uid: l.metadata.uid } : undefined,
            signal: this.signal,
          },
        );
        this.leaseOverlay.set(l.metadata.name ?? '', null);
        this.opts.metrics.releases.inc({ network: name, reason: 'NetworkDeleted' });
      } catch (err) {
        failures++;
        this.log.warn({ err, lease: l.metadata.name }, 'releasing lease of deleted network failed');
      }
    });
    if (this.opts.dataplane) await this.opts.dataplane.remove(name);
    this.opts.metrics.subnetsAllocated.remove({ network: name, family: 'ipv4' });
    this.opts.metrics.subnetsFree.remove({ network: name, family: 'ipv4' });
    if (leases.length)
      this.log.info(
        { network: name, released: leases.length - failures },
        'network deleted; released its leases',
      );
    if (failures)
      throw new ReconcileError(`${failures} lease(s) of deleted network ${name} not released`);
  }
}
