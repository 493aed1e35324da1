#!/usr/bin/env bash
# `make lab`: a 3-node netns lab with the operator; see test-e2e/lab/demo.ts for the flags
# (--backend vxlan|host-gw|directRouting, --keep). Needs root, `make build` and `make tools`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "make lab needs root (network namespaces)"; exit 1; }
for bin in ip nft iperf3 ping; do
  command -v "$bin" >/dev/null || { echo "missing $bin: apt-get install iproute2 nftables iperf3 iputils-ping"; exit 1; }
done
npx tsc -p tsconfig.bench.json
node dist-bench/test-e2e/lab/demo.js "$@"
