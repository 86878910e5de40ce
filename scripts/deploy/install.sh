#!/usr/bin/env bash
# Installs lb-native as a service on a Debian head box: the npm package (prebuilt, no
# compiler needed), a system user, the systemd unit, the sysctl settings and an example
# configuration (if none exists), then enables and starts the service.
#
#   sudo bash scripts/deploy/install.sh            # from a checkout of lb-native
#   LB_NATIVE_PACKAGE=lb-native@0.1.0 sudo -E bash scripts/deploy/install.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
package="${LB_NATIVE_PACKAGE:-lb-native}"

if [ "$(id -u)" -ne 0 ]; then
  echo "install: run as root (sudo)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "install: Node.js 20+ is required" >&2; exit 1; }

echo "install: npm package $package"
npm install --global --no-audit --no-fund "$package"

if ! id lb-native >/dev/null 2>&1; then
  echo "install: system user lb-native"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lb-native
fi

install -d -m 0755 /etc/lb-native
if [ ! -e /etc/lb-native/lb.yaml ] && [ -e "$here/../../examples/lb.yaml" ]; then
  echo "install: example configuration to /etc/lb-native/lb.yaml (edit it)"
  install -m 0640 -g lb-native "$here/../../examples/lb.yaml" /etc/lb-native/lb.yaml
fi

echo "install: sysctl settings"
install -m 0644 "$here/99-lb-native.conf" /etc/sysctl.d/99-lb-native.conf
# Unknown keys (an older kernel without tcp_migrate_req) are reported, not fatal.
sysctl --system >/dev/null || true

echo "install: systemd unit"
install -m 0644 "$here/lb-native.service" /etc/systemd/system/lb-native.service
systemctl daemon-reload
systemctl enable --now lb-native
systemctl --no-pager status lb-native || true
