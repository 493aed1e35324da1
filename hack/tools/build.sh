#!/usr/bin/env bash
# Builds the test tooling (control plane, CNI plugins, helm, ...) from pinned Go modules into
# $FLANNEL_OPERATOR_TOOLS/bin (default ~/.cache/flannel-operator/tools/bin).
#
# Every tool is pinned by a small Go module under hack/tools/<module>/ (go.mod + go.sum committed, a
# tools.go naming the main packages). Local Go programs under hack/tools/local/<name>/ (own go.mod,
# main package at the module root) are built into bin/<name>.
#
# Cached: each tool has a stamp keyed by its package, ldflags, the Go version and a hash of its module's
# files; a tool whose stamp matches and whose binary exists is skipped, so a second run costs seconds.
# Concurrent callers serialise on a flock; the later ones find fresh stamps and exit quickly.
#
# Usage: hack/tools/build.sh [tool...]   (no argument: all tools)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="${FLANNEL_OPERATOR_TOOLS:-$HOME/.cache/flannel-operator/tools}"
bin_dir="$tools_dir/bin"
stamp_dir="$tools_dir/stamps"
mkdir -p "$bin_dir" "$stamp_dir"

command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build.sh: go not found (install Go >= 1.24 or add /usr/local/go/bin to PATH)" >&2; exit 1; }
command -v flock >/dev/null || { echo "build.sh: flock not found (Debian package util-linux)" >&2; exit 1; }

# -mod=mod: go.sum is committed, so downloads are verified against it; nothing is vendored.
# -buildvcs=false: local modules live in this git repo; stamping VCS data would make builds depend on it.
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

exec 9>"$tools_dir/.build.lock"
if ! flock -n 9; then
  echo "build.sh: another build holds $tools_dir/.build.lock, waiting..." >&2
  flock 9
fi

go_version="$(go env GOVERSION)"

# Version of a module as required by a tools module's go.mod.
required_version() { # <tools module dir> <module path>
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$here/$1/go.mod"
}

kube_version="$(required_version kubernetes k8s.io/kubernetes)"
# e2e.test must test the same Kubernetes the API server and the kind nodes run.
e2e_kube_version="$(required_version kube-e2e k8s.io/kubernetes)"
[[ "$e2e_kube_version" == "$kube_version" ]] || {
  echo "build.sh: kube-e2e pins k8s.io/kubernetes $e2e_kube_version, kubernetes pins $kube_version" >&2
  exit 1
}
kube_minor="$(echo "$kube_version" | cut -d. -f2)"
kube_ldflags=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
helm_version="$(required_version helm helm.sh/helm/v3)"
etcd_version="$(required_version etcd go.etcd.io/etcd/server/v3)"
cni_ldflags="-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$(required_version cni github.com/containernetworking/plugins)"
flannel_ldflags="-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$(required_version flannel-cni github.com/containernetworking/plugins)"

# name | tools module dir | main package (test:<pkg> = a test binary, go test -c) | extra ldflags. Slowest first.
tools=(
  "kube-apiserver|kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|$kube_ldflags"
  # The kind suite's node and control-plane binaries (hack/kind); built only when named.
  "kubelet|kubernetes-kind|k8s.io/kubernetes/cmd/kubelet|$kube_ldflags"
  "kube-controller-manager|kubernetes-kind|k8s.io/kubernetes/cmd/kube-controller-manager|$kube_ldflags"
  "kubeadm|kubernetes-kind|k8s.io/kubernetes/cmd/kubeadm|$kube_ldflags"
  "kube-scheduler|kubernetes-kind|k8s.io/kubernetes/cmd/kube-scheduler|$kube_ldflags"
  "kube-proxy|kubernetes-kind|k8s.io/kubernetes/cmd/kube-proxy|$kube_ldflags"
  "agnhost|kubernetes-kind|k8s.io/kubernetes/test/images/agnhost|"
  # The Kubernetes e2e suite for the sig-network conformance run (test-e2e/kind/conformance).
  "e2e.test|kube-e2e|test:k8s.io/kubernetes/test/e2e|$kube_ldflags"
  "kind|kind|sigs.k8s.io/kind|"
  "coredns|coredns|github.com/coredns/coredns|"
  "etcd|etcd|go.etcd.io/etcd/server/v3|-X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version"
  "kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl|$kube_ldflags"
  "helm|helm|helm.sh/helm/v3/cmd/helm|-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  "kube-network-policies|kube-network-policies|sigs.k8s.io/kube-network-policies/cmd|"
  "bridge|cni|github.com/containernetworking/plugins/plugins/main/bridge|$cni_ldflags"
  "host-local|cni|github.com/containernetworking/plugins/plugins/ipam/host-local|$cni_ldflags"
  "portmap|cni|github.com/containernetworking/plugins/plugins/meta/portmap|$cni_ldflags"
  "loopback|cni|github.com/containernetworking/plugins/plugins/main/loopback|$cni_ldflags"
  # The flannel CNI plugin moved to github.com/flannel-io/cni-plugin, which this machine's module proxy
  # does not serve. Its original home, containernetworking/plugins v0.9.1 plugins/meta/flannel, reads the
  # same /run/flannel/subnet.env contract and delegates to bridge + host-local, so we build that one.
  # It sits in its own module (flannel-cni/) because v0.9.1's dependencies clash with v1.9.1's.
  # wireguard-go: the userspace WireGuard the agent falls back to on kernels without WireGuard
  # (this machine's); the netns lab's wireguard suite runs it.
  "wireguard-go|wireguard-go|golang.zx2c4.com/wireguard|"
  "flannel|flannel-cni|github.com/containernetworking/plugins/plugins/meta/flannel|$flannel_ldflags"
)
if [[ -d "$here/local" ]]; then
  for mod in "$here"/local/*/go.mod; do
    [[ -e "$mod" ]] || continue
    name="$(basename "$(dirname "$mod")")"
    tools+=("$name|local/$name|.|")
  done
fi

# Hash of everything that defines a module's build: go.mod, go.sum and its Go sources.
module_hash() { # <tools module dir>
  (cd "$here/$1" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# Tools only the kind suite needs: `make tools` (no argument) skips them, hack/kind/build.sh names them.
on_request=" kubelet kube-controller-manager kubeadm kube-scheduler kube-proxy agnhost e2e.test kind coredns pause "

want=("$@")
wanted() {
  [[ ${#want[@]} -eq 0 && "$on_request" != *" $1 "* ]] && return 0
  local w; for w in "${want[@]}"; do [[ "$w" == "$1" ]] && return 0; done
  return 1
}

declare -A hashes=()
built=0 total_start=$SECONDS
for entry in "${tools[@]}"; do
  IFS='|' read -r name moddir pkg extra <<<"$entry"
  wanted "$name" || continue
  [[ -n "${hashes[$moddir]:-}" ]] || hashes[$moddir]="$(module_hash "$moddir")"
  ldflags="-s -w $extra"
  key="$(printf '%s\n' "$name" "$pkg" "$ldflags" "$go_version" "${hashes[$moddir]}" | sha256sum | cut -d' ' -f1)"
  stamp="$stamp_dir/$name"
  if [[ -x "$bin_dir/$name" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    continue
  fi
  start=$SECONDS
  echo "build.sh: building $name ($pkg, $go_version)..." >&2
  env=()
  # kube-network-policies and some of its pseudo-versioned deps are not in this machine's checksum
  # database mirror; the committed go.sum still pins every hash.
  [[ "$moddir" == kube-network-policies ]] && env=(GOSUMDB=off)
  tmp="$bin_dir/.$name.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  go_cmd=(build)
  # go test -c would also vet the suite: not ours to lint, and minutes of CPU.
  [[ "$pkg" == test:* ]] && go_cmd=(test -c -vet=off) pkg="${pkg#test:}"
  (cd "$here/$moddir" && env "${env[@]}" go "${go_cmd[@]}" -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg")
  mv -f "$tmp" "$bin_dir/$name"
  echo "$key" >"$stamp"
  built=$((built + 1))
  echo "build.sh: built $name in $((SECONDS - start))s -> $bin_dir/$name" >&2
done
echo "build.sh: $built tool(s) built, all up to date in $bin_dir ($((SECONDS - total_start))s)" >&2
