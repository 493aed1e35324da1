# syntax=docker/dockerfile:1.7
# flannel-operator: one image, one binary (`flannel-operator`) with the roles
#   controller  - Deployment; runs as non-root (uid 65532), read-only root filesystem
#   agent       - DaemonSet created by the controller; needs root with NET_ADMIN + NET_RAW and
#                 hostNetwork to program links, routes, neighbours, FDB and netfilter rules
# nftables, iptables and iproute2 are in the image for the agent's netfilter paths (nft first,
# iptables fallback) and for debugging (`kubectl exec ... -- ip route`).
#
#   docker build -t flannel-operator:dev .
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript -------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && chmod 0755 dist/cli/main.js dist/cli/kubectl-flannel.js

# --- deps: production node_modules only ------------------------------------------------------
# --ignore-scripts: the only dependency with an install script is `netlink`, whose script just
# checks for a prebuilt N-API binary; it ships prebuilds for linux x64/arm64/arm and node-gyp-build
# loads them at run time, so no compiler is needed in any stage.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iptables iproute2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/flannel-operator
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
RUN ln -s /opt/flannel-operator/dist/cli/main.js /usr/local/bin/flannel-operator \
 && ln -s /opt/flannel-operator/dist/cli/kubectl-flannel.js /usr/local/bin/kubectl-flannel \
 && flannel-operator version
ENV NODE_ENV=production
# Non-root by default (the controller). The agent DaemonSet sets runAsUser: 0 and adds
# NET_ADMIN/NET_RAW itself; nothing else in the image needs root.
USER 65532:65532
ENTRYPOINT ["flannel-operator"]
CMD ["controller"]
