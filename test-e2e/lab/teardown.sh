#!/usr/bin/env bash
# Removes what netns labs left behind: every namespace named flop-* (or only those of one lab
# with `teardown.sh <prefix>`), the processes inside them, relays and state directories.
set -u
prefix="${1:-flop-}"
state_root="${FLOP_LAB_STATE:-/tmp/flop-lab}"

for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${prefix}" || true); do
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
done
sleep 0.3
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${prefix}" || true); do
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
done
# Root-netns helpers (API relays, controllers) record their pids in the lab's state dir.
for dir in "$state_root"/"${prefix%-}"*; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    # Only what the lab started (relay, controller, agents, iperf3): pids may have been reused.
    if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qE 'relay\.mjs|cli/main\.js|iperf3|-e '; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
done
exit 0
