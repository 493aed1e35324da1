import type { FlannelNetwork, SubnetLease } from '../../api/index.js';
import {
  cidrTextsOverlap as overlaps,
  defaultSubnetLen,
  tryCanonicalCidr,
  tryParseCidr,
} from '../../ipam/index.js';
import type { MigrationIssue } from './netconf.js';
import type { MigrationPlan } from './plan.js';

/**
 * What applying a plan would change given what the cluster already holds. Pure, so a rerun is
 * provably a no-op ("unchanged" everywhere) and conflicts are refused before anything is written.
 */
export type Action = 'create' | 'update' | 'unchanged';

export interface LeaseAction {
  name: string;
  spec: Action;
  /** `skip`: the agent already published different data; it owns the status now. */
  status: Action | 'skip';
}

export interface ApplyActions {
  network: Action;
  leases: LeaseAction[];
  errors: MigrationIssue[];
  warnings: MigrationIssue[];
}

function effectiveSubnetLen(spec: FlannelNetwork['spec']): number | undefined {
  if (spec.subnetLen) return spec.subnetLen;
  const c = tryParseCidr(spec.network);
  if (!c) return undefined;
  return defaultSubnetLen(c.family, c.prefix);
}

/** Canonical text for comparison; text that does not parse is compared as it is. */
const canon = (c: string | undefined): string | undefined => (c ? (tryCanonicalCidr(c) ?? c) : c);

/** Differences that matter between the planned network spec and an existing one. */
export function networkDifferences(
  want: FlannelNetwork['spec'],
  have: FlannelNetwork['spec'],
): string[] {
  const diffs: string[] = [];
  const cmp = (field: string, a: unknown, b: unknown): void => {
    if ((a ?? null) !== (b ?? null))
      diffs.push(
        `${field}: existing ${JSON.stringify(b ?? null)}, flannel ${JSON.stringify(a ?? null)}`,
      );
  };
  cmp('network', canon(want.network), canon(have.network));
  cmp('subnetLen', effectiveSubnetLen(want), effectiveSubnetLen(have));
  cmp('ipv6Network', canon(want.ipv6Network), canon(have.ipv6Network));
  if (want.ipv6Network) cmp('ipv6SubnetLen', want.ipv6SubnetLen ?? 64, have.ipv6SubnetLen ?? 64);
  const wb = want.backend;
  const hb = have.backend ?? ({} as FlannelNetwork['spec']['backend']);
  cmp('backend.type', wb.type, hb.type ?? 'vxlan');
  if (wb.type === 'vxlan') {
    cmp('backend.vni', wb.vni, hb.vni ?? 1);
    cmp('backend.port', wb.port, hb.port ?? 8472);
    cmp('backend.directRouting', wb.directRouting, hb.directRouting ?? false);
    cmp('backend.gbp', wb.gbp, hb.gbp ?? false);
  }
  cmp('backend.mtu', wb.mtu, hb.mtu);
  return diffs;
}

export function planApply(
  plan: MigrationPlan,
  existing: { networks: FlannelNetwork[]; leases: SubnetLease[] },
): ApplyActions {
  const errors: MigrationIssue[] = [];
  const warnings: MigrationIssue[] = [];
  const net = plan.network!;
  const name = net.metadata.name!;
  let network: Action = 'create';
  for (const other of existing.networks) {
    const otherName = other.metadata.name ?? '';
    if (otherName === name) {
      const diffs = networkDifferences(net.spec, other.spec);
      if (diffs.length) {
        errors.push({
          code: 'EMIGRATE_NETWORK_CONFLICT',
          object: `flannelnetwork/${name}`,
          message: `FlannelNetwork ${name} already exists with a different spec (${diffs.join('; ')})`,
          hint: 'pick another --name, or delete/adjust the existing FlannelNetwork if it is not in use',
        });
      } else network = 'unchanged';
      continue;
    }
    const clash =
      overlaps(net.spec.network, other.spec.network) ||
      overlaps(net.spec.ipv6Network, other.spec.ipv6Network);
    const selectsAll =
      !other.spec.nodeSelector ||
      (!other.spec.nodeSelector.matchLabels && !other.spec.nodeSelector.matchExpressions?.length);
    if (clash || selectsAll) {
      errors.push({
        code: 'EMIGRATE_NETWORK_CONFLICT',
        object: `flannelnetwork/${otherName}`,
        message: `FlannelNetwork ${otherName} already ${clash ? `uses overlapping addresses (${other.spec.network ?? other.spec.ipv6Network})` : 'serves every node (no nodeSelector)'}`,
        hint: `delete FlannelNetwork ${otherName} first if it was a trial, or give it a nodeSelector that excludes the flannel nodes`,
      });
    }
  }

  const byName = new Map(existing.leases.map((l) => [l.metadata.name ?? '', l]));
  const leases: LeaseAction[] = [];
  for (const want of plan.leases) {
    const lname = want.metadata.name!;
    const have = byName.get(lname);
    if (!have) {
      leases.push({ name: lname, spec: 'create', status: 'create' });
      continue;
    }
    if (
      have.spec.nodeName !== want.spec.nodeName ||
      have.spec.networkName !== want.spec.networkName ||
      canon(have.spec.subnet) !== canon(want.spec.subnet) ||
      canon(have.spec.ipv6Subnet) !== canon(want.spec.ipv6Subnet)
    ) {
      errors.push({
        code: 'EMIGRATE_LEASE_CONFLICT',
        object: `subnetlease/${lname}`,
        message: `SubnetLease ${lname} already exists with subnet ${have.spec.subnet ?? have.spec.ipv6Subnet ?? 'none'} for node ${have.spec.nodeName}, flannel uses ${want.spec.subnet ?? want.spec.ipv6Subnet}`,
        hint: "migrate never changes a node's subnet: delete the stale lease if the controller created it before migration",
      });
      continue;
    }
    const labelsEqual = Object.entries(want.metadata.labels ?? {}).every(
      ([k, v]) => have.metadata.labels?.[k] === v,
    );
    const spec: Action = labelsEqual ? 'unchanged' : 'update';
    const ws = want.status ?? {};
    const hs = have.status ?? {};
    let status: LeaseAction['status'];
    if (!hs.backend && !hs.publicIP) status = 'create';
    else if (
      (ws.publicIP ?? null) === (hs.publicIP ?? null) &&
      ws.backend?.type === hs.backend?.type &&
      (ws.backend?.vtepMAC ?? null) === (hs.backend?.vtepMAC ?? null) &&
      (ws.backend?.vni ?? null) === (hs.backend?.vni ?? null)
    )
      status = 'unchanged';
    else {
      status = 'skip';
      warnings.push({
        code: 'WMIGRATE_STATUS_OWNED',
        object: `subnetlease/${lname}`,
        message: `SubnetLease ${lname} status already holds ${hs.backend?.vtepMAC ? `VTEP MAC ${hs.backend.vtepMAC}` : 'data'}${hs.publicIP ? ` / ${hs.publicIP}` : ''} (flannel: ${ws.backend?.vtepMAC ?? '-'} / ${ws.publicIP ?? '-'}); left to the agent`,
      });
    }
    leases.push({ name: lname, spec, status });
  }
  return { network, leases, errors, warnings };
}
