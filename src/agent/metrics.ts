import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AgentMetrics {
  peers: Gauge<'mode'>;
  pending: Gauge;
  rejected: Gauge;
  programSeconds: Histogram;
  errors: Counter<'kind'>;
  resyncs: Counter<'trigger'>;
  kernelOps: Counter<'op'>;
  forwardingBlocked: Gauge;
  wireguardImplementation: Gauge<'implementation'>;
}

export function createAgentMetrics(registry: Registry): AgentMetrics {
  return {
    peers: new Gauge({
      name: 'flannel_agent_peers',
      help: 'Remote nodes programmed',
      labelNames: ['mode'],
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'flannel_agent_pending_peers',
      help: 'Remote leases not yet programmable',
      registers: [registry],
    }),
    rejected: new Gauge({
      name: 'flannel_agent_rejected_peers',
      help: 'Remote leases refused as hostile or conflicting (duplicate VTEP MAC, bad publicIP, BackendRejected)',
      registers: [registry],
    }),
    programSeconds: new Histogram({
      name: 'flannel_agent_programming_duration_seconds',
      help: 'Time of one reconcile pass (read kernel, diff, apply)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'flannel_agent_errors_total',
      help: 'Errors by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    resyncs: new Counter({
      name: 'flannel_agent_reconciles_total',
      help: 'Reconcile passes by trigger',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    kernelOps: new Counter({
      name: 'flannel_agent_kernel_changes_total',
      help: 'Kernel objects changed',
      labelNames: ['op'],
      registers: [registry],
    }),
    forwardingBlocked: new Gauge({
      name: 'flannel_agent_forwarding_blocked',
      help: 'Foreign nftables forward-hook chains (per address family) that drop pod traffic',
      registers: [registry],
    }),
    wireguardImplementation: new Gauge({
      name: 'flannel_agent_wireguard_implementation',
      help: 'WireGuard implementation serving the devices: 1 for kernel or userspace (wireguard-go)',
      labelNames: ['implementation'],
      registers: [registry],
    }),
  };
}
