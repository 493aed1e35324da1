#!/usr/bin/env bash
# Builds the agent's startup snapshot (src/agent/snapshot.ts) inside the image's root filesystem
# ROOT, once the application tree is in ROOT/opt/flannel-operator: with the image's own node (a
# blob only loads in the node binary and under the V8 flags it was built with) and at the paths the
# agent runs from (the blob records its script's path). The arguments come from the bundle
# (cli/agent-snapshot.argv, written by hack/image/bundle.js from src/agent/launch.ts). Then starts
# the agent from the blob as its DaemonSet does (the flags in NODE_OPTIONS), as the image's user.
#
#   hack/image/snapshot.sh ROOT
set -euo pipefail

root="${1:?usage: $0 ROOT}"
argv_file="$root/opt/flannel-operator/dist/cli/agent-snapshot.argv"
mapfile -t argv <"$argv_file"
flags=()
blob=""
for ((i = 0; i < ${#argv[@]}; i++)); do
  case "${argv[$i]}" in
    --snapshot-blob) blob="${argv[$((i + 1))]}"; break ;;
    *) flags+=("${argv[$i]}") ;;
  esac
done
[[ -n "$blob" ]] || { echo "snapshot.sh: no --snapshot-blob in $argv_file" >&2; exit 1; }

# The image's PATH and nothing else from this environment.
in_root() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# Node's warnings while building (the `module` built-in, --jitless turning WebAssembly off) are
# not failures; its exit status and the blob are.
if ! out="$(in_root chroot "$root" node "${argv[@]}" 2>&1)" || [[ ! -s "$root$blob" ]]; then
  echo "snapshot.sh: building $blob failed: $out" >&2
  exit 1
fi
chmod 0644 "$root$blob"

usage="$(in_root NODE_OPTIONS="${flags[*]}" \
  chroot --userspec=65532:65532 "$root" node --snapshot-blob "$blob" agent --help 2>&1)" || true
[[ "$usage" == *"Usage: flannel-operator agent"* ]] || {
  echo "snapshot.sh: the agent does not start from $blob: $usage" >&2
  exit 1
}
echo "agent snapshot $blob: $(stat -c %s "$root$blob") bytes, starts"
