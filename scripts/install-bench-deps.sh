#!/usr/bin/env bash
# Installs the programs the benchmark harness (npm run bench) needs, from Debian packages:
# wrk (load generator), haproxy and nginx (peers; nginx is also the backend), strace
# (syscall counts; optional) and taskset (util-linux, for --pin). Only what is missing.
set -euo pipefail

declare -A pkg_of=([wrk]=wrk [haproxy]=haproxy [nginx]=nginx [strace]=strace [taskset]=util-linux)
missing=()
for bin in wrk haproxy nginx strace taskset; do
  if ! command -v "$bin" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$bin" ]; then
    missing+=("${pkg_of[$bin]}")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bench dependencies already installed: wrk haproxy nginx strace taskset"
  exit 0
fi

# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
apt_install "bench dependencies" --no-install-recommends "${missing[@]}"

echo "done: $(command -v wrk) $(command -v haproxy || echo /usr/sbin/haproxy) $(command -v nginx || echo /usr/sbin/nginx)"
