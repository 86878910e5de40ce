#!/usr/bin/env bash
# Installs the programs the discovery tests (test/discovery) need, from Debian packages,
# only those missing: dnsmasq (a DNS server to resolve against), etcd-server (provides
# `etcd`), keepalived (VRRP failover) and iproute2 (`ip`, for network namespaces).
set -euo pipefail

declare -A pkg_of=([dnsmasq]=dnsmasq [etcd]=etcd-server [keepalived]=keepalived [ip]=iproute2)
# Daemons install to sbin directories, which are on root's PATH (and sudo's secure_path).
have() { command -v "$1" >/dev/null 2>&1; }

missing=()
for bin in dnsmasq etcd keepalived ip; do
  have "$bin" || missing+=("${pkg_of[$bin]}")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "discovery dependencies already installed: dnsmasq etcd keepalived ip"
  exit 0
fi

# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
apt_install "discovery dependencies" --no-install-recommends "${missing[@]}"

for bin in dnsmasq etcd keepalived ip; do
  if ! have "$bin"; then
    echo "still missing after install: $bin" >&2
    exit 1
  fi
done
echo "done: dnsmasq etcd keepalived ip installed"
