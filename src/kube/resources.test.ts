import { resourcePath, collectionPath, objectKey } from './resources.js';
import { setCondition, ownerReference, type ConditionLike } from './apply.js';
import { toApiError, isGone, isConflict, isAlreadyExists } from './client.js';

describe('resource paths', () => {
  it('builds core, group, namespaced and cluster paths', () => {
    expect(resourcePath({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } })).toBe(
      '/api/v1/nodes/n1',
    );
    expect(
      resourcePath({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l', namespace: 'ns' },
      }),
    ).toBe('/apis/coordination.k8s.io/v1/namespaces/ns/leases/l');
    expect(
      resourcePath({
        apiVersion: 'network.flannel-operator.io/v1alpha1',
        kind: 'SubnetLease',
        metadata: { name: 'a.b' },
      }),
    ).toBe('/apis/network.flannel-operator.io/v1alpha1/subnetleases/a.b');
    expect(collectionPath('apps/v1', 'daemonsets', 'kube-system')).toBe(
      '/apis/apps/v1/namespaces/kube-system/daemonsets',
    );
    expect(() =>
      resourcePath({ apiVersion: 'x/v1', kind: 'Nope', metadata: { name: 'a' } }),
    ).toThrow(/unknown resource/);
    expect(objectKey({ metadata: { name: 'a', namespace: 'b' } })).toBe('b/a');
  });
});

describe('setCondition', () => {
  it('keeps lastTransitionTime when status is unchanged', () => {
    const t1 = new Date('2024-01-01T00:00:00Z');
    const t2 = new Date('2024-01-02T00:00:00Z');
    const a = setCondition(
      [] as ConditionLike[],
      { type: 'Ready', status: 'False', reason: 'X', message: '' },
      t1,
    );
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Y', message: 'm' }, t2);
    expect(b[0]).toMatchObject({ reason: 'Y', lastTransitionTime: '2024-01-01T00:00:00Z' });
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Z', message: '' }, t2);
    expect(c[0]!.lastTransitionTime).toBe('2024-01-02T00:00:00Z');
    expect(a).toHaveLength(1);
  });
  it('builds owner references', () => {
    expect(
      ownerReference(
        { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', uid: 'u' } },
        { controller: false },
      ),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'Node',
      name: 'n',
      uid: 'u',
      controller: false,
    });
  });
});

describe('misc', () => {
  it('maps Status bodies to typed errors', () => {
    const e = toApiError(
      409,
      { kind: 'Status', reason: 'AlreadyExists', message: 'exists' },
      'POST',
      '/x',
    );
    expect(isConflict(e) && isAlreadyExists(e)).toBe(true);
    expect(e.code).toBe('EKUBE_ALREADYEXISTS');
    expect(isGone(toApiError(410, { reason: 'Expired' }))).toBe(true);
  });
});
