import { formatAge, renderTable, type Column } from '../output/format.js';
import type { LeaseRow, NetworkRow, NodeRow, StatusReport } from './report.js';

function readyText(n: NetworkRow): string {
  if (n.degraded === 'True') return `Degraded${n.reason ? ` (${n.reason})` : ''}`;
  if (n.ready === 'True') return 'Ready';
  return `${n.ready === 'Unknown' ? 'Unknown' : 'NotReady'}${n.reason ? ` (${n.reason})` : ''}`;
}

const orDash = (v: number | undefined): string => (v === undefined ? '-' : String(v));

export function renderStatusTables(r: StatusReport, wide: boolean, now = new Date()): string {
  const networkCols: Column<NetworkRow>[] = [
    { header: 'name', value: (n) => n.name },
    { header: 'network', value: (n) => [n.network, n.ipv6Network].filter(Boolean).join(',') },
    { header: 'backend', value: (n) => n.backend },
    { header: 'vni', value: (n) => n.vni ?? '-' },
    { header: 'port', value: (n) => n.port ?? '-', wide: true },
    { header: 'mtu', value: (n) => n.mtu ?? 'auto', wide: true },
    { header: 'subnet-len', value: (n) => n.subnetLen ?? '-', wide: true },
    { header: 'capacity', value: (n) => orDash(n.capacity) },
    { header: 'allocated', value: (n) => n.allocated },
    { header: 'free', value: (n) => orDash(n.free) },
    { header: 'status', value: readyText },
    {
      header: 'dataplane',
      value: (n) =>
        n.dataplane.desired === undefined
          ? '-'
          : `${n.dataplane.ready ?? 0}/${n.dataplane.desired}`,
    },
    { header: 'message', value: (n) => n.message, wide: true },
    { header: 'age', value: (n) => formatAge(n.creationTimestamp, now) },
  ];
  const leaseCols: Column<LeaseRow>[] = [
    { header: 'node', value: (l) => l.node },
    { header: 'network', value: (l) => l.network },
    { header: 'subnet', value: (l) => [l.subnet, l.ipv6Subnet].filter(Boolean).join(',') },
    { header: 'public-ip', value: (l) => l.publicIP },
    { header: 'vtep-mac', value: (l) => l.vtepMAC },
    { header: 'ready', value: (l) => l.ready },
    { header: 'reason', value: (l) => l.reason, wide: true },
    { header: 'lease', value: (l) => l.name, wide: true },
    { header: 'age', value: (l) => formatAge(l.creationTimestamp, now) },
  ];
  const nodeCols: Column<NodeRow>[] = [
    { header: 'name', value: (n) => n.name },
    { header: 'network', value: (n) => n.network },
    { header: 'pod-cidr', value: (n) => n.podCIDRs.join(',') },
    { header: 'lease', value: (n) => (n.lease ? 'yes' : 'no') },
    { header: 'consistent', value: (n) => (n.consistent ? 'yes' : 'no') },
    { header: 'internal-ip', value: (n) => n.internalIP, wide: true },
    { header: 'lease-name', value: (n) => n.lease, wide: true },
    { header: 'lease-subnet', value: (n) => n.leaseSubnet, wide: true },
  ];
  const section = (title: string, body: string, empty: boolean): string =>
    `${title}\n${empty ? 'No resources found.\n' : body}`;
  const parts = [
    section('NETWORKS', renderTable(r.networks, networkCols, wide), r.networks.length === 0),
    section('LEASES', renderTable(r.leases, leaseCols, wide), r.leases.length === 0),
    section('NODES', renderTable(r.nodes, nodeCols, wide), r.nodes.length === 0),
  ];
  const s = r.summary;
  let health = `HEALTH: ${r.healthy ? 'OK' : 'WARNING'} - ${s.networksReady}/${s.networks} networks ready, ${s.leasesReady}/${s.leases} leases ready, ${s.nodesConsistent}/${s.nodes} nodes consistent, ${s.warnings} warning(s)\n`;
  for (const w of r.warnings) health += `  ${w.code}: ${w.message}\n`;
  return [...parts, health].join('\n');
}
