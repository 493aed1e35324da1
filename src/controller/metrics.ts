import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createWorkQueueMetrics, type WorkQueueMetrics } from '../kube/workqueue.js';
import type { KubeClientMetrics } from '../kube/client.js';

export interface ControllerMetrics {
  allocations: Counter;
  releases: Counter;
  podCIDRsSet: Counter;
  reconcileDuration: Histogram;
  reconcileErrors: Counter;
  leader: Gauge;
  subnetsAllocated: Gauge;
  subnetsFree: Gauge;
  apiRequests: Counter;
  queue: WorkQueueMetrics;
  client: KubeClientMetrics;
}

const P = 'flannel_operator_controller';

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const r = [registry];
  const apiRequests = new Counter({
    name: `${P}_api_requests_total`,
    help: 'Requests sent to the Kubernetes API',
    labelNames: ['verb', 'code'],
    registers: r,
  });
  const apiLatency = new Histogram({
    name: `${P}_api_request_duration_seconds`,
    help: 'Kubernetes API request latency',
    labelNames: ['verb'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: r,
  });
  return {
    allocations: new Counter({
      name: `${P}_allocations_total`,
      help: 'Subnets leased to nodes (new or adopted)',
      labelNames: ['network', 'kind'],
      registers: r,
    }),
    podCIDRsSet: new Counter({
      name: `${P}_node_podcidrs_set_total`,
      help: 'Node.spec.podCIDR(s) the controller set',
      registers: r,
    }),
    releases: new Counter({
      name: `${P}_releases_total`,
      help: 'Subnet leases released',
      labelNames: ['network', 'reason'],
      registers: r,
    }),
    reconcileDuration: new Histogram({
      name: `${P}_reconcile_duration_seconds`,
      help: 'Time one FlannelNetwork reconcile takes',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
      registers: r,
    }),
    reconcileErrors: new Counter({
      name: `${P}_reconcile_errors_total`,
      help: 'Reconciles that failed and were retried',
      registers: r,
    }),
    leader: new Gauge({
      name: `${P}_leader`,
      help: '1 while this replica is the leader',
      registers: r,
    }),
    subnetsAllocated: new Gauge({
      name: `${P}_subnets_allocated`,
      help: 'Subnets leased per network',
      labelNames: ['network', 'family'],
      registers: r,
    }),
    subnetsFree: new Gauge({
      name: `${P}_subnets_free`,
      help: 'Subnets still free per network',
      labelNames: ['network', 'family'],
      registers: r,
    }),
    apiRequests,
    queue: createWorkQueueMetrics(registry, `${P}_workqueue`),
    client: clientMetrics(apiRequests, apiLatency),
  };
}

/**
 * Observes every API request through label-bound children, looked up by verb and status: a
 * labelled inc/observe hashes its label object on each call, once per request on the write path.
 */
function clientMetrics(requests: Counter, latency: Histogram): KubeClientMetrics {
  const counted = new Map<string, ReturnType<Counter['labels']>>();
  const timed = new Map<string, ReturnType<Histogram['labels']>>();
  return {
    observe(method, status, seconds) {
      const key = `${method} ${status}`;
      let c = counted.get(key);
      if (!c) counted.set(key, (c = requests.labels({ verb: method, code: String(status) })));
      let h = timed.get(method);
      if (!h) timed.set(method, (h = latency.labels({ verb: method })));
      c.inc();
      h.observe(seconds);
    },
  };
}
