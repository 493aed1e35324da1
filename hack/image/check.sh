#!/usr/bin/env bash
# Proves what a built operator image holds (needs a Docker engine; the image is not rebuilt):
#   hack/image/check.sh [IMAGE]          default flannel-operator:dev
# - size <= 150 MB uncompressed
# - each role's entry runs: `flannel-operator version`, `crds`, the agent's and the kubectl
#   plugin's --help (the agent's loads netlink's prebuild through the bundle); the agent also
#   from its startup snapshot, as its DaemonSet starts it (src/agent/launch.ts)
# - nft, iptables-nft, iptables-legacy (and ip6tables), ip answer; as root with NET_ADMIN in the
#   container's own network namespace they also list and add rules
# - the netlink prebuild loads by its path; uid:gid 65532:65532 by default; there is no shell
# Prints one line per check; exits 1 when any fails.
# shellcheck disable=SC2317 # the helpers below run indirectly, through check
set -euo pipefail

image="${1:-flannel-operator:dev}"
limit_mb=150
failed=0

check() { # <what> <command...>
  local what="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    printf 'ok    %-40s %s\n' "$what" "$(head -1 <<<"$out")"
  else
    printf 'FAIL  %-40s %s\n' "$what" "$(head -3 <<<"$out" | paste -sd' ')"
    failed=1
  fi
}
# The container gets its own empty network namespace: nothing here touches the host's rules.
in_image() { docker run --rm --network none "$@"; }
as_root() { in_image --user 0 --cap-add NET_ADMIN --cap-add NET_RAW "$@"; }
expect_output() { # <want> <command...>: the command's output is exactly <want>
  local want="$1" got
  shift
  got="$("$@")"
  [[ "$got" == "$want" ]] || { echo "got '$got', want '$want'"; return 1; }
  echo "$got"
}
size_ok() {
  local bytes
  bytes="$(docker image inspect --format '{{.Size}}' "$image")"
  echo "$((bytes / 1000000)) MB ($bytes bytes, limit $limit_mb MB)"
  ((bytes <= limit_mb * 1000000))
}
# The blob's path and V8 flags from the argv that built it (hack/image/snapshot.sh).
agent_from_snapshot() {
  local argv=/opt/flannel-operator/dist/cli/agent-snapshot.argv flags blob
  flags="$(in_image --entrypoint node "$image" -p \
    "require('fs').readFileSync('$argv', 'utf8').split('--snapshot-blob')[0].trim().split('\\n').join(' ')")"
  blob="$(in_image --entrypoint node "$image" -p \
    "require('fs').readFileSync('$argv', 'utf8').split('--snapshot-blob\\n')[1].split('\\n')[0]")"
  # Its usage, not V8's --jitless warning on stderr: a blob that does not load prints no usage.
  in_image -e NODE_OPTIONS="$flags" --entrypoint node "$image" --snapshot-blob "$blob" agent --help \
    2>&1 | grep '^Usage: flannel-operator agent'
}
no_shell() {
  if in_image --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
    echo "/bin/sh runs"
    return 1
  fi
  echo "no /bin/sh"
}

docker image inspect "$image" >/dev/null
check "size" size_ok
check "default user" expect_output 65532:65532 docker image inspect --format '{{.Config.User}}' "$image"
check "runs as" expect_output 65532:65532 \
  in_image --entrypoint node "$image" -p 'process.getuid() + ":" + process.getgid()'
check "flannel-operator version" in_image "$image" version
check "flannel-operator crds" in_image "$image" crds
check "flannel-operator agent --help" in_image "$image" agent --help
check "agent from its snapshot" agent_from_snapshot
check "kubectl-flannel --help" in_image --entrypoint kubectl-flannel "$image" --help
check "netlink prebuild loads" in_image --entrypoint node "$image" -e \
  "require('/opt/flannel-operator/node_modules/netlink'); console.log('netlink', process.arch, 'ok')"
for cmd in 'nft --version' 'iptables-nft -V' 'iptables-legacy -V' 'ip6tables-nft -V' \
  'ip6tables-legacy -V' 'iptables -V' 'ip -V' 'wg --version'; do
  read -ra argv <<<"$cmd"
  check "$cmd" in_image --entrypoint "${argv[0]}" "$image" "${argv[@]:1}"
done
check "nft add table (root, NET_ADMIN)" as_root --entrypoint nft "$image" add table ip flop-check
check "iptables-nft -t nat -S (root)" as_root --entrypoint iptables-nft "$image" -t nat -S
check "iptables-legacy -t filter -S (root)" as_root --entrypoint iptables-legacy "$image" -S
check "ip route (root)" as_root --entrypoint ip "$image" route
check "no shell" no_shell
exit "$failed"
