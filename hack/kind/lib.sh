# Shared settings of the kind suite's scripts (sourced, never run). Everything lives in three places:
#   $KIND_CACHE  ~/.cache/flannel-operator/kind: docker data root, debootstrap tarball, `docker save` of
#                the built images, stamps keyed on the pins (kept between runs: warm runs reuse it)
#   $KIND_STATE  /run/flop-kind: our dockerd's pidfile, socket, exec root, daemon.json, runc wrapper
#   tools bin    ~/.cache/flannel-operator/tools/bin: Go binaries from hack/tools/build.sh
# shellcheck shell=bash disable=SC2034  # the settings are used by the scripts that source this file

KIND_CACHE="${FLOP_KIND_CACHE:-$HOME/.cache/flannel-operator/kind}"
KIND_STATE="${FLOP_KIND_STATE:-/run/flop-kind}"
TOOLS_BIN="${FLANNEL_OPERATOR_TOOLS:-$HOME/.cache/flannel-operator/tools}/bin"
KIND_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$KIND_DIR/../.." && pwd)"
export DOCKER_HOST="unix://$KIND_STATE/docker.sock"
# Debian's docker CLI (docker.io) first: it matches the daemon.
export PATH="/usr/sbin:/usr/bin:$TOOLS_BIN:$PATH"

# Pins: the node image is built for this Kubernetes version (hack/tools/kubernetes-kind/go.mod).
KUBE_VERSION=v1.34.4
ETCD_TAG=3.6.5-0
PAUSE_TAG=3.10.1
COREDNS_TAG=v1.12.1
AGNHOST_TAG=2.56
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${FLOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_IMAGE="local/debian:$DEBIAN_SUITE"
NODE_IMAGE="local/kind-node:$KUBE_VERSION"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

dockerd_pid() { # prints our dockerd's pid when it runs
  local pid
  pid="$(cat "$KIND_STATE/dockerd.pid" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Network namespaces of a netns lab (test-e2e/lab): dockerd must never run beside one.
lab_namespaces() { ip netns list 2>/dev/null | awk '$1 ~ /^flop-/ { print $1 }'; }
