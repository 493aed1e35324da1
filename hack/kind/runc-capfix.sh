#!/usr/bin/env bash
# runc wrapper for dockerd where the capability bounding set is short (template: dockerd.sh fills in
# @MISSING_CAPS@). dockerd grants --privileged containers every capability the kernel knows; runc then
# fails with "unable to apply caps: operation not permitted" for those outside our bounding set. This
# drops them from the OCI bundle's config.json (create/run) and from the --process file (exec), then
# runs the real runc with the same arguments.
set -euo pipefail
missing='@MISSING_CAPS@'
# shellcheck disable=SC2016  # a jq program: $drop and $c are jq variables
filter='def strip: if type == "array" then map(select(. as $c | ($drop | index($c)) | not)) else . end;
  (if .process then .process.capabilities else .capabilities end) |=
    (if . then with_entries(.value |= strip) else . end)'
drop="$(printf '%s\n' $missing | jq -R . | jq -s -c .)"

fix() { # <json file>
  [[ -f "$1" ]] || return 0
  jq --argjson drop "$drop" "$filter" "$1" >"$1.capfix" && mv -f "$1.capfix" "$1"
}

bundle='' process='' cmd=''
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    create | run | exec) [[ -z "$cmd" ]] && cmd="${args[$i]}" ;;
    --bundle | -b) bundle="${args[$((i + 1))]:-}" ;;
    --bundle=*) bundle="${args[$i]#--bundle=}" ;;
    --process | -p) process="${args[$((i + 1))]:-}" ;;
    --process=*) process="${args[$i]#--process=}" ;;
  esac
done
case "$cmd" in
  create | run) fix "${bundle:-.}/config.json" ;;
  exec) [[ -n "$process" ]] && fix "$process" ;;
esac
exec runc "$@"
