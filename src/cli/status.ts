import {
  API_VERSION,
  FLANNEL_NETWORK,
  SUBNET_LEASE,
  type FlannelNetwork,
  type SubnetLease,
} from '../api/index.js';
import { collectionPath, type KubeClient } from '../kube/index.js';
import { EXIT_OK, HELP_FLAG, UsageError, parseFlags } from '../cmd/flags.js';
import { KUBE_FLAGS, OUTPUT_FLAG, outputFormat } from './output/flags.js';
import { isMachineFormat, renderData } from './output/format.js';
import { processIO, type CliIO } from './output/io.js';
import { clientFromFlags } from './output/kube.js';
import { runCommand } from './output/run.js';
import { buildStatusReport, type StatusReport } from './status/report.js';
import { renderStatusTables } from './status/render.js';
import type { NodeLike } from './status/types.js';

export const STATUS_USAGE = `Show FlannelNetworks (capacity, health, dataplane rollout), SubnetLeases and nodes,
with warnings for nodes without lease, leases without node, podCIDR != lease subnet and
duplicate subnets.

Usage: kubectl flannel status [flags]

Flags:
  --network NAME        only this network, its leases and the nodes it selects
  -o, --output FORMAT   table (default) | wide | json | yaml
  --kubeconfig PATH     kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --context NAME        kubeconfig context to use
  -h, --help            show this help
`;

/** Lists what the report needs; the three lists run in parallel. */
export async function fetchStatusReport(
  client: KubeClient,
  opts: { network?: string } = {},
): Promise<StatusReport> {
  const [networks, leases, nodes] = await Promise.all([
    client.listAll<FlannelNetwork>(collectionPath(API_VERSION, FLANNEL_NETWORK.plural)),
    client.listAll<SubnetLease>(collectionPath(API_VERSION, SUBNET_LEASE.plural)),
    client.listAll<NodeLike>('/api/v1/nodes'),
  ]);
  return buildStatusReport(networks.items, leases.items, nodes.items, opts);
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  return runCommand(io, async () => {
    const { values } = parseFlags(argv, {
      ...KUBE_FLAGS,
      ...OUTPUT_FLAG,
      ...HELP_FLAG,
      network: { type: 'string' },
    });
    if (values.help) {
      io.out(STATUS_USAGE);
      return EXIT_OK;
    }
    const format = outputFormat(values.output);
    if (values.network === '') throw new UsageError('--network needs a name');
    const client = clientFromFlags(values);
    try {
      const report = await fetchStatusReport(client, { network: values.network });
      if (values.network && report.networks.length === 0) {
        io.err(`warning: FlannelNetwork "${values.network}" not found\n`);
      }
      if (isMachineFormat(format)) io.out(renderData(report, format));
      else io.out(renderStatusTables(report, format === 'wide'));
      return EXIT_OK;
    } finally {
      client.close();
    }
  });
}
