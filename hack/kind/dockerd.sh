#!/usr/bin/env bash
# Starts and stops the kind suite's own dockerd (Debian docker.io), by pid, never a system service.
#
#   hack/kind/dockerd.sh start   start it (refused while a netns lab namespace flop-* exists, or while
#                                any other dockerd runs); prints `export DOCKER_HOST=...`
#   hack/kind/dockerd.sh stop    stop it by its pidfile, put the host's iptables back as they were
#                                before start (dockerd sets FORWARD to DROP and adds its chains)
#   hack/kind/dockerd.sh status  exit 0 when ours runs
#
# Hold `flock -x /tmp/flop-dataplane.lock` from start to stop: netns labs take the lock shared.
# Node containers may reach each other and this host, never anything beyond it (DOCKER-USER rejects
# traffic leaving through the uplinks). Where the capability bounding set lacks capabilities dockerd
# grants --privileged containers, a runc wrapper (runc-capfix.sh) drops those from each container spec.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Capability names by bit number (linux/capability.h), for reading /proc/self/status CapBnd.
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
  NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
  SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
  AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
  PERFMON BPF CHECKPOINT_RESTORE)

# Capabilities the kernel knows (cap_last_cap) that our bounding set lacks, as CAP_X names.
missing_caps() {
  local bnd last i
  bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
  last="$(cat /proc/sys/kernel/cap_last_cap)"
  for ((i = 0; i <= last && i < ${#CAPS[@]}; i++)); do
    (((bnd >> i) & 1)) || echo "CAP_${CAPS[$i]}"
  done
}

uplinks() { ip -o route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' | sort -u; }

write_config() {
  local missing
  missing="$(missing_caps | paste -sd' ')"
  if [[ -n "$missing" ]]; then
    log "capability bounding set lacks $missing: containers run through runc-capfix.sh"
    sed "s|@MISSING_CAPS@|$missing|" "$KIND_DIR/runc-capfix.sh" >"$KIND_STATE/runc-capfix"
    chmod 0755 "$KIND_STATE/runc-capfix"
    jq -n --arg wrapper "$KIND_STATE/runc-capfix" \
      '{runtimes: {"flop-runc": {path: $wrapper}}, "default-runtime": "flop-runc"}' >"$KIND_STATE/daemon.json"
  else
    echo '{}' >"$KIND_STATE/daemon.json"
  fi
}

block_egress() {
  local dev
  # With --bridge none dockerd creates DOCKER-USER only with the first network: create it now.
  iptables -N DOCKER-USER 2>/dev/null || true
  iptables -C FORWARD -j DOCKER-USER 2>/dev/null || iptables -I FORWARD -j DOCKER-USER
  for dev in $(uplinks); do
    iptables -I DOCKER-USER -o "$dev" -j REJECT
    if ip6tables -L DOCKER-USER -n >/dev/null 2>&1; then ip6tables -I DOCKER-USER -o "$dev" -j REJECT; fi
  done
}

start() {
  local pid namespaces
  if pid="$(dockerd_pid)"; then log "dockerd already running (pid $pid)"; return 0; fi
  namespaces="$(lab_namespaces)"
  [[ -z "$namespaces" ]] || die "refusing to start dockerd: netns lab namespaces exist ($(echo "$namespaces" | paste -sd' ')); dockerd rewrites the host's iptables"
  if pgrep -x dockerd >/dev/null; then die "another dockerd runs (pid $(pgrep -x dockerd | paste -sd' ')); only one at a time"; fi
  command -v dockerd >/dev/null || die "dockerd missing (apt-get install docker.io, or hack/install-deps.sh)"
  mkdir -p "$KIND_STATE" "$KIND_CACHE/docker"
  iptables-save >"$KIND_STATE/iptables.before"
  ip6tables-save >"$KIND_STATE/ip6tables.before"
  ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort >"$KIND_STATE/links.before"
  # kind bind-mounts /lib/modules into every node; docker creates it when the host has none.
  if [[ ! -e /lib/modules ]]; then touch "$KIND_STATE/lib-modules.created"; fi
  write_config
  log "starting dockerd (data root $KIND_CACHE/docker)"
  dockerd --data-root "$KIND_CACHE/docker" --exec-root "$KIND_STATE/exec" --pidfile "$KIND_STATE/dockerd.pid" \
    --host "$DOCKER_HOST" --config-file "$KIND_STATE/daemon.json" --bridge none \
    >"$KIND_STATE/dockerd.log" 2>&1 &
  local i
  for ((i = 0; i < 120; i++)); do
    docker info >/dev/null 2>&1 && break
    kill -0 $! 2>/dev/null || { tail -20 "$KIND_STATE/dockerd.log" >&2; die "dockerd exited"; }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -20 "$KIND_STATE/dockerd.log" >&2; stop; die "dockerd did not answer in 60 s"; }
  iptables -P FORWARD ACCEPT
  block_egress || { stop; die "could not block node egress (DOCKER-USER)"; }
  log "dockerd running (pid $(dockerd_pid)); DOCKER_HOST=$DOCKER_HOST"
  echo "export DOCKER_HOST=$DOCKER_HOST"
}

# Puts every table back as saved before start: iptables-restore rewrites the tables the snapshot
# names; a table that was empty then (absent from the snapshot) is flushed and its chains removed.
restore_tables() { # iptables|ip6tables
  local snapshot="$KIND_STATE/$1.before" table
  [[ -f "$snapshot" ]] || return 0
  "$1-restore" <"$snapshot"
  for table in filter nat mangle raw; do
    grep -q "^\*$table\$" "$snapshot" && continue
    "$1" -t "$table" -F 2>/dev/null || true
    "$1" -t "$table" -X 2>/dev/null || true
  done
  # A filter table absent from the snapshot had the kernel's default policies (ACCEPT); dockerd set
  # FORWARD to DROP. A saved table's policies came back with the restore above.
  if ! grep -q '^\*filter$' "$snapshot"; then "$1" -P FORWARD ACCEPT 2>/dev/null || true; fi
}

# Undo what dockerd did to the host: its iptables rules and chains, the FORWARD policy, its bridges.
restore_host() {
  restore_tables iptables
  restore_tables ip6tables
  if [[ -f "$KIND_STATE/links.before" ]]; then
    local link
    for link in $(ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort | comm -13 "$KIND_STATE/links.before" -); do
      case "$link" in br-* | docker* | veth*) ip link del "$link" 2>/dev/null || true ;; esac
    done
  fi
  if [[ -f "$KIND_STATE/lib-modules.created" ]]; then rmdir /lib/modules 2>/dev/null || true; fi
  rm -f "$KIND_STATE/iptables.before" "$KIND_STATE/ip6tables.before" "$KIND_STATE/links.before" \
    "$KIND_STATE/lib-modules.created"
}

stop() {
  local pid i
  if pid="$(dockerd_pid)"; then
    log "stopping dockerd (pid $pid)"
    kill "$pid"
    for ((i = 0; i < 120; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid still running after 60 s: SIGKILL"; kill -9 "$pid"; fi
  fi
  restore_host
  log "dockerd stopped; host FORWARD policy: $(iptables -S FORWARD | head -1)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) dockerd_pid >/dev/null ;;
  *) die "usage: $0 start|stop|status" ;;
esac
