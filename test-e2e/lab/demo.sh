#!/usr/bin/env bash
# `make lab`: a 3-node netns lab with the operator; see test-e2e/lab/demo.ts for the flags
# (--backend vxlan|host-gw|directRouting, --keep). Needs root, `make build` and `make tools`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "make lab needs root (network namespaces)"; exit 1; }
for bin in ip nft iperf3 ping; do
  command -v "$bin" >/dev/null || { echo "missing $bin: apt-get install iproute2 nftables iperf3 iputils-ping"; exit 1; }
done
# tsc emits even when some other file has type errors; the demo only needs its own output.
npx tsc -p tsconfig.bench.json >/tmp/flop-demo-tsc.log 2>&1 || echo "note: tsc reported type errors (see /tmp/flop-demo-tsc.log); continuing"
[ -f dist-bench/test-e2e/lab/demo.js ] || { cat /tmp/flop-demo-tsc.log; exit 1; }
node dist-bench/test-e2e/lab/demo.js "$@"
