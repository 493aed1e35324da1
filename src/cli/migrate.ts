import {
  API_VERSION,
  FIELD_MANAGER_CLI,
  FLANNEL_NETWORK,
  SUBNET_LEASE,
  type FlannelNetwork,
  type SubnetLease,
} from '../api/index.js';
import { collectionPath, type KubeClient, type ObjectRef } from '../kube/index.js';
import { EXIT_OK, EXIT_RUNTIME, HELP_FLAG, UsageError, parseFlags } from '../cmd/flags.js';
import { CliError } from './output/errors.js';
import { KUBE_FLAGS, OUTPUT_FLAG, outputFormat } from './output/flags.js';
import { asList, renderData } from './output/format.js';
import { processIO, type CliIO } from './output/io.js';
import { clientFromFlags } from './output/kube.js';
import { runCommand } from './output/run.js';
import { planApply, type Action } from './migrate/existing.js';
import type { MigrationIssue } from './migrate/netconf.js';
import { planMigration, type ConfigMapLike } from './migrate/plan.js';
import type { NodeLike } from './status/types.js';

export const MIGRATE_USAGE = `Take over an upstream flannel installation: read its ConfigMap (net-conf.json), the
nodes' podCIDRs and flannel annotations, and write one FlannelNetwork plus one SubnetLease per
node with the SAME subnets, public IPs and VTEP MACs. Nodes are never changed.

Usage: kubectl flannel migrate [--dry-run | --apply] [flags]

Flags:
  --dry-run             print the objects that would be written (default)
  --apply               write them (server-side apply, field manager ${FIELD_MANAGER_CLI})
  --name NAME           FlannelNetwork name (default "default")
  --namespace NS        namespace of flannel's ConfigMap (default kube-flannel, then kube-system)
  --configmap NAME      ConfigMap name (default kube-flannel-cfg)
  --no-ip-masq          flanneld ran without --ip-masq: do not masquerade pod traffic
  -o, --output FORMAT   dry-run: yaml (default) | json; apply: table (default) | json | yaml
  --kubeconfig PATH     kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --context NAME        kubeconfig context to use
  -h, --help            show this help

Exit codes: 0 done, 1 cannot migrate (each problem printed with its code) or API error, 2 bad flags.
`;

const DEFAULT_CONFIGMAP = 'kube-flannel-cfg';
const DEFAULT_NAMESPACES = ['kube-flannel', 'kube-system'];

type ApplyObject = ObjectRef & Record<string, unknown>;

const NETWORKS = collectionPath(API_VERSION, FLANNEL_NETWORK.plural);
const LEASES = collectionPath(API_VERSION, SUBNET_LEASE.plural);

function printIssues(io: CliIO, kind: 'error' | 'warning', issues: MigrationIssue[]): void {
  for (const i of issues) {
    io.err(`${kind}: ${i.message} [${i.code}]\n`);
    if (i.hint) io.err(`  hint: ${i.hint}\n`);
  }
}

async function readConfigMap(
  client: KubeClient,
  namespace: string | undefined,
  name: string,
): Promise<ConfigMapLike> {
  const tried: string[] = [];
  for (const ns of namespace ? [namespace] : DEFAULT_NAMESPACES) {
    tried.push(`${ns}/${name}`);
    const cm = await client.getOrUndefined<ConfigMapLike>(
      `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}`,
    );
    if (cm) return cm;
  }
  throw new CliError(
    `flannel ConfigMap not found (tried ${tried.join(', ')})`,
    'EMIGRATE_NO_CONFIGMAP',
    EXIT_RUNTIME,
    'pass --namespace and --configmap of the ConfigMap that holds net-conf.json',
  );
}

export interface MigrateResult {
  network: { name: string; action: Action };
  leases: Array<{
    name: string;
    node: string;
    subnet?: string;
    vtepMAC?: string;
    spec: Action;
    status: Action | 'skip';
  }>;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  return runCommand(io, async () => {
    const { values } = parseFlags(argv, {
      ...KUBE_FLAGS,
      ...OUTPUT_FLAG,
      ...HELP_FLAG,
      'dry-run': { type: 'boolean' },
      apply: { type: 'boolean' },
      name: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      configmap: { type: 'string' },
      'no-ip-masq': { type: 'boolean' },
    });
    if (values.help) {
      io.out(MIGRATE_USAGE);
      return EXIT_OK;
    }
    if (values.apply && values['dry-run'])
      throw new UsageError('--apply and --dry-run exclude each other');
    const apply = !!values.apply;
    const format = apply
      ? outputFormat(values.output, ['table', 'json', 'yaml'])
      : outputFormat(values.output ?? 'yaml', ['json', 'yaml']);
    if (values.name === '') throw new UsageError('--name needs a value');

    const client = clientFromFlags(values);
    try {
      const cm = await readConfigMap(
        client,
        values.namespace,
        values.configmap ?? DEFAULT_CONFIGMAP,
      );
      io.err(`reading ${cm.metadata.namespace}/${cm.metadata.name} and nodes\n`);
      const nodes = (await client.listAll<NodeLike>('/api/v1/nodes')).items;
      const plan = planMigration(cm, nodes, {
        name: values.name ?? 'default',
        ipMasq: !values['no-ip-masq'],
      });
      printIssues(io, 'warning', plan.warnings);
      if (plan.errors.length) {
        printIssues(io, 'error', plan.errors);
        io.err(`nothing written: fix the ${plan.errors.length} problem(s) above and rerun\n`);
        return EXIT_RUNTIME;
      }
      const network = plan.network!;
      const [networks, leases] = await Promise.all([
        client.listAll<FlannelNetwork>(NETWORKS),
        client.listAll<SubnetLease>(LEASES),
      ]);
      const actions = planApply(plan, { networks: networks.items, leases: leases.items });
      printIssues(io, 'warning', actions.warnings);
      if (actions.errors.length) {
        printIssues(io, 'error', actions.errors);
        io.err(`nothing written: fix the ${actions.errors.length} problem(s) above and rerun\n`);
        return EXIT_RUNTIME;
      }

      if (!apply) {
        io.out(renderData(asList([network, ...plan.leases]), format as 'json' | 'yaml'));
        const nothingToDo =
          actions.network === 'unchanged' &&
          actions.leases.every(
            (l) => l.spec === 'unchanged' && l.status !== 'create' && l.status !== 'update',
          );
        io.err(
          `dry run: FlannelNetwork ${network.metadata.name} (${actions.network}) and ${plan.leases.length} SubnetLease(s) (${count(actions.leases.map((l) => l.spec))}); ${nothingToDo ? 'nothing to change' : 'rerun with --apply to write them'}\n`,
        );
        return EXIT_OK;
      }

      // Leases before the network: when the network appears, the controller finds every node
      // already leased and adopts the subnets instead of allocating new ones.
      const result: MigrateResult = {
        network: { name: network.metadata.name!, action: actions.network },
        leases: [],
      };
      const written: unknown[] = [];
      for (const lease of plan.leases) {
        const a = actions.leases.find((x) => x.name === lease.metadata.name)!;
        const { status, ...withoutStatus } = lease;
        let obj: unknown = lease;
        if (a.spec !== 'unchanged') {
          obj = await client.apply(withoutStatus as unknown as ApplyObject, {
            fieldManager: FIELD_MANAGER_CLI,
          });
        }
        if (a.status === 'create' || a.status === 'update') {
          obj = await client.applyStatus(
            {
              apiVersion: lease.apiVersion!,
              kind: lease.kind!,
              metadata: { name: lease.metadata.name },
              status,
            },
            { fieldManager: FIELD_MANAGER_CLI },
          );
        }
        written.push(obj);
        result.leases.push({
          name: lease.metadata.name!,
          node: lease.spec.nodeName,
          subnet: lease.spec.subnet ?? lease.spec.ipv6Subnet,
          vtepMAC: lease.status?.backend?.vtepMAC,
          spec: a.spec,
          status: a.status,
        });
        if (format === 'table')
          io.out(
            `subnetlease.${API_VERSION.split('/')[0]}/${lease.metadata.name} ${describe(a.spec, a.status)}\n`,
          );
      }
      let netObj: unknown = network;
      if (actions.network === 'create') {
        netObj = await client.apply(network as unknown as ApplyObject, {
          fieldManager: FIELD_MANAGER_CLI,
        });
      }
      if (format === 'table') {
        io.out(
          `flannelnetwork.${API_VERSION.split('/')[0]}/${network.metadata.name} ${actions.network === 'create' ? 'created' : 'unchanged'}\n`,
        );
      } else {
        io.out(renderData(asList([netObj, ...written]), format as 'json' | 'yaml'));
      }
      io.err(
        `migrated: ${plan.leases.length} node(s) keep their subnets and VTEP MACs; nodes were not modified\n`,
      );
      return EXIT_OK;
    } finally {
      client.close();
    }
  });
}

function describe(spec: Action, status: Action | 'skip'): string {
  if (spec === 'create') return 'created';
  if (spec === 'update' || status === 'create' || status === 'update') return 'configured';
  return 'unchanged';
}

function count(actions: Action[]): string {
  const c = new Map<string, number>();
  for (const a of actions) c.set(a, (c.get(a) ?? 0) + 1);
  return [...c].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
}
