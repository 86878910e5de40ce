#!/usr/bin/env bash
# Installs the headless browser the dashboard tests drive (test/admin/dashboard.test.ts):
# Debian's chromium at /usr/bin/chromium, only if it is missing. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) already installed"
  exit 0
fi
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
apt_install browser --no-install-recommends chromium fonts-dejavu-core
if [ ! -x /usr/bin/chromium ]; then
  echo "browser: chromium installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) installed"
