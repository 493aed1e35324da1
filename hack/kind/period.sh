#!/usr/bin/env bash
# Runs a command inside one dockerd period: takes `flock -x /tmp/flop-dataplane.lock` (netns labs take
# it shared), starts our dockerd, builds or reuses the images, runs the command, stops dockerd and puts
# the host's iptables back, whatever the command's result. Exits with the command's status.
#
#   hack/kind/period.sh <command> [args...]     e.g. hack/kind/period.sh npx jest --selectProjects kind
#
# The Go binaries and the Debian rootfs are built before the lock is taken (they need no Docker).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOCK="${FLOP_DATAPLANE_LOCK:-/tmp/flop-dataplane.lock}"

if [[ "${1:-}" != --locked ]]; then
  (($# > 0)) || die "usage: $0 <command> [args...]"
  start=$SECONDS
  "$KIND_DIR/build.sh" go
  "$KIND_DIR/build.sh" rootfs
  log "Go binaries and rootfs ready in $((SECONDS - start))s; waiting for $LOCK"
  exec flock -x "$LOCK" "$0" --locked "$@"
fi
shift
start=$SECONDS
# Before stopping: drop dangling images, build cache and volumes no container uses (an operator image
# rebuilt under the same tag leaves the old one behind; a kind node's /var is an anonymous volume of
# GBs), so the data root does not grow with every run.
trap 'docker image prune -f >/dev/null 2>&1 || true; docker builder prune -f >/dev/null 2>&1 || true
docker volume prune -f >/dev/null 2>&1 || true
"$KIND_DIR/dockerd.sh" stop; log "dockerd period: $((SECONDS - start))s"' EXIT
"$KIND_DIR/dockerd.sh" start >/dev/null
"$KIND_DIR/build.sh" images
log "images ready in $((SECONDS - start))s"
status=0
"$@" || status=$?
exit "$status"
