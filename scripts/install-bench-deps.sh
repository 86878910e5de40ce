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

echo "installing: ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"

# The Debian nginx/haproxy packages may start system services on ports 80/others;
# the bench never uses them (it runs its own instances on free loopback ports).
echo "done: $(command -v wrk) $(command -v haproxy || echo /usr/sbin/haproxy) $(command -v nginx || echo /usr/sbin/nginx)"
