#!/usr/bin/env bash
# Installs the programs the discovery tests (test/discovery) need, from Debian packages,
# only those missing: dnsmasq (a DNS server to resolve against), etcd-server (provides
# `etcd`), keepalived (VRRP failover) and iproute2 (`ip`, for network namespaces).
# Waits for another apt/dpkg run to finish instead of failing on its lock.
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

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found; install these packages with your package manager: ${missing[*]}" >&2
  exit 1
fi

# Another apt-get may hold the locks (an install started in the background): wait for it,
# up to 15 minutes, then retry a few times if the lists lock was still taken.
apt_opts=(-o DPkg::Lock::Timeout=900)
retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if "$@"; then return 0; fi
    echo "retrying in 20 s: $*" >&2
    sleep 20
  done
  return 1
}

echo "installing: ${missing[*]}"
retry $SUDO apt-get "${apt_opts[@]}" update -qq
# policy-rc.d keeps the packages from starting system services (dnsmasq on port 53, an
# etcd on 2379, keepalived): the tests run their own instances on free loopback ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
retry $SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

for bin in dnsmasq etcd keepalived ip; do
  if ! have "$bin"; then
    echo "still missing after install: $bin" >&2
    exit 1
  fi
done
echo "done: dnsmasq etcd keepalived ip installed"
