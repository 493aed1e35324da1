#!/usr/bin/env bash
# Builds (or reuses) everything the kind suite runs, offline: Go binaries from pinned modules and the
# container images, all keyed on their pins and inputs and cached under ~/.cache/flannel-operator.
#
#   hack/kind/build.sh go       Go binaries via hack/tools/build.sh (no Docker needed)
#   hack/kind/build.sh rootfs   Debian rootfs tarball from debootstrap (no Docker needed)
#   hack/kind/build.sh images   every image (needs our dockerd: hack/kind/dockerd.sh start)
#
# Images (each labelled with the hash of its inputs; an image whose label matches is kept):
#   local/debian:bookworm         debootstrap minbase, the base every other image builds FROM
#   local/node20:bookworm         Node 20 (this machine's) on it; local/node20-ca: + the host CA (test only)
#   flannel-operator:e2e          the repository's Dockerfile, unchanged (build stages on node20-ca)
#   registry.k8s.io/...           control plane, etcd, pause, kube-proxy, coredns, agnhost,
#                                 kube-network-policies; ghcr.io/flannel-io/flannel-cni-plugin
#   local/kind-node:v1.34.4       kind's node image with all the above but the operator preloaded
# After a build, `docker save` of all of them goes to $KIND_CACHE/images.tar; a fresh docker data root
# loads it instead of building again.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GO_TOOLS=(kind pause kubelet kubeadm kube-proxy kube-controller-manager kube-scheduler agnhost e2e.test coredns
  kube-apiserver etcd kubectl helm bridge host-local portmap loopback flannel kube-network-policies)
OPERATOR_IMAGE=flannel-operator:e2e
FLANNEL_CNI_IMAGE="ghcr.io/flannel-io/flannel-cni-plugin:$(awk '/flannel_cni:/ { f = 1 } f && /tag:/ { print $2; exit }' "$REPO_DIR/charts/flannel-operator/values.yaml")"
NETPOL_IMAGE="registry.k8s.io/networking/kube-network-policies:$(awk '/^netpol:/ { f = 1 } f && /tag:/ { print $2; exit }' "$REPO_DIR/charts/flannel-operator/values.yaml")"
AGNHOST_IMAGE="registry.k8s.io/e2e-test-images/agnhost:$AGNHOST_TAG"
# Images preloaded into the node image, so no cluster has to load them.
PRELOAD=("registry.k8s.io/kube-apiserver:$KUBE_VERSION" "registry.k8s.io/kube-controller-manager:$KUBE_VERSION"
  "registry.k8s.io/kube-scheduler:$KUBE_VERSION" "registry.k8s.io/etcd:$ETCD_TAG" "registry.k8s.io/pause:$PAUSE_TAG"
  "registry.k8s.io/kube-proxy:$KUBE_VERSION" "registry.k8s.io/coredns/coredns:$COREDNS_TAG"
  "$AGNHOST_IMAGE" "$FLANNEL_CNI_IMAGE" "$NETPOL_IMAGE")

build_go() {
  local t
  for t in "${GO_TOOLS[@]}"; do "$REPO_DIR/hack/tools/build.sh" "$t"; done # one at a time: the lock is shared
}

rootfs_tar="$KIND_CACHE/debian-$DEBIAN_SUITE.tar"
build_rootfs() {
  [[ -s "$rootfs_tar" ]] && return 0
  command -v debootstrap >/dev/null || die "debootstrap missing (hack/install-deps.sh)"
  mkdir -p "$KIND_CACHE" # a fresh machine: nothing has made it yet (dockerd starts after this)
  local dir="$KIND_CACHE/.rootfs.$$"
  log "debootstrap $DEBIAN_SUITE from $DEBIAN_MIRROR"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" >"$KIND_CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$KIND_CACHE/debootstrap.log" >&2; rm -rf "$dir"; die "debootstrap failed"; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$dir"
}

# --- images -----------------------------------------------------------------------------------
built_any=0
image_key() { docker image inspect -f '{{ index .Config.Labels "flop.kind.key" }}' "$1" 2>/dev/null || true; }
stamp() { cat "${FLANNEL_OPERATOR_TOOLS:-$HOME/.cache/flannel-operator/tools}/stamps/$1"; }
# Key of an image: its Dockerfile, build args and the given extra inputs (stamps, hashes).
key_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# docker_build <tag> <image dir> <context dir> <key> [build args...]
docker_build() {
  local tag="$1" dir="$2" ctx="$3" key="$4" arg; shift 4
  # A build arg naming a local image (the FROM base) adds that image's key: a new base rebuilds.
  for arg in "$@"; do key+=" $(image_key "${arg#*=}")"; done
  key="$(key_of "$key" "$(cat "$KIND_DIR/images/$dir/Dockerfile")" "$@")"
  [[ "$(image_key "$tag")" == "$key" ]] && return 0
  local start=$SECONDS args=() a
  for a in "$@"; do args+=(--build-arg "$a"); done
  log "building $tag"
  DOCKER_BUILDKIT=0 docker build -q --network host --label "flop.kind.key=$key" "${args[@]}" \
    -f "$KIND_DIR/images/$dir/Dockerfile" -t "$tag" "$ctx" >/dev/null
  log "built $tag in $((SECONDS - start))s"
  built_any=1
}

# A throwaway build context holding copies (hard links where possible) of the given files.
context() {
  local ctx f
  ctx="$(mktemp -d "$KIND_CACHE/.ctx.XXXXXX")"
  for f in "$@"; do cp -al "$f" "$ctx/" 2>/dev/null || cp -a "$f" "$ctx/"; done
  echo "$ctx"
}

build_base() {
  local key
  key="$(key_of "$(sha256sum <"$rootfs_tar")")"
  [[ "$(image_key "$BASE_IMAGE")" == "$key" ]] && return 0
  log "importing $BASE_IMAGE"
  docker import -c "LABEL flop.kind.key=$key" "$rootfs_tar" "$BASE_IMAGE" >/dev/null
  built_any=1
}

build_node20() {
  local npm_dir ctx
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  ctx="$(context "$(readlink -f "$(command -v node)")" "$npm_dir")"
  docker_build local/node20:bookworm node20 "$ctx" "$(node --version) $(npm --version)" "BASE_IMAGE=$BASE_IMAGE"
  ctx="$(context /etc/ssl/certs/ca-certificates.crt)"
  docker_build local/node20-ca:bookworm node20-ca "$ctx" "$(sha256sum </etc/ssl/certs/ca-certificates.crt)" \
    NODE20=local/node20:bookworm
}

build_component_images() {
  local bin
  for bin in kube-apiserver kube-controller-manager kube-scheduler; do
    docker_build "registry.k8s.io/$bin:$KUBE_VERSION" control-plane "$(context "$TOOLS_BIN/$bin")" "$(stamp "$bin")" "BIN=$bin"
  done
  docker_build "registry.k8s.io/etcd:$ETCD_TAG" control-plane "$(context "$TOOLS_BIN/etcd")" "$(stamp etcd)" BIN=etcd
  docker_build "registry.k8s.io/pause:$PAUSE_TAG" pause "$(context "$TOOLS_BIN/pause")" "$(stamp pause)"
  docker_build "registry.k8s.io/coredns/coredns:$COREDNS_TAG" coredns "$(context "$TOOLS_BIN/coredns")" "$(stamp coredns)"
  docker_build "registry.k8s.io/kube-proxy:$KUBE_VERSION" kube-proxy "$(context "$TOOLS_BIN/kube-proxy")" \
    "$(stamp kube-proxy)" "BASE_IMAGE=$BASE_IMAGE"
  docker_build "$FLANNEL_CNI_IMAGE" flannel-cni "$(context "$TOOLS_BIN/flannel")" "$(stamp flannel)" "BASE_IMAGE=$BASE_IMAGE"
  docker_build "$NETPOL_IMAGE" kube-network-policies "$(context "$TOOLS_BIN/kube-network-policies")" \
    "$(stamp kube-network-policies)" "BASE_IMAGE=$BASE_IMAGE"
  local porter
  porter="$(go_module_dir kubernetes-kind k8s.io/kubernetes)/test/images/agnhost/porter"
  docker_build "$AGNHOST_IMAGE" agnhost \
    "$(context "$TOOLS_BIN/agnhost" "$TOOLS_BIN/coredns" "$porter/localhost.crt" "$porter/localhost.key")" \
    "$(stamp agnhost) $(stamp coredns)" "BASE_IMAGE=$BASE_IMAGE"
}

go_module_dir() { # <hack/tools module> <module path>: its source dir in the module cache
  (cd "$REPO_DIR/hack/tools/$1" && GOFLAGS=-mod=mod go list -m -f '{{ .Dir }}' "$2")
}

build_node_image() {
  local kind_files ctx key preload_keys="" img
  kind_files="$(go_module_dir kind sigs.k8s.io/kind)/images/base/files"
  ctx="$(mktemp -d "$KIND_CACHE/.ctx.XXXXXX")"
  cp -r "$kind_files" "$ctx/files" && chmod -R u+w "$ctx/files"
  docker_build local/kind-node-base:bookworm node-base "$ctx" "$(cd "$kind_files" && find . -type f | sort | xargs sha256sum)" \
    "BASE_IMAGE=$BASE_IMAGE" "PAUSE_TAG=$PAUSE_TAG"
  ctx="$(context "$TOOLS_BIN"/{kubelet,kubeadm,kubectl,bridge,host-local,portmap,loopback})"
  docker_build local/kind-node-bin:bookworm node "$ctx" "$(stamp kubelet) $(stamp kubeadm) $(stamp kubectl) $(stamp bridge)" \
    NODE_BASE=local/kind-node-base:bookworm "KUBE_VERSION=$KUBE_VERSION"
  for img in local/kind-node-bin:bookworm "${PRELOAD[@]}"; do preload_keys+="$(image_key "$img") "; done
  key="$(key_of "$preload_keys")"
  [[ "$(image_key "$NODE_IMAGE")" == "$key" ]] && return 0
  preload "$key"
}

# As `kind build node-image` does: import the images into the node's containerd, then commit.
preload() { # <key>
  local start=$SECONDS cid
  log "preloading ${#PRELOAD[@]} images into $NODE_IMAGE"
  cid="$(docker run -d --privileged --entrypoint sleep local/kind-node-bin:bookworm infinity)"
  docker exec "$cid" bash -c 'containerd >/tmp/containerd.log 2>&1 & for i in $(seq 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1'
  docker save "${PRELOAD[@]}" | docker exec -i "$cid" ctr -n k8s.io images import --no-unpack --digests - >/dev/null
  docker exec "$cid" bash -c 'kill $(pidof containerd); while pidof containerd >/dev/null; do sleep 0.2; done; rm -f /tmp/containerd.log'
  docker commit -c 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' -c 'CMD []' \
    -c "LABEL flop.kind.key=$1" "$cid" "$NODE_IMAGE" >/dev/null
  docker rm -f -v "$cid" >/dev/null # -v: its anonymous /var volume holds the unpacked images
  log "node image $NODE_IMAGE ready in $((SECONDS - start))s"
  built_any=1
}

# The operator image from the repository's Dockerfile as users build it; only the build stages get
# the test base with this machine's CA bundle (npm behind the proxy), the runtime stage never does.
build_operator_image() {
  local key
  key="$(cd "$REPO_DIR" && { cat Dockerfile .dockerignore package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json;
    find src hack/image -type f ! -name '*.test.ts' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-16)"
  [[ "$(image_key "$OPERATOR_IMAGE")" == "$key" ]] && return 0
  local start=$SECONDS
  log "building $OPERATOR_IMAGE from $REPO_DIR/Dockerfile"
  DOCKER_BUILDKIT=1 docker build -q --network host --label "flop.kind.key=$key" \
    --build-arg BUILD_NODE_IMAGE=local/node20-ca:bookworm --build-arg NODE_IMAGE=local/node20:bookworm \
    -t "$OPERATOR_IMAGE" "$REPO_DIR" >/dev/null
  log "built $OPERATOR_IMAGE in $((SECONDS - start))s"
}

# Images the sig-network conformance specs run besides agnhost and pause, under the names
# test/utils/image/manifest.go (v1.34.4) gives them; loaded per cluster (test-e2e/kind/conformance).
E2E_IMAGES=registry.k8s.io/e2e-test-images
CONFORMANCE_IMAGES=("$E2E_IMAGES/jessie-dnsutils:1.7" "$E2E_IMAGES/nginx:1.14-4" "$E2E_IMAGES/nginx:1.15-4"
  "$E2E_IMAGES/busybox:1.37.0-1")
build_conformance_images() {
  local ctx
  ctx="$(mktemp -d "$KIND_CACHE/.ctx.XXXXXX")" # nothing to copy: apt only
  docker_build "$E2E_IMAGES/jessie-dnsutils:1.7" jessie-dnsutils "$ctx" "" "BASE_IMAGE=$BASE_IMAGE"
  docker_build "$E2E_IMAGES/nginx:1.14-4" nginx "$ctx" "" "BASE_IMAGE=$BASE_IMAGE"
  docker tag "$E2E_IMAGES/nginx:1.14-4" "$E2E_IMAGES/nginx:1.15-4" # one nginx serves both tags
  docker_build "$E2E_IMAGES/busybox:1.37.0-1" busybox "$ctx" "" "BASE_IMAGE=$BASE_IMAGE"
}

save_images() {
  local tar="$KIND_CACHE/images.tar" start=$SECONDS
  [[ "$built_any" == 0 && -s "$tar" ]] && return 0
  log "saving the images to $tar"
  docker save "$BASE_IMAGE" local/node20:bookworm local/node20-ca:bookworm "$NODE_IMAGE" "${PRELOAD[@]}" \
    "${CONFORMANCE_IMAGES[@]}" >"$tar.tmp"
  mv -f "$tar.tmp" "$tar"
  log "saved in $((SECONDS - start))s ($(du -h "$tar" | cut -f1))"
}

build_images() {
  dockerd_pid >/dev/null || die "our dockerd is not running (hack/kind/dockerd.sh start)"
  build_rootfs
  if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 && [[ -s "$KIND_CACHE/images.tar" ]]; then
    log "loading cached images from $KIND_CACHE/images.tar"
    docker load -q -i "$KIND_CACHE/images.tar" >/dev/null
  fi
  trap 'rm -rf "$KIND_CACHE"/.ctx.*' EXIT
  build_base
  build_node20
  build_component_images
  build_node_image
  build_conformance_images
  save_images
  build_operator_image
}

case "${1:-}" in
  go) build_go ;;
  rootfs) build_rootfs ;;
  images) build_images ;;
  *) die "usage: $0 go|rootfs|images" ;;
esac
