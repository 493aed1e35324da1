/** API group, version and names shared by the CRDs, the controller, the agent and the CLI. */
export const GROUP = 'network.flannel-operator.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const FLANNEL_NETWORK = {
  kind: 'FlannelNetwork',
  listKind: 'FlannelNetworkList',
  plural: 'flannelnetworks',
  singular: 'flannelnetwork',
  shortNames: ['fnet'],
} as const;

export const SUBNET_LEASE = {
  kind: 'SubnetLease',
  listKind: 'SubnetLeaseList',
  plural: 'subnetleases',
  singular: 'subnetlease',
  shortNames: ['slease'],
} as const;

/** Labels the controller puts on every SubnetLease so agents and the CLI can select them. */
export const LABEL_NETWORK = `${GROUP}/network`;
export const LABEL_NODE = `${GROUP}/node`;

/** Field manager names used for server-side apply; one per writer so ownership stays clear. */
export const FIELD_MANAGER_CONTROLLER = 'flannel-operator-controller';
export const FIELD_MANAGER_AGENT = 'flannel-operator-agent';
export const FIELD_MANAGER_CLI = 'kubectl-flannel';

/** Controller condition: the lease's backend data is hostile or conflicting; agents skip it. */
export const BACKEND_REJECTED = 'BackendRejected';
