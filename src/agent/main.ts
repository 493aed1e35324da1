import pino from 'pino';
import {
  HELP_FLAG,
  UsageError,
  duration,
  eventsNamespace,
  logLevel,
  parseDaemonFlags,
  parseFlags as parseArgv,
} from '../cmd/flags.js';
import { KubeClient } from '../kube/client.js';
import type { KubeAuth } from '../kube/auth.js';
import { loadKubeAuth } from '../kube/kubeconfig.js';
import { EventRecorder, type ClusterEventNamespace } from '../kube/events.js';
import { parseBindAddress, startOpsServers } from '../cmd/ops-server.js';
import { Agent, type AgentOptions } from './agent.js';
import { DEFAULT_CNI_CONF_DIR, DEFAULT_SUBNET_FILE } from './files.js';
import { DeferredMetrics } from './metrics.js';
import { logMilestone } from './milestone.js';
import { DEFAULT_WIREGUARD_KEY_FILE, UPSTREAM_WIREGUARD_KEY_FILE } from './wireguard/keys.js';

const USAGE = `Usage: flannel-operator agent --network NAME [flags]

Flags:
  --node-name NAME                  this node (default $NODE_NAME)
  --network NAME                    FlannelNetwork to serve (default $FLANNEL_NETWORK_NAME)
  --kubeconfig PATH                 kubeconfig (default: in-cluster, then $KUBECONFIG, then
                                    ~/.kube/config); no exec/auth-provider plugins
  --events-namespace NS             where Events about its SubnetLease go: default or kube-system
                                    (default: default; the controller passes its own)
  --iface NAME                      underlay interface (default: the one holding the node's InternalIP)
  --public-ip IP                    address peers send to (default: the underlay interface's IPv4)
  --public-ipv6 IP                  dual-stack: IPv6 address peers send to (default: the Node's
                                    IPv6 InternalIP, then the underlay interface's global IPv6)
  --subnet-file PATH                subnet.env for the CNI plugin (default ${DEFAULT_SUBNET_FILE})
  --cni-conf-dir DIR                where 10-flannel.conflist goes (default ${DEFAULT_CNI_CONF_DIR})
  --cni-data-dir DIR                per-node CNI state dir put in the conflist (default: plugin defaults)
  --netfilter nftables|iptables     rule backend (default: nftables when usable)
  --metrics-bind-address ADDR       /metrics, "0" disables (default :9101)
  --health-probe-bind-address ADDR  /healthz and /readyz (default :9102)
  --resync-period D                 full kernel resync period, e.g. 10s (default 10s)
  --wireguard-key-file PATH         wireguard: this node's private key, created once (mode 0600,
                                    directory 0700) and reused (default ${DEFAULT_WIREGUARD_KEY_FILE})
  --wireguard-import-key PATH       wireguard: key adopted when the key file is absent, so a node
                                    migrated from flannel keeps its public key (default
                                    ${UPSTREAM_WIREGUARD_KEY_FILE}; "" disables)
  --wireguard-psk-file PATH         wireguard: the network's pre-shared key (the mounted Secret)
  --wireguard-go PATH               wireguard: userspace implementation used when the kernel has
                                    no WireGuard (default: wireguard-go on $PATH)
  --log-level LEVEL                 trace|debug|info|warn|error (default info)
`;

export interface AgentFlags extends AgentOptions {
  kubeconfig?: string;
  eventsNamespace: ClusterEventNamespace;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  logLevel: string;
}

export function parseFlags(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): AgentFlags | 'help' {
  const { values } = parseArgv(argv, {
    ...HELP_FLAG,
    'node-name': { type: 'string' },
    network: { type: 'string' },
    kubeconfig: { type: 'string' },
    'events-namespace': { type: 'string' },
    iface: { type: 'string' },
    'public-ip': { type: 'string' },
    'public-ipv6': { type: 'string' },
    'subnet-file': { type: 'string' },
    'cni-conf-dir': { type: 'string' },
    'cni-data-dir': { type: 'string' },
    netfilter: { type: 'string' },
    'metrics-bind-address': { type: 'string' },
    'health-probe-bind-address': { type: 'string' },
    'resync-period': { type: 'string' },
    'log-level': { type: 'string' },
    'wireguard-key-file': { type: 'string' },
    'wireguard-import-key': { type: 'string' },
    'wireguard-psk-file': { type: 'string' },
    'wireguard-go': { type: 'string' },
  });
  if (values.help) return 'help';
  const nodeName = values['node-name'] ?? env.NODE_NAME;
  if (!nodeName) throw new UsageError('--node-name (or $NODE_NAME) is required');
  const network = values.network ?? env.FLANNEL_NETWORK_NAME;
  if (!network) throw new UsageError('--network is required');
  const nf = values.netfilter;
  if (nf !== undefined && nf !== 'nftables' && nf !== 'iptables') {
    throw new UsageError(`--netfilter: expected nftables or iptables, got "${nf}"`);
  }
  const flags: AgentFlags = {
    nodeName,
    network,
    kubeconfig: values.kubeconfig,
    eventsNamespace: eventsNamespace(values['events-namespace']),
    iface: values.iface,
    publicIP: values['public-ip'],
    publicIPv6: values['public-ipv6'],
    subnetFile: values['subnet-file'] ?? DEFAULT_SUBNET_FILE,
    cniConfDir: values['cni-conf-dir'] ?? DEFAULT_CNI_CONF_DIR,
    cniDataDir: values['cni-data-dir'],
    netfilter: nf,
    resyncMs: duration(values['resync-period'], 10_000, 'resync-period'),
    metricsBindAddress: values['metrics-bind-address'] ?? ':9101',
    healthProbeBindAddress: values['health-probe-bind-address'] ?? ':9102',
    logLevel: logLevel(values['log-level']),
    wireguardKeyFile: values['wireguard-key-file'] ?? DEFAULT_WIREGUARD_KEY_FILE,
    wireguardImportKey: values['wireguard-import-key'] ?? UPSTREAM_WIREGUARD_KEY_FILE,
    wireguardPskFile: values['wireguard-psk-file'],
    wireguardGo: values['wireguard-go'],
  };
  parseBindAddress(flags.metricsBindAddress);
  parseBindAddress(flags.healthProbeBindAddress);
  return flags;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseDaemonFlags(argv, parseFlags, USAGE);
  if ('exit' in parsed) return parsed.exit;
  const { flags } = parsed;
  const logger = pino({ level: flags.logLevel, base: { role: 'agent', node: flags.nodeName } });
  const milestone = (msg: string): void => logMilestone(logger, msg);
  milestone('modules loaded');
  const deferred = new DeferredMetrics({
    defaultMetrics: true,
    onError: (err) => logger.error({ err }, 'cannot load the metrics library'),
  });
  const { metrics } = deferred;
  let auth: KubeAuth;
  try {
    auth = loadKubeAuth({ kubeconfig: flags.kubeconfig });
  } catch (e) {
    // A KubeConfigError: its code (e.g. EKUBE_CONFIG_UNSUPPORTED) and message go to the log.
    logger.fatal({ err: e }, 'cannot load kubeconfig');
    return 1;
  }
  milestone('kubeconfig loaded');
  const client = new KubeClient(auth, { userAgent: 'flannel-operator-agent' });
  const events = new EventRecorder({
    client,
    // Its Events are about its SubnetLease, a cluster-scoped object: they go where the
    // controller's go (the DaemonSet passes --events-namespace).
    namespace: flags.eventsNamespace,
    reportingController: 'flannel-operator-agent',
    reportingInstance: flags.nodeName,
    logger,
  });
  const agent = new Agent(flags, { client, logger, metrics, events });

  const servers = await startOpsServers(
    { metrics: flags.metricsBindAddress, probe: flags.healthProbeBindAddress },
    { registry: () => deferred.registry(), ready: () => agent.isReady(), logger },
  );
  milestone('ops servers listening');
  // Nothing needs prom-client before the first pass is over (metrics.ts).
  void agent.firstPass().then(() => deferred.load());

  const done = new Promise<number>((resolve) => {
    const stop = (sig: string): void => {
      logger.info({ signal: sig }, 'stopping; dataplane left in place');
      void agent
        .stop()
        .then(() => Promise.all(servers.map((s) => s.close())))
        .then(() => {
          client.close();
          resolve(0);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  try {
    await agent.start();
  } catch (e) {
    logger.error({ err: e }, 'agent failed to start');
    await agent.stop().catch(() => undefined);
    await Promise.all(servers.map((s) => s.close()));
    client.close();
    return 1;
  }
  return done;
}
