/**
 * Scenario a of the kind suite: the FlannelNetwork is Ready and kstatus Current; every pod reaches every
 * pod over TCP keeping its pod IP; a ClusterIP Service answers through kube-proxy; CoreDNS resolves it;
 * traffic to a host outside the pod network leaves masqueraded to the node IP.
 */
import { isIPv6 } from 'node:net';
import type { KindCluster } from './cluster.js';
import { mustRun } from './env.js';
import {
  clientAddress,
  hostPort,
  podSh,
  startOutsideServer,
  tcpMatrix,
  TEST_NAMESPACE,
  NETEXEC_PORT,
  type TestPod,
} from './workloads.js';

export const SERVICE_NAME = `netexec.${TEST_NAMESPACE}.svc.cluster.local`;

/** kstatus (sigs.k8s.io/cli-utils, as Flux and kpt judge objects) of the default FlannelNetwork. */
export async function flannelNetworkKstatus(
  cluster: KindCluster,
): Promise<{ status: string; message: string }> {
  const out = await mustRun('kstatus', [
    '--kubeconfig',
    cluster.kubeconfig,
    'get',
    'network.flannel-operator.io/v1alpha1',
    'flannelnetworks',
    'default',
  ]);
  return JSON.parse(out) as { status: string; message: string };
}

export async function flannelNetworkReady(cluster: KindCluster): Promise<string> {
  return (
    await cluster.kubectl([
      'get',
      'flannelnetwork',
      'default',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ])
  ).trim();
}

/** The Service's ClusterIPs, IPv4 first. */
export async function serviceIPs(cluster: KindCluster): Promise<string[]> {
  const out = await cluster.kubectl([
    '-n',
    TEST_NAMESPACE,
    'get',
    'service',
    'netexec',
    '-o',
    'jsonpath={.spec.clusterIPs[*]}',
  ]);
  return out.trim().split(/\s+/).filter(Boolean);
}

/** From every pod: the Service by name (DNS + kube-proxy) and by each ClusterIP; failures, one line each. */
export async function serviceChecks(cluster: KindCluster, pods: TestPod[]): Promise<string[]> {
  const ips = await serviceIPs(cluster);
  const names = new Set(pods.map((p) => p.name));
  const failures: string[] = [];
  for (const pod of pods) {
    for (const target of [SERVICE_NAME, ...ips]) {
      const url = `http://${target === SERVICE_NAME ? `${target}:${NETEXEC_PORT}` : hostPort(target)}/hostname`;
      const r = await podSh(cluster, pod.name, `curl -sS -m 5 ${url}`);
      if (!names.has(r.stdout.trim()))
        failures.push(`${pod.node} -> ${url}: ${r.stdout.trim()} ${r.stderr.trim()}`);
    }
  }
  return failures;
}

/** From every pod: CoreDNS answers the Service's A (and AAAA) record with its ClusterIP(s). */
export async function dnsChecks(cluster: KindCluster, pods: TestPod[]): Promise<string[]> {
  const ips = await serviceIPs(cluster);
  const failures: string[] = [];
  for (const pod of pods) {
    for (const ip of ips) {
      const type = isIPv6(ip) ? 'AAAA' : 'A';
      const r = await podSh(
        cluster,
        pod.name,
        `dig +short +time=3 +tries=2 ${SERVICE_NAME} ${type}`,
      );
      if (r.stdout.trim() !== ip)
        failures.push(
          `${pod.node}: ${type} ${SERVICE_NAME} = '${r.stdout.trim()}' (want ${ip}) ${r.stderr.trim()}`,
        );
    }
  }
  return failures;
}

/**
 * From every pod to a container on the kind network (outside the cluster's pod network): the server
 * must see the pod's node IP as the source (ipMasq), never the pod IP.
 */
export async function egressChecks(cluster: KindCluster, pods: TestPod[]): Promise<string[]> {
  const outside = await startOutsideServer(`${cluster.name}-outside`);
  const failures: string[] = [];
  try {
    for (const pod of pods) {
      const r = await podSh(
        cluster,
        pod.name,
        `curl -sS -m 5 http://${hostPort(outside.ip)}/clientip`,
      );
      const seen = clientAddress(r.stdout);
      if (seen !== pod.hostIP)
        failures.push(
          `${pod.node} -> outside ${outside.ip}: saw '${r.stdout.trim()}' (want node IP ${pod.hostIP}) ${r.stderr.trim()}`,
        );
    }
  } finally {
    await outside.stop();
  }
  return failures;
}

export { tcpMatrix };
