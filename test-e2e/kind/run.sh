#!/usr/bin/env bash
# End-to-end check of flannel-operator on a real cluster: kind (Kubernetes in Docker) with the
# default CNI disabled, the operator image built from this checkout, the Helm chart installed,
# then a pod-to-pod connectivity matrix across all nodes and, optionally, a NetworkPolicy check.
#
# Needs: docker (running engine), kind, kubectl, helm, curl, and internet access for the kind node image,
# the flannel CNI plugin image, the agnhost test image (and kube-network-policies with NETPOL=1).
# This script is NOT run by `make test` (no Docker engine there); it is linted by
# test-e2e/chart/scripts.test.ts. See README.md in this directory.
#
# Usage: test-e2e/kind/run.sh            (settings via environment, see below)
set -euo pipefail

CLUSTER_NAME="${CLUSTER_NAME:-flannel-operator-e2e}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-}"            # e.g. kindest/node:v1.34.0; empty: kind's default
WORKERS="${WORKERS:-2}"                            # worker nodes besides the control plane
BACKEND="${BACKEND:-vxlan}"                        # vxlan | host-gw | directrouting
NETPOL="${NETPOL:-0}"                              # 1: enable kube-network-policies and test a policy
POD_SUBNET="${POD_SUBNET:-10.244.0.0/16}"
IMAGE="${IMAGE:-flannel-operator:e2e}"             # operator image built from this checkout
NAMESPACE="${NAMESPACE:-kube-flannel}"
TEST_IMAGE="${TEST_IMAGE:-registry.k8s.io/e2e-test-images/agnhost:2.53}"
TIMEOUT="${TIMEOUT:-300s}"
KEEP="${KEEP:-0}"                                  # 1: leave the cluster running afterwards
SKIP_BUILD="${SKIP_BUILD:-0}"                      # 1: reuse an already built $IMAGE
CNI_PLUGINS_VERSION="${CNI_PLUGINS_VERSION:-v1.6.2}" # reference plugins put on nodes lacking `bridge`

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/flannel-operator-kind.XXXXXX")"
kubeconfig="$work/kubeconfig"
failures=0

log() { printf '\n=== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
k() { kubectl --kubeconfig "$kubeconfig" "$@"; }

cleanup() {
  local code=$?
  if [[ "$code" -ne 0 && -f "$kubeconfig" ]]; then
    log "failure diagnostics"
    k get nodes -o wide || true
    k get flannelnetworks,subnetleases -o wide || true
    k -n "$NAMESPACE" get pods -o wide || true
    k -n "$NAMESPACE" logs -l app.kubernetes.io/component=controller --tail=50 --prefix || true
    k -n "$NAMESPACE" logs -l app.kubernetes.io/name=flannel-agent --all-containers --tail=50 --prefix || true
  fi
  if [[ "$KEEP" == 1 ]]; then
    echo "cluster kept: kubectl --kubeconfig $kubeconfig ... ; delete with: kind delete cluster --name $CLUSTER_NAME" >&2
  else
    kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$code"
}

for tool in docker kind kubectl helm curl; do
  command -v "$tool" >/dev/null || die "$tool not found in PATH"
done
docker info >/dev/null 2>&1 || die "no Docker engine reachable (docker info failed)"
case "$BACKEND" in
  vxlan) backend_args=(--set flannel.backend=vxlan) ;;
  host-gw) backend_args=(--set flannel.backend=host-gw) ;;
  directrouting) backend_args=(--set flannel.backend=vxlan --set flannel.directRouting=true) ;;
  *) die "BACKEND must be vxlan, host-gw or directrouting (got $BACKEND)" ;;
esac
[[ "$WORKERS" =~ ^[0-9]+$ ]] || die "WORKERS must be a number (got $WORKERS)"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  die "a kind cluster named $CLUSTER_NAME exists already; delete it or set CLUSTER_NAME"
fi
trap cleanup EXIT

log "creating kind cluster $CLUSTER_NAME (1 control plane + $WORKERS workers, no default CNI, pods $POD_SUBNET)"
{
  echo "kind: Cluster"
  echo "apiVersion: kind.x-k8s.io/v1alpha4"
  echo "networking:"
  echo "  disableDefaultCNI: true"
  echo "  podSubnet: \"$POD_SUBNET\""
  echo "nodes:"
  echo "  - role: control-plane"
  for ((i = 0; i < WORKERS; i++)); do echo "  - role: worker"; done
} >"$work/kind.yaml"
kind_args=(create cluster --name "$CLUSTER_NAME" --config "$work/kind.yaml" --kubeconfig "$kubeconfig")
[[ -n "$KIND_NODE_IMAGE" ]] && kind_args+=(--image "$KIND_NODE_IMAGE")
kind "${kind_args[@]}"

if [[ "$SKIP_BUILD" != 1 ]]; then
  log "building $IMAGE from $repo"
  docker build -t "$IMAGE" "$repo"
fi
kind load docker-image "$IMAGE" --name "$CLUSTER_NAME"

# The flannel CNI plugin delegates to the `bridge` and `host-local` reference plugins. kind's node
# image ships only what kindnet needs (no bridge), so add the reference plugins where missing.
arch="$(docker exec "$CLUSTER_NAME-control-plane" uname -m)"
case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
for node in $(kind get nodes --name "$CLUSTER_NAME"); do
  if ! docker exec "$node" test -x /opt/cni/bin/bridge; then
    if [[ ! -f "$work/cni-plugins.tgz" ]]; then
      log "fetching CNI reference plugins $CNI_PLUGINS_VERSION ($arch)"
      curl -fsSL -o "$work/cni-plugins.tgz" \
        "https://github.com/containernetworking/plugins/releases/download/$CNI_PLUGINS_VERSION/cni-plugins-linux-$arch-$CNI_PLUGINS_VERSION.tgz"
    fi
    docker cp "$work/cni-plugins.tgz" "$node:/tmp/cni-plugins.tgz"
    docker exec "$node" tar -xzf /tmp/cni-plugins.tgz -C /opt/cni/bin
  fi
done

log "installing the chart (backend $BACKEND, netpol $NETPOL)"
k create namespace "$NAMESPACE"
k label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=privileged
netpol_enabled=false
[[ "$NETPOL" == 1 ]] && netpol_enabled=true
helm --kubeconfig "$kubeconfig" install flannel-operator "$repo/charts/flannel-operator" \
  --namespace "$NAMESPACE" \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set podCidr="$POD_SUBNET" --set netpol.enabled="$netpol_enabled" \
  "${backend_args[@]}" \
  --wait --timeout "$TIMEOUT"

log "waiting for the network, the agents and the nodes"
k wait flannelnetwork/default --for=condition=Ready --timeout="$TIMEOUT"
k -n "$NAMESPACE" rollout status daemonset/flannel-agent-default --timeout="$TIMEOUT"
k wait nodes --all --for=condition=Ready --timeout="$TIMEOUT"
k get flannelnetworks,subnetleases -o wide

log "connectivity matrix: one agnhost pod per node, every pod connects to every pod"
k create namespace fo-e2e
cat >"$work/netexec.yaml" <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: netexec
  namespace: fo-e2e
spec:
  selector:
    matchLabels: {app: netexec}
  template:
    metadata:
      labels: {app: netexec, role: server}
    spec:
      tolerations: [{operator: Exists}]
      containers:
        - name: netexec
          image: $TEST_IMAGE
          args: ["netexec", "--http-port=8080"]
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
EOF
k apply -f "$work/netexec.yaml"
k -n fo-e2e rollout status daemonset/netexec --timeout="$TIMEOUT"

mapfile -t pods < <(k -n fo-e2e get pods -l app=netexec -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.podIP}{" "}{.spec.nodeName}{"\n"}{end}')
[[ "${#pods[@]}" -eq $((WORKERS + 1)) ]] || die "expected $((WORKERS + 1)) test pods, got ${#pods[@]}"
printf '%-28s %-28s %s\n' FROM TO RESULT
for src in "${pods[@]}"; do
  read -r src_pod _ src_node <<<"$src"
  for dst in "${pods[@]}"; do
    read -r _ dst_ip dst_node <<<"$dst"
    if k -n fo-e2e exec "$src_pod" -- /agnhost connect --timeout=5s "$dst_ip:8080" >/dev/null 2>&1; then
      result=ok
    else
      result=FAIL
      failures=$((failures + 1))
    fi
    printf '%-28s %-28s %s\n' "$src_node" "$dst_node ($dst_ip)" "$result"
  done
done

if [[ "$NETPOL" == 1 ]]; then
  log "NetworkPolicy: only pods labelled role=client may reach the servers"
  cat >"$work/netpol.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: servers-from-clients
  namespace: fo-e2e
spec:
  podSelector:
    matchLabels: {role: server}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels: {role: client}
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: fo-e2e
  labels: {role: client}
spec:
  containers:
    - {name: c, image: $TEST_IMAGE, args: ["pause"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: stranger
  namespace: fo-e2e
  labels: {role: stranger}
spec:
  containers:
    - {name: c, image: $TEST_IMAGE, args: ["pause"]}
EOF
  k apply -f "$work/netpol.yaml"
  k -n fo-e2e wait pod/client pod/stranger --for=condition=Ready --timeout="$TIMEOUT"
  read -r _ target_ip _ <<<"${pods[0]}"
  sleep 5 # policy propagation to the node's kube-network-policies
  if k -n fo-e2e exec client -- /agnhost connect --timeout=5s "$target_ip:8080" >/dev/null 2>&1; then
    echo "client   -> $target_ip: ok (allowed)"
  else
    echo "client   -> $target_ip: FAIL (should be allowed)"
    failures=$((failures + 1))
  fi
  if k -n fo-e2e exec stranger -- /agnhost connect --timeout=5s "$target_ip:8080" >/dev/null 2>&1; then
    echo "stranger -> $target_ip: FAIL (should be blocked)"
    failures=$((failures + 1))
  else
    echo "stranger -> $target_ip: blocked (as the policy says)"
  fi
fi

log "result"
if [[ "$failures" -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed (backend $BACKEND, netpol $NETPOL, $((WORKERS + 1)) nodes)"
