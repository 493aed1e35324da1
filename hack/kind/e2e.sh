#!/usr/bin/env bash
# `make e2e`: the kind suite (jest project `kind`, test-e2e/kind) inside one dockerd period.
# FLOP_KIND_PROJECT selects another jest project: `make conformance` runs `conformance`.
# Prerequisites missing (not root, Debian's docker.io or debootstrap absent): under CI (CI set to
# anything but '', 0, false) that fails the run with the reason; elsewhere it says what is missing
# and skips.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
[[ "$(id -u)" == 0 ]] || missing+=("root (dockerd, kind nodes)")
for cmd in dockerd docker debootstrap jq iptables flock; do
  command -v "$cmd" >/dev/null || missing+=("$cmd (hack/install-deps.sh)")
done
if ((${#missing[@]})); then
  ci="$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]')"
  if [[ -n "$ci" && "$ci" != 0 && "$ci" != false ]]; then die "kind suite prerequisites missing under CI: ${missing[*]}"; fi
  log "SKIPPING the kind suite: missing ${missing[*]}"
  exit 0
fi
cd "$REPO_DIR"
NODE_OPTIONS=--experimental-vm-modules exec "$KIND_DIR/period.sh" npx jest --selectProjects "${FLOP_KIND_PROJECT:-kind}" --runInBand "$@"
