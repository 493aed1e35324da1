import { FlannelOperatorError } from '../errors.js';

/**
 * REST paths of the resources the operator touches. Kept static (no discovery round trip);
 * `registerResource` adds more.
 */
export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string };
}

export class UnknownResourceError extends FlannelOperatorError {
  readonly code = 'EKUBE_UNKNOWN_RESOURCE';
}

const known = new Map<string, ResourceInfo>([
  ['v1/Node', { plural: 'nodes', namespaced: false }],
  ['v1/Namespace', { plural: 'namespaces', namespaced: false }],
  ['v1/Pod', { plural: 'pods', namespaced: true }],
  ['v1/ConfigMap', { plural: 'configmaps', namespaced: true }],
  ['v1/Secret', { plural: 'secrets', namespaced: true }],
  ['v1/ServiceAccount', { plural: 'serviceaccounts', namespaced: true }],
  ['v1/Service', { plural: 'services', namespaced: true }],
  ['v1/Event', { plural: 'events', namespaced: true }],
  ['events.k8s.io/v1/Event', { plural: 'events', namespaced: true }],
  ['apps/v1/DaemonSet', { plural: 'daemonsets', namespaced: true }],
  ['apps/v1/Deployment', { plural: 'deployments', namespaced: true }],
  ['coordination.k8s.io/v1/Lease', { plural: 'leases', namespaced: true }],
  ['rbac.authorization.k8s.io/v1/ClusterRole', { plural: 'clusterroles', namespaced: false }],
  [
    'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    { plural: 'clusterrolebindings', namespaced: false },
  ],
  ['rbac.authorization.k8s.io/v1/Role', { plural: 'roles', namespaced: true }],
  ['rbac.authorization.k8s.io/v1/RoleBinding', { plural: 'rolebindings', namespaced: true }],
  [
    'apiextensions.k8s.io/v1/CustomResourceDefinition',
    { plural: 'customresourcedefinitions', namespaced: false },
  ],
  [
    'network.flannel-operator.io/v1alpha1/FlannelNetwork',
    { plural: 'flannelnetworks', namespaced: false },
  ],
  [
    'network.flannel-operator.io/v1alpha1/SubnetLease',
    { plural: 'subnetleases', namespaced: false },
  ],
]);

export function registerResource(apiVersion: string, kind: string, info: ResourceInfo): void {
  known.set(`${apiVersion}/${kind}`, info);
}

export function resourceInfo(apiVersion: string, kind: string): ResourceInfo {
  const info = known.get(`${apiVersion}/${kind}`);
  if (!info)
    throw new UnknownResourceError(
      `unknown resource ${apiVersion} ${kind}; call registerResource first`,
    );
  return info;
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Collection path (no name) or object path (with name). */
export function collectionPath(apiVersion: string, plural: string, namespace?: string): string {
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(apiVersion)}${ns}/${plural}`;
}

export function objectPath(
  apiVersion: string,
  plural: string,
  name: string,
  namespace?: string,
): string {
  return `${collectionPath(apiVersion, plural, namespace)}/${encodeURIComponent(name)}`;
}

/** Path of an object from its apiVersion, kind, name and namespace. */
export function resourcePath(obj: ObjectRef): string {
  const info = resourceInfo(obj.apiVersion, obj.kind);
  const name = obj.metadata.name;
  if (!name) throw new UnknownResourceError(`${obj.kind} without metadata.name`);
  if (info.namespaced && !obj.metadata.namespace)
    throw new UnknownResourceError(`${obj.kind} ${name} needs a namespace`);
  return objectPath(
    obj.apiVersion,
    info.plural,
    name,
    info.namespaced ? obj.metadata.namespace : undefined,
  );
}

/** Key an informer stores an object under: `namespace/name` or `name`. */
export function objectKey(obj: { metadata: { name?: string; namespace?: string } }): string {
  const { name = '', namespace } = obj.metadata;
  return namespace ? `${namespace}/${name}` : name;
}
