import { slimLease } from './slim-lease.js';
import { peerOfLease } from './peers.js';
import type { SubnetLease } from '../api/index.js';

const condition = (type: string, status: 'True' | 'False') => ({
  type,
  status,
  reason: 'R',
  message: `${type} is ${status}`,
  lastTransitionTime: '2026-12-06T08:00:00Z',
  observedGeneration: 1,
});

function lease(node: string, conditions = [condition('Ready', 'True')]): SubnetLease {
  return {
    apiVersion: 'network.flannel-operator.io/v1alpha1',
    kind: 'SubnetLease',
    metadata: {
      name: `net-${node}`,
      uid: `uid-${node}`,
      generation: 3,
      resourceVersion: '42',
      creationTimestamp: '2026-12-06T07:00:00Z',
      deletionTimestamp: '2026-12-06T09:00:00Z',
      labels: { 'network.flannel-operator.io/node': node },
      annotations: { note: 'x'.repeat(100) },
      finalizers: ['f'],
      ...{ managedFields: [{ manager: 'flannel-operator', fieldsV1: { 'f:spec': {} } }] },
    },
    spec: { nodeName: node, networkName: 'net', subnet: '10.244.2.0/24' },
    status: {
      publicIP: '10.200.0.2',
      backend: { type: 'vxlan', vni: 1, vtepMAC: '0e:00:00:00:00:02' },
      conditions,
    },
  };
}

describe('slimLease', () => {
  it('keeps the metadata the agent reads and drops managedFields, labels, annotations, finalizers', () => {
    expect(slimLease(lease('n2'), 'n1').metadata).toEqual({
      name: 'net-n2',
      uid: 'uid-n2',
      generation: 3,
      resourceVersion: '42',
      creationTimestamp: '2026-12-06T07:00:00Z',
      deletionTimestamp: '2026-12-06T09:00:00Z',
    });
  });

  it("a peer's lease plans the same peer as the whole lease, without conditions but BackendRejected=True", () => {
    for (const conditions of [
      [condition('Ready', 'True')],
      [condition('Ready', 'False'), condition('BackendRejected', 'True')],
      [condition('BackendRejected', 'False')],
      [],
    ]) {
      const whole = lease('n2', conditions);
      const slim = slimLease(whole, 'n1');
      expect(peerOfLease(slim)).toEqual(peerOfLease(whole));
      expect(slim.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(
        conditions.some((c) => c.type === 'BackendRejected' && c.status === 'True')
          ? ['BackendRejected=True']
          : undefined,
      );
    }
  });

  it('its own lease keeps every condition (its status keeps their transition times)', () => {
    const own = lease('n1', [condition('Ready', 'True'), condition('ForwardingBlocked', 'False')]);
    expect(slimLease(own, 'n1').status).toEqual(own.status);
    expect(slimLease(own, 'n1').spec).toEqual(own.spec);
  });

  it('a lease without status stays without', () => {
    const { status: _, ...bare } = lease('n2');
    expect(slimLease(bare, 'n1').status).toBeUndefined();
  });
});
