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
 * NetworkExhausted, SubnetConflict) and is mirrored by Stalled=True (present only while true) so
 * kstatus reports Failed; Reconciling=True while nodes still lack leases.
 */
export function computeStatus(input: StatusInput): FlannelNetworkStatus {
  const { network, summary } = input;
  const gen = network.generation;
  const now = input.now ?? new Date();
  const prev = network.object.status?.conditions;

  let degraded: { reason: string; message: string } | undefined;
  if (network.refused) degraded = network.refused;
  else if (summary.exhausted > 0)
    degraded = {
      reason: 'NetworkExhausted',
      message: `${summary.exhausted} node(s) have no subnet: all ${summary.capacity || summary.ipv6Capacity} subnets are leased`,
    };
  else if (summary.conflicts.length > 0)
    degraded = {
      reason: 'SubnetConflict',
      message: `leases share a subnet or lie outside the network: ${summary.conflicts.slice(0, 10).join(', ')}${summary.conflicts.length > 10 ? ', ...' : ''}`,
    };

  const pending = network.refused
    ? 0
    : summary.nodes - summary.leased - summary.exhausted - summary.skipped;
  let reconciling: { reason: string; message: string } | undefined;
  if (!network.refused) {
    if (pending > 0 || input.failures > 0 || input.changed) {
      reconciling = {
        reason: 'AllocatingSubnets',
        message: `${summary.leased}/${summary.nodes} nodes leased${input.failures ? `, ${input.failures} API error(s), retrying` : ''}`,
      };
    } else if (input.dataplaneError) {
      reconciling = { reason: 'DataplaneRollout', message: input.dataplaneError };
    } else if (
      input.dataplane &&
      (input.dataplane.ready < input.dataplane.desired ||
        input.dataplane.updated < input.dataplane.desired)
    ) {
      const d = input.dataplane;
      reconciling = {
        reason: 'DataplaneRollout',
        message: `dataplane ${d.ready}/${d.desired} ready, ${d.updated}/${d.desired} updated`,
      };
    }
  }

  const ready = !degraded && !reconciling;
  const readyMsg = ready
    ? `${summary.leased}/${summary.nodes} nodes leased; ${summary.allocated}/${summary.capacity} subnets in use`
    : (degraded ?? reconciling)!.message;
  let conditions: Condition[] = [...(prev ?? [])];
  conditions = setCondition(
    conditions,
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: ready ? 'Ready' : (degraded ?? reconciling)!.reason,
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
      reason: reconciling?.reason ?? 'Reconciled',
      message: reconciling?.message ?? 'all served nodes hold a lease',
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
