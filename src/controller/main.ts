import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KubeClient } from '../kube/client.js';
import { loadKubeAuthWithPlugins } from '../kube/load-auth.js';
import { LeaderElector } from '../kube/leader.js';
import { startOpsServers, parseBindAddress, type OpsServer } from '../cmd/ops-server.js';
import {
  HELP_FLAG,
  UsageError,
  bool,
  duration,
  logLevel,
  eventsNamespace,
  parseDaemonFlags,
  parseFlags as parseArgv,
  posInt,
} from '../cmd/flags.js';
import { EventRecorder, type ClusterEventNamespace } from '../kube/events.js';
import { createControllerMetrics } from './metrics.js';
import { NetworkController } from './controller.js';
import type { DataplaneRollout } from './dataplane/index.js';

const USAGE = `Usage: flannel-operator controller [flags]

Flags:
  --kubeconfig PATH                 kubeconfig (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)
  --namespace NS                    namespace of the operator (leader lease, DaemonSets); default: the pod's
  --events-namespace NS             where its and the agents' Events go: default or kube-system, the only
                                    namespaces the API server takes Events about cluster-scoped objects in
                                    (default: default)
  --leader-elect=true|false         elect a leader through a coordination.k8s.io Lease (default true)
  --leader-election-id NAME         name of that Lease (default flannel-operator-controller)
  --metrics-bind-address ADDR       /metrics listen address, "0" disables (default :8080)
  --health-probe-bind-address ADDR  /healthz and /readyz listen address (default :8081)
  --leader-elect-lease-duration D   lease duration, e.g. 15s (default 15s)
  --leader-elect-renew-deadline D   give up leadership when not renewed within, e.g. 10s (default 10s)
  --leader-elect-retry-period D     time between attempts, e.g. 2s (default 2s)
  --workers N                       FlannelNetworks reconciled in parallel (default 2)
  --write-concurrency N             parallel API writes per reconcile (default 16)
  --agent-image IMAGE               image of the per-node agent; without it no DaemonSet is rolled out
  --cni-plugin-image IMAGE          image with the flannel CNI plugin
  --netpol-image IMAGE              kube-network-policies image (netpol sidecar)
  --netpol-args JSON                kube-network-policies arguments, a JSON list of strings
  --verify-public-ip=true|false     reject (BackendRejected) leases whose publicIP is not an InternalIP or
                                    ExternalIP of their Node (default true; turn off when agents publish
                                    other addresses, e.g. --public-ip behind NAT)
  --dataplane=true|false            roll out the per-node dataplane DaemonSets (default: when --agent-image is set)
  --log-level LEVEL                 trace|debug|info|warn|error (default info)
`;

export interface ControllerFlags {
  kubeconfig?: string;
  namespace: string;
  eventsNamespace: ClusterEventNamespace;
  leaderElect: boolean;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  workers: number;
  writeConcurrency: number;
  agentImage?: string;
  cniPluginImage?: string;
  netpolImage?: string;
  netpolArgs?: string[];
  verifyPublicIP: boolean;
  dataplane: boolean;
  logLevel: string;
}

/** A JSON list of strings (an argument list survives commas and spaces that way). */
function stringList(v: string | undefined, flag: string): string[] | undefined {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
    throw new UsageError(`--${flag}: expected a JSON list of strings, got ${v}`);
  return parsed as string[];
}

function defaultNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'kube-system';
  }
}

export function parseFlags(argv: string[]): ControllerFlags | 'help' {
  // `--flag=value` and `--flag value` both work; booleans accept `--leader-elect=false`.
  const { values } = parseArgv(argv, {
    ...HELP_FLAG,
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    'events-namespace': { type: 'string' },
    'leader-elect': { type: 'string' },
    'leader-election-id': { type: 'string' },
    'leader-elect-lease-duration': { type: 'string' },
    'leader-elect-renew-deadline': { type: 'string' },
    'leader-elect-retry-period': { type: 'string' },
    'metrics-bind-address': { type: 'string' },
    'health-probe-bind-address': { type: 'string' },
    workers: { type: 'string' },
    'write-concurrency': { type: 'string' },
    'agent-image': { type: 'string' },
    'cni-plugin-image': { type: 'string' },
    'netpol-image': { type: 'string' },
    'netpol-args': { type: 'string' },
    'verify-public-ip': { type: 'string' },
    dataplane: { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (values.help) return 'help';
  const agentImage = values['agent-image'];
  const flags: ControllerFlags = {
    kubeconfig: values.kubeconfig,
    namespace: values.namespace ?? defaultNamespace(),
    eventsNamespace: eventsNamespace(values['events-namespace']),
    leaderElect: bool(values['leader-elect'], true, 'leader-elect'),
    leaderElectionId: values['leader-election-id'] ?? 'flannel-operator-controller',
    leaseDurationMs: duration(
      values['leader-elect-lease-duration'],
      15_000,
      'leader-elect-lease-duration',
    ),
    renewDeadlineMs: duration(
      values['leader-elect-renew-deadline'],
      10_000,
      'leader-elect-renew-deadline',
    ),
    retryPeriodMs: duration(
      values['leader-elect-retry-period'],
      2_000,
      'leader-elect-retry-period',
    ),
    metricsBindAddress: values['metrics-bind-address'] ?? ':8080',
    healthProbeBindAddress: values['health-probe-bind-address'] ?? ':8081',
    workers: posInt(values.workers, 2, 'workers'),
    writeConcurrency: posInt(values['write-concurrency'], 16, 'write-concurrency'),
    agentImage,
    cniPluginImage: values['cni-plugin-image'],
    netpolImage: values['netpol-image'],
    netpolArgs: stringList(values['netpol-args'], 'netpol-args'),
    verifyPublicIP: bool(values['verify-public-ip'], true, 'verify-public-ip'),
    dataplane: bool(values.dataplane, !!agentImage, 'dataplane'),
    logLevel: logLevel(values['log-level']),
  };
  if (flags.dataplane && !agentImage) throw new UsageError('--dataplane=true needs --agent-image');
  parseBindAddress(flags.metricsBindAddress);
  parseBindAddress(flags.healthProbeBindAddress);
  return flags;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseDaemonFlags(argv, parseFlags, USAGE);
  if ('exit' in parsed) return parsed.exit;
  const { flags } = parsed;
  const logger = pino({ level: flags.logLevel, base: { role: 'controller', pid: process.pid } });
  const stop = new AbortController();
  const onSignal = (sig: string): void => {
    logger.info({ signal: sig }, 'shutting down');
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  try {
    return await runController(flags, logger, stop.signal);
  } catch (err) {
    logger.fatal({ err }, 'controller failed');
    return 1;
  }
}

/** Runs until `signal` aborts (0) or leadership is lost (1, so the pod restarts clean). */
export async function runController(
  flags: ControllerFlags,
  logger: Logger,
  signal: AbortSignal,
): Promise<number> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createControllerMetrics(registry);
  const auth = await loadKubeAuthWithPlugins({ kubeconfig: flags.kubeconfig });
  const client = new KubeClient(auth, {
    userAgent: 'flannel-operator-controller',
    metrics: metrics.client,
  });
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const events = new EventRecorder({
    client,
    namespace: flags.eventsNamespace,
    reportingController: 'flannel-operator',
    reportingInstance: identity,
    logger,
  });
  let dataplane: DataplaneRollout | undefined;
  if (flags.dataplane && flags.agentImage) {
    // Loaded only when used: the DaemonSet rendering and rollout modules take ~150 ms to load,
    // time a controller without --agent-image would spend before its first list.
    const { createDataplaneRollout } = await import('./dataplane/index.js');
    dataplane = createDataplaneRollout(
      { client, logger: logger.child({ component: 'dataplane' }), registry },
      {
        namespace: flags.namespace,
        eventsNamespace: flags.eventsNamespace,
        agentImage: flags.agentImage,
        cniPluginImage: flags.cniPluginImage,
        netpolImage: flags.netpolImage,
        netpolArgs: flags.netpolArgs,
      },
    );
  }

  let controller: NetworkController | undefined;
  let leading = !flags.leaderElect;
  const ready = (): boolean => (flags.leaderElect ? true : !!controller?.hasSynced());
  const servers: OpsServer[] = await startOpsServers(
    { metrics: flags.metricsBindAddress, probe: flags.healthProbeBindAddress },
    { registry, ready, logger },
  );

  const lead = async (leadSignal: AbortSignal): Promise<void> => {
    metrics.leader.set(1);
    controller = new NetworkController({
      client,
      logger,
      metrics,
      events,
      dataplane,
      verifyPublicIP: flags.verifyPublicIP,
      workers: flags.workers,
      writeConcurrency: flags.writeConcurrency,
    });
    await controller.start(leadSignal);
    // Agent pods getting ready/updated changes the network's status (Reconciling -> Ready):
    // reconcile that network at once instead of at the next resync.
    if (dataplane?.watch && !leadSignal.aborted) {
      const c = controller;
      const stopWatch = await dataplane.watch((network) => c.queue.add(network));
      leadSignal.addEventListener('abort', () => stopWatch(), { once: true });
    }
  };

  let code = 0;
  try {
    if (!flags.leaderElect) {
      await lead(signal);
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    } else {
      let lost = false;
      const elector = new LeaderElector({
        client,
        namespace: flags.namespace,
        name: flags.leaderElectionId,
        identity,
        logger,
        leaseDurationMs: flags.leaseDurationMs,
        renewDeadlineMs: flags.renewDeadlineMs,
        retryPeriodMs: flags.retryPeriodMs,
        onStartedLeading: async (s) => {
          leading = true;
          await lead(s);
        },
        onStoppedLeading: () => {
          metrics.leader.set(0);
          if (leading && !signal.aborted) lost = true;
          leading = false;
        },
      });
      logger.info(
        { identity, lease: `${flags.namespace}/${flags.leaderElectionId}` },
        'campaigning for leadership',
      );
      await elector.run(signal);
      if (lost) {
        logger.error('leadership lost; exiting so a fresh process can campaign');
        code = 1;
      }
    }
  } finally {
    await controller?.stop();
    metrics.leader.set(0);
    await Promise.all(servers.map((s) => s.close()));
    client.close();
  }
  void leading;
  return code;
}
