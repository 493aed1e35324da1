/**
 * The FlannelNetwork conditions as kstatus (Flux, kpt, cli-utils) judges them, for the states the
 * rollout produces. kstatus: Reconciling=True -> InProgress, Stalled=True -> Failed, Ready=True ->
 * Current; it does not know Degraded, hence Stalled mirrors it. The live check against cli-utils
 * itself is test-e2e/gitops.
 */
import type { Condition, FlannelNetwork } from '../../api/index.js';
import { planNetwork, prepareNetworks, type NodeLike } from '../plan.js';
import { computeStatus } from '../status.js';

const node = (name: string): NodeLike => ({
  metadata: { name, uid: `uid-${name}`, creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: {},
});

function statusOf(
  spec: Record<string, unknown>,
  nodes: NodeLike[],
  dataplane?: { ready: number; updated: number },
) {
  const net: FlannelNetwork = {
    metadata: { name: 'a', uid: 'uid-a', generation: 3, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: spec as FlannelNetwork['spec'],
  };
  const all = prepareNetworks([net]);
  const prepared = all[0]!;
  const plan = planNetwork(prepared, all, nodes, [], []);
  // Pretend this pass's creates landed, as the controller does after executing them.
  const summary = {
    ...plan.summary,
    leased: plan.summary.leased + plan.actions.filter((x) => x.type === 'createLease').length,
  };
  return computeStatus({
    network: prepared,
    summary,
    failures: 0,
    changed: false,
    dataplane: dataplane && { desired: nodes.length, ...dataplane, configHash: 'h' },
  });
}

/** kstatus' rule for custom resources with standard conditions. */
function kstatus(conditions: Condition[]): 'InProgress' | 'Failed' | 'Current' {
  for (const c of conditions) {
    if (c.type === 'Reconciling' && c.status === 'True') return 'InProgress';
    if (c.type === 'Stalled' && c.status === 'True') return 'Failed';
  }
  const ready = conditions.find((c) => c.type === 'Ready');
  return ready && ready.status !== 'True' ? 'InProgress' : 'Current';
}

describe('FlannelNetwork conditions under kstatus', () => {
  it('Current when every node is leased and the agents are ready and updated', () => {
    const s = statusOf({ network: '10.1.0.0/16' }, [node('n1'), node('n2')], {
      ready: 2,
      updated: 2,
    });
    expect(kstatus(s.conditions!)).toBe('Current');
    expect(s.conditions!.map((c) => c.type)).not.toContain('Stalled');
    expect(s.conditions!.every((c) => c.observedGeneration === 3)).toBe(true);
  });

  it('InProgress (Reconciling=True, DataplaneRollout) while agents roll', () => {
    for (const dp of [
      { ready: 1, updated: 2 },
      { ready: 2, updated: 1 },
    ]) {
      const s = statusOf({ network: '10.1.0.0/16' }, [node('n1'), node('n2')], dp);
      expect(kstatus(s.conditions!)).toBe('InProgress');
      expect(s.conditions!.find((c) => c.type === 'Reconciling')).toMatchObject({
        status: 'True',
        reason: 'DataplaneRollout',
      });
    }
  });

  it('Failed (Stalled=True mirroring Degraded) when the network is exhausted', () => {
    const nodes = Array.from({ length: 5 }, (_, i) => node(`n${i}`));
    const s = statusOf({ network: '10.3.0.0/24', subnetLen: 26 }, nodes);
    const cond = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    expect(cond.Degraded).toMatchObject({ status: 'True', reason: 'NetworkExhausted' });
    expect(cond.Stalled).toMatchObject({
      status: 'True',
      reason: 'NetworkExhausted',
      message: cond.Degraded!.message,
      observedGeneration: 3,
    });
    expect(kstatus(s.conditions!)).toBe('Failed');
  });
});
