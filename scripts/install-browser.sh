#!/usr/bin/env bash
# Installs the headless browser the dashboard tests drive (test/admin/dashboard.test.ts):
# Debian's chromium at /usr/bin/chromium, only if it is missing. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found; install Chromium so that /usr/bin/chromium exists" >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "need root (or sudo) to install chromium" >&2
    exit 1
  fi
fi

# Another apt or dpkg run (a background install) holds the lock: wait for it, bounded.
for _ in $(seq 1 120); do
  if ! pgrep -x apt-get >/dev/null 2>&1 && ! pgrep -x dpkg >/dev/null 2>&1 && ! pgrep -x apt >/dev/null 2>&1; then
    break
  fi
  echo "browser: waiting for another apt/dpkg run to finish"
  sleep 5
done

echo "browser: installing chromium"
"${sudo_cmd[@]}" apt-get update -qq
# -o DPkg::Lock::Timeout: wait for the dpkg lock instead of failing at once.
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
  --no-install-recommends chromium fonts-dejavu-core
if [ ! -x /usr/bin/chromium ]; then
  echo "browser: chromium installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) installed"
