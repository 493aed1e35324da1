#!/usr/bin/env bash
# Assembles the operator image's root filesystem in DEST from this Debian system (the Dockerfile's
# rootfs stage, after `apt-get install nftables iptables iproute2 wireguard-tools`): only what runs, each binary
# with the shared libraries ldd names for it. The image is FROM scratch plus this tree: no shell,
# no package manager.
#   node                      the runtime of every role
#   env                       the entry points' `#!/usr/bin/env node`
#   nft, iptables-{nft,legacy} (+ -restore/-save, ip6tables, xtables modules)
#                             the agent's netfilter paths: nft first, either iptables as fallback
#   ip                        debugging (`kubectl exec ... -- ip route`)
#   wg                        the wireguard backend configures kernel devices (and wireguard-go's
#                             UAPI socket) only through it
#
#   hack/image/rootfs.sh DEST
# The application tree (hack/image/bundle.js --app) goes to DEST/opt/flannel-operator separately.
set -euo pipefail

dest="${1:?usage: $0 DEST}"
mkdir -p "$dest"
dest="$(realpath "$dest")"

# Every path handed to copy, as named and canonical: dpkg knows files by either (bookworm's dpkg
# still lists /lib/x86_64-linux-gnu/... for files that live in /usr/lib/...).
copied=()

# Copies one path to the same place under $dest, at its directory's canonical path (merged /usr:
# /lib/x -> /usr/lib/x); a symlink is copied as a symlink, then its target.
copy() {
  local dir path target
  dir="$(realpath "$(dirname "$1")")"
  path="$dir/$(basename "$1")"
  copied+=("$1" "$path")
  [[ -e "$dest$path" || -L "$dest$path" ]] && return 0
  mkdir -p "$dest$dir"
  cp -a "$path" "$dest$path"
  if [[ -L "$path" ]]; then
    target="$(readlink "$path")"
    [[ "$target" == /* ]] || target="$dir/$target"
    copy "$target"
  fi
}

# A binary or module plus every shared library (and the loader) ldd reports for it.
copy_with_libs() {
  local lib
  copy "$1"
  while read -r lib; do copy "$lib"; done < <(ldd "$1" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }')
}

# Merged /usr: keep /bin, /lib, /lib64, ... as the symlinks they are, so ELF interpreter paths
# (/lib64/ld-linux-x86-64.so.2) and the paths ldd prints resolve.
for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
  if [[ -L "$d" ]]; then cp -P "$d" "$dest$d"; fi
done

copy_with_libs "$(command -v node)"
copy_with_libs /usr/bin/env
copy_with_libs "$(command -v nft)"
copy_with_libs "$(command -v ip)"
copy_with_libs "$(command -v wg)"
for base in iptables ip6tables; do
  for flavour in '' -nft -legacy; do
    for op in '' -restore -save; do copy_with_libs "/usr/sbin/$base$flavour$op"; done
  done
done
# awk reads the whole list: `grep -m1` would exit early and, under pipefail, dpkg's next write
# dies of SIGPIPE (exit 141; measured 51 of 200 runs).
xtables_dir="$(dpkg -L iptables | awk '/\/xtables$/ && !found { print; found = 1 }')"
for module in "$xtables_dir"/*.so; do copy_with_libs "$module"; done

# Files the tools read: protocol/service names (iptables -p, nft), NSS order, ip's tables.
for f in /etc/protocols /etc/services /etc/nsswitch.conf /etc/iproute2 /usr/share/iproute2; do
  if [[ -e "$f" ]]; then copy "$f"; fi
done

# The licences of the Debian packages whose files were copied.
mapfile -t packages < <({ dpkg -S "${copied[@]}" 2>/dev/null || true; } |
  sed -n 's/^\([^ ]*\(, [^ ]*\)*\): \/.*/\1/p' | tr ',' '\n' | sed 's/^ *//; s/:.*//' | sort -u)
for pkg in "${packages[@]}"; do
  if [[ -e "/usr/share/doc/$pkg/copyright" ]]; then copy "/usr/share/doc/$pkg/copyright"; fi
done

# Users (root for the agent, 65532 for the controller), scratch dirs, the entry points.
mkdir -p "$dest/etc" "$dest/tmp" "$dest/run" "$dest/var" "$dest/home/nonroot" "$dest/usr/local/bin"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$dest/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$dest/etc/group"
chmod 1777 "$dest/tmp"
chown 65532:65532 "$dest/home/nonroot"
ln -sfn ../run "$dest/var/run"
ln -sfn /opt/flannel-operator/dist/cli/main.js "$dest/usr/local/bin/flannel-operator"
ln -sfn /opt/flannel-operator/dist/cli/kubectl-flannel.js "$dest/usr/local/bin/kubectl-flannel"
