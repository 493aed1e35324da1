import type { Condition, FlannelNetworkStatus } from '../api/index.js';
import { setCondition } from '../kube/apply.js';
import type { DataplaneStatus } from './dataplane/index.js';
import type { PlanSummary, PreparedNetwork } from './plan.js';

export interface StatusInput {
  network: PreparedNetwork;
  summary: PlanSummary;
  /** Actions that failed this pass (API errors); the network is still converging. */
  failures: number;
  /** Actions still expected to land (created/deleted this pass). */
  changed: boolean;
  dataplane?: DataplaneStatus;
  dataplaneError?: string;
  now?: Date;
}

/**
 * kstatus-compatible status: healthy = Ready=True, Reconciling=False, Degraded=False, all with
 * observedGeneration. Degraded carries the reason (InvalidSpec, OverlappingNetwork,
 * NetworkExhausted, SubnetConflict, UnusablePodCIDR) and is mirrored by Stalled=True (present only
 * while true) so kstatus reports Failed; Reconciling=True while the controller itself still has
 * work (nodes waiting for a lease it is writing, API errors, agents rolling out). Nodes that wait
 * for a user (no free subnet, unusable podCIDR, conflicting lease) leave Reconciling=False with
 * reason Blocked and a message that says so: Ready is never True while a served node lacks a lease.
 */
export function computeStatus(input: StatusInput): FlannelNetworkStatus {
  const { network, summary } = input;
  const gen = network.generation;
  const now = input.now ?? new Date();
  const prev = network.object.status?.conditions;
  const degraded = degradedOf(network, summary);
  const reconciling = network.refused ? undefined : reconcilingOf(input);

  // Ready only when every served node holds a lease: a node left without one is never "Ready".
  const ready = !degraded && !reconciling && summary.leased >= summary.nodes;
  const why = degraded ?? reconciling ?? settledOf(summary);
  const readyMsg = ready
    ? `${summary.leased}/${summary.nodes} nodes leased; ${summary.allocated}/${summary.capacity} subnets in use`
    : why.message;
  let conditions: Condition[] = [...(prev ?? [])];
  conditions = setCondition(
    conditions,
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: ready ? 'Ready' : why.reason,
      message: readyMsg,
      observedGeneration: gen,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: 'Reconciling',
      status: reconciling ? 'True' : 'False',
      ...(reconciling ?? settledOf(summary)),
      observedGeneration: gen,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: 'Degraded',
      status: degraded ? 'True' : 'False',
      reason: degraded?.reason ?? 'AsExpected',
      message: degraded?.message ?? '',
      observedGeneration: gen,
    },
    now,
  );
  // kstatus (Flux, kpt, cli-utils) knows Reconciling, Stalled and Ready, not Degraded: Ready=False
  // alone reads as InProgress, so a wait would time out instead of failing. Stalled=True mirrors
  // Degraded (every Degraded reason needs a user's action) and makes kstatus report Failed; like
  // Flux, the condition is present only while true.
  if (degraded) {
    conditions = setCondition(
      conditions,
      {
        type: 'Stalled',
        status: 'True',
        reason: degraded.reason,
        message: degraded.message,
        observedGeneration: gen,
      },
      now,
    );
  }
  conditions = conditions.filter(
    (c) =>
      ['Ready', 'Reconciling', 'Degraded'].includes(c.type) || (c.type === 'Stalled' && !!degraded),
  );

  const status: FlannelNetworkStatus = {
    observedGeneration: gen,
    conditions,
  };
  if (network.v4) {
    status.capacity = summary.capacity;
    status.allocated = summary.allocated;
    status.free = summary.free;
  }
  if (network.v6) {
    status.ipv6Capacity = summary.ipv6Capacity;
    status.ipv6Allocated = summary.ipv6Allocated ?? 0;
  }
  const effective: NonNullable<FlannelNetworkStatus['effective']> = {};
  if (network.v4) effective.subnetLen = network.v4.subnetLen;
  if (network.v6) effective.ipv6SubnetLen = network.v6.subnetLen;
  if (network.v4 || network.v6) status.effective = effective;
  if (input.dataplane) status.dataplane = { ...input.dataplane };
  return status;
}

/** Equality ignoring key order, to skip status writes that change nothing. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([x], [y]) =>
            x < y ? -1 : x > y ? 1 : 0,
          ),
        )
      : val,
  );
}

type Reason = { reason: string; message: string };

/** Why the network needs a user's action (mirrored by Stalled), most fundamental first. */
function degradedOf(network: PreparedNetwork, summary: PlanSummary): Reason | undefined {
  if (network.refused) return network.refused;
  if (summary.exhausted > 0)
    return {
      reason: 'NetworkExhausted',
      message: `${summary.exhausted} node(s) have no subnet: all ${summary.capacity || summary.ipv6Capacity} subnets are leased`,
    };
  if (summary.conflicts.length > 0)
    return {
      reason: 'SubnetConflict',
      message: `leases share a subnet or lie outside the network: ${firstTen(summary.conflicts)}`,
    };
  if (summary.podCIDRProblems.length > 0)
    return {
      reason: 'UnusablePodCIDR',
      message: `${summary.podCIDRProblems.length} node(s) have a podCIDR this network cannot lease; nothing is allocated on top of it: ${firstTen(summary.podCIDRProblems, '; ')}`,
    };
  return undefined;
}

function firstTen(list: string[], sep = ', '): string {
  return `${list.slice(0, 10).join(sep)}${list.length > 10 ? `${sep}...` : ''}`;
}

/** Work this controller still expects to finish on its own (kstatus InProgress). */
function reconcilingOf(input: StatusInput): Reason | undefined {
  const { summary } = input;
  const pending =
    summary.nodes - summary.leased - summary.exhausted - summary.skipped - summary.conflictedNodes;
  if (pending > 0 || input.failures > 0 || input.changed) {
    return {
      reason: 'AllocatingSubnets',
      message: `${summary.leased}/${summary.nodes} nodes leased${input.failures ? `, ${input.failures} API error(s), retrying` : ''}`,
    };
  }
  if (input.dataplaneError) return { reason: 'DataplaneRollout', message: input.dataplaneError };
  const d = input.dataplane;
  if (d && (d.ready < d.desired || d.updated < d.desired)) {
    return {
      reason: 'DataplaneRollout',
      message: `dataplane ${d.ready}/${d.desired} ready, ${d.updated}/${d.desired} updated`,
    };
  }
  return undefined;
}

/** Reconciling=False: either all served nodes hold a lease, or the rest wait for a user (Degraded). */
function settledOf(summary: PlanSummary): Reason {
  const held = `${summary.leased}/${summary.nodes} served nodes hold a lease`;
  const blocked = [
    [summary.exhausted, 'wait for a free subnet'],
    [summary.skipped, 'have an unusable podCIDR'],
    [summary.conflictedNodes, 'have a conflicting lease'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n as number} ${what as string}`);
  if (!blocked.length) return { reason: 'Reconciled', message: held };
  return { reason: 'Blocked', message: `${held}; ${blocked.join(', ')} (see Degraded)` };
}
