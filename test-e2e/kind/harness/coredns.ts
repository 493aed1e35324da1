/**
 * CoreDNS configuration of the kind clusters: cluster DNS only. The zones are cluster.local and the
 * reverse zones; there is no `forward` (nor `loop`), so no query ever leaves the machine, and names
 * outside the cluster get REFUSED instead of a timeout.
 */
export const COREFILE = `cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       ttl 30
    }
    prometheus :9153
    cache 30
    reload
    loadbalance
}
`;

export const COREDNS_CONFIGMAP = JSON.stringify({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'coredns', namespace: 'kube-system' },
  data: { Corefile: COREFILE },
});
