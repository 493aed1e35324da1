# flannel-operator: one image, one binary (`flannel-operator`) with the roles
#   controller  - Deployment; runs as non-root (uid 65532), read-only root filesystem
#   agent       - DaemonSet created by the controller; needs root with NET_ADMIN + NET_RAW and
#                 hostNetwork to program links, routes, neighbours, FDB and netfilter rules
# nftables, iptables and iproute2 are in the image for the agent's netfilter paths (nft first,
# iptables-nft or iptables-legacy as fallback) and for debugging (`kubectl exec ... -- ip route`).
#
#   docker build -t flannel-operator:dev .
#
# Every node pulls this image, so the runtime is FROM scratch with only what runs (122 MB, 99 MB of
# it the node binary, 5.7 MB the agent's startup snapshot): the esbuild bundle of the CLI instead
# of a node_modules tree, and node, nft, iptables, ip and env with the shared libraries ldd names
# (hack/image/rootfs.sh). No shell.
#
# Plain Dockerfile syntax (no `# syntax=` frontend to fetch): BuildKit and the classic builder both
# build it. NODE_IMAGE is a Debian-based Node 20 image: the runtime's node and Debian's nftables,
# iptables and iproute2 come from it. BUILD_NODE_IMAGE (default NODE_IMAGE) runs npm only, so a
# build-time-only base (e.g. one trusting a proxy's CA for npm) never reaches the runtime image.
# Multi-arch: every stage runs on the target platform, so npm, node-gyp-build's prebuild choice
# and ldd all see the target's architecture.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG BUILD_NODE_IMAGE=${NODE_IMAGE}

# --- build: compile TypeScript, bundle the CLI, lay out /opt/flannel-operator -----------------
# --ignore-scripts: `netlink`'s install script only checks for its prebuilt N-API binaries (linux
# x64/arm64/arm, loaded by node-gyp-build at run time) and esbuild's only checks its platform
# binary package, so no compiler is needed in any stage.
FROM ${BUILD_NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY hack/image/bundle.js ./hack/image/
COPY src ./src
RUN npm run build && node hack/image/bundle.js --app /app

# --- rootfs: the runtime's files, taken from Debian --------------------------------------------
FROM ${NODE_IMAGE} AS rootfs
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iptables iproute2 wireguard-tools \
 && rm -rf /var/lib/apt/lists/*
COPY hack/image/rootfs.sh /tmp/rootfs.sh
RUN bash /tmp/rootfs.sh /rootfs
COPY --from=build /app /rootfs/opt/flannel-operator
# The agent's startup snapshot, with the runtime's own node at the runtime's paths (the DaemonSet
# runs the agent from it: src/agent/launch.ts); the script fails the build unless it starts.
COPY hack/image/snapshot.sh /tmp/snapshot.sh
RUN bash /tmp/snapshot.sh /rootfs
# Fail the build here when the tree misses a file or a library (no shell runs in the final image).
RUN for cmd in 'flannel-operator version' 'kubectl-flannel --help' 'nft --version' \
      'iptables-nft -V' 'iptables-legacy -V' 'ip6tables-nft-restore -V' 'ip6tables-legacy-save -V' \
      'ip -V' 'wg --version' "node -e require('/opt/flannel-operator/node_modules/netlink')"; do \
      echo "+ $cmd"; env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin chroot --userspec=65532:65532 /rootfs $cmd >/dev/null || exit 1; \
    done

# --- runtime -------------------------------------------------------------------------------
FROM scratch
COPY --from=rootfs /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production
# Non-root by default (the controller). The agent DaemonSet sets runAsUser: 0 and adds
# NET_ADMIN/NET_RAW itself; nothing else in the image needs root.
USER 65532:65532
ENTRYPOINT ["flannel-operator"]
CMD ["controller"]
