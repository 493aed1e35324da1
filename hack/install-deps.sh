#!/usr/bin/env bash
# Installs the Debian packages the tests and the netns lab use, when missing (needs root).
# Go (for building the test tooling in hack/tools) is expected at /usr/local/go or on PATH.
set -euo pipefail
pkgs=(iproute2 nftables iptables iperf3 iputils-ping openssl ca-certificates procps kmod shellcheck
  # the kind suite (hack/kind): its own dockerd, the Debian base image, what kind's nodes expect
  docker.io debootstrap conntrack socat ethtool jq libcap2-bin
  # the wireguard suite: `wg` (the agent configures WireGuard devices with it), an underlay capture
  wireguard-tools tcpdump)
missing=()
for pkg in "${pkgs[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "go toolchain missing: the test tooling (kube-apiserver, etcd, helm, CNI plugins) is built from Go modules" >&2; exit 1; }
