import type { FlannelNetwork, SubnetLease } from '../api/index.js';
import { canonicalCidr } from '../ipam/index.js';
import {
  deriveV6VtepMAC,
  deriveVtepMAC,
  isValidMac,
  normalizeMac,
  vxlan6DeviceName,
  vxlanDeviceName,
  type DesiredState,
  type NetworkConfig,
  type Ownership,
  type SelfInfo,
  type UnderlayInfo,
  type WireguardConfig,
} from './desired.js';
import { planDesired, type PeerPlanner } from './planner.js';
import { WG_DEVICE, WG_DEVICE_V6, WIREGUARD_CONFIG_DEFAULTS } from './wireguard/desired.js';
import type { SubnetEnv } from './files.js';
import { oneLeasePerNode, peerOfLease } from './peers.js';
import type { RuleInput } from './netfilter/render.js';
import { FlannelOperatorError, type ErrorCode } from '../errors.js';

/**
 * Everything one node should hold for one network, from the API objects and what the node knows
 * about itself. Pure: the agent programs it, `kubectl flannel doctor` compares the kernel with it.
 * New kinds of desired state (rules, peer checks) go here, so both callers get them.
 */

export class AgentError extends FlannelOperatorError {
  constructor(
    message: string,
    readonly code: ErrorCode,
  ) {
    super(message);
  }
}

export type AgentNetworkConfig = NetworkConfig & { ipMasq: boolean };

/** Network config from a FlannelNetwork, with the CRD's defaults in case they were not applied. */
export function networkConfig(fn: FlannelNetwork): AgentNetworkConfig {
  const b = fn.spec.backend ?? ({} as FlannelNetwork['spec']['backend']);
  if (!fn.spec.network && !fn.spec.ipv6Network)
    throw new AgentError(
      `FlannelNetwork ${fn.metadata.name} has neither network nor ipv6Network`,
      'EAGENT_CONFIG',
    );
  return {
    // Absent in an IPv6-only network (upstream EnableIPv4=false, EnableIPv6=true).
    network: fn.spec.network ? canonicalCidr(fn.spec.network, 'network', 4) : undefined,
    type: b.type ?? 'vxlan',
    vni: b.vni ?? 1,
    port: b.port ?? 8472,
    directRouting: b.directRouting ?? false,
    mtu: b.mtu,
    ipv6Network: fn.spec.ipv6Network
      ? canonicalCidr(fn.spec.ipv6Network, 'ipv6Network', 6)
      : undefined,
    ipMasq: fn.spec.ipMasq ?? true,
    ...(b.type === 'wireguard' ? { wireguard: wireguardOptions(b) } : {}),
  };
}

/** The wireguard options with upstream's defaults. */
function wireguardOptions(b: FlannelNetwork['spec']['backend']): WireguardConfig {
  const d = WIREGUARD_CONFIG_DEFAULTS;
  return {
    listenPort: b.listenPort ?? d.listenPort,
    listenPortV6: b.listenPortV6 ?? d.listenPortV6,
    keepalive: b.persistentKeepaliveInterval ?? d.keepalive,
    mode: b.mode ?? d.mode,
    psk: b.pskSecretRef !== undefined,
  };
}

/** The tunnel devices of a network (IPv4 name, IPv6 name): the agent and doctor read both. */
export function tunnelDevices(cfg: NetworkConfig): [string, string] {
  return cfg.type === 'wireguard'
    ? [WG_DEVICE, WG_DEVICE_V6]
    : [vxlanDeviceName(cfg.vni), vxlan6DeviceName(cfg.vni)];
}

/** The PeerLease of a SubnetLease (with the peer checks in peers.ts, which the controller shares). */
export const toPeer = peerOfLease;

/** The first valid of: the lease status (a migrated node keeps its MAC), the live device, derived. */
function pickMAC(candidates: Array<string | undefined>, derived: () => string): string {
  const found = candidates.find((m) => m && isValidMac(m));
  return found ? normalizeMac(found) : derived();
}

export interface NodeInfo {
  nodeName: string;
  underlay: UnderlayInfo;
  /** Absent on an IPv6-only underlay. */
  publicIP?: string;
  /** Address peers send IPv6 tunnel traffic to (dual-stack). */
  publicIPv6?: string;
  /** MACs flannel.<vni> / flannel-v6.<vni> have in the kernel now (when they exist). */
  deviceMAC?: string;
  deviceV6MAC?: string;
  /** MACs already chosen (the agent keeps its first choice while it runs). */
  vtepMAC?: string;
  v6VtepMAC?: string;
  /** wireguard: this node's public key (from its key file). */
  publicKey?: string;
}

export interface NodeStateInput {
  network: FlannelNetwork;
  /** This node's lease in the network. */
  lease: SubnetLease;
  /** All leases of the network (this node's included). */
  leases: SubnetLease[];
  node: NodeInfo;
}

export interface NodeState {
  cfg: AgentNetworkConfig;
  self: SelfInfo;
  /** vxlan devices, routes, neighbors and FDB entries of both families. */
  desired: DesiredState;
  /** The builder of `desired`: later peer lease changes go to it (the agent's peer pass). */
  planner: PeerPlanner;
  /** Which kernel objects are the agent's to change. */
  ownership: Ownership;
  /** Netfilter rule sets, one per address family. */
  rules: RuleInput[];
  subnetEnv: SubnetEnv;
}

/** The network's first family (IPv4, or IPv6 when IPv6-only) needs an underlay address of it. */
function checkUnderlay(cfg: NetworkConfig, underlay: UnderlayInfo): void {
  const [family, flag] = cfg.network
    ? [underlay.ip ? undefined : 'IPv4', '--public-ip']
    : [underlay.ipv6 ? undefined : 'IPv6', '--public-ipv6'];
  if (family)
    throw new AgentError(
      `the network needs an ${family} underlay address and ${underlay.name} has none (set --iface or ${flag})`,
      'EAGENT_NO_IFACE',
    );
}

/** Builds a node's whole desired state; throws (IpamError, AgentError) on a lease it cannot use. */
export function nodeDesiredState(input: NodeStateInput): NodeState {
  const { network: net, lease, node } = input;
  const cfg = networkConfig(net);
  // The network's first family (IPv4, or IPv6 when IPv6-only) must have its subnet.
  if (cfg.network ? !lease.spec.subnet : !lease.spec.ipv6Subnet)
    throw new AgentError(
      `lease ${lease.metadata.name} has no ${cfg.network ? 'IPv4' : 'IPv6'} subnet yet`,
      'EAGENT_NO_SUBNET',
    );
  const subnet = cfg.network ? canonicalCidr(lease.spec.subnet!, 'subnet', 4) : undefined;
  checkUnderlay(cfg, node.underlay);
  const subnetV6 =
    cfg.ipv6Network && lease.spec.ipv6Subnet
      ? canonicalCidr(lease.spec.ipv6Subnet, 'ipv6Subnet', 6)
      : undefined;
  const backend = lease.status?.backend;
  const self: SelfInfo = {
    nodeName: node.nodeName,
    subnet,
    publicIP: node.publicIP,
    underlay: node.underlay,
    vtepMAC: subnet
      ? (node.vtepMAC ??
        pickMAC([backend?.vtepMAC, node.deviceMAC], () => deriveVtepMAC(node.nodeName, cfg.vni)))
      : undefined,
    subnetV6,
    publicIPv6: node.publicIPv6,
    v6VtepMAC: subnetV6
      ? (node.v6VtepMAC ??
        pickMAC([backend?.v6VtepMAC, node.deviceV6MAC], () =>
          deriveV6VtepMAC(node.nodeName, cfg.vni),
        ))
      : undefined,
    ...(cfg.type === 'wireguard' ? { publicKey: node.publicKey } : {}),
  };
  const planner = planDesired(self, cfg, oneLeasePerNode(input.leases).map(toPeer));
  const desired = planner.state();
  const wg = cfg.type === 'wireguard';
  // The tunnel devices whose leftover routes inside the network are the agent's.
  const ownership: Ownership = {
    network: cfg.network,
    vxlanDev: wg ? WG_DEVICE : vxlanDeviceName(cfg.vni),
    ownSubnet: subnet,
    network6: cfg.ipv6Network,
    vxlanDev6: wg ? WG_DEVICE_V6 : vxlan6DeviceName(cfg.vni),
    ownSubnet6: subnetV6,
  };
  const rules: RuleInput[] =
    cfg.network && subnet
      ? [{ family: 'ipv4', network: cfg.network, podSubnet: subnet, ipMasq: cfg.ipMasq }]
      : [];
  if (cfg.ipv6Network && subnetV6)
    rules.push({
      family: 'ipv6',
      network: cfg.ipv6Network,
      podSubnet: subnetV6,
      ipMasq: cfg.ipMasq,
    });
  const subnetEnv: SubnetEnv = {
    network: cfg.network,
    subnet,
    ipv6Network: net.spec.ipv6Network,
    ipv6Subnet: lease.spec.ipv6Subnet,
    mtu: desired.podMTU,
    ipMasq: cfg.ipMasq,
  };
  return { cfg, self, desired, planner, ownership, rules, subnetEnv };
}
