#!/usr/bin/env bash
# Installs lb-native as a service on a Debian head box: the package built from this
# checkout (install-package.sh: packed with its prebuild, no compiler needed on the box
# that runs it), a system user, the systemd unit, the sysctl settings that raise this
# machine's values, and an example configuration (if none exists); then enables and starts
# the service.
#
#   npm install && sudo bash scripts/deploy/install.sh                 # from a checkout
#   sudo bash scripts/deploy/install.sh lb-native-0.1.0.tgz            # from a packed one
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "install: run as root (sudo)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "install: Node.js 20+ is required" >&2; exit 1; }

bash "$here/install-package.sh" "$@"

if ! id lb-native >/dev/null 2>&1; then
  echo "install: system user lb-native"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lb-native
fi

install -d -m 0755 /etc/lb-native
if [ ! -e /etc/lb-native/lb.yaml ] && [ -e "$here/../../examples/lb.yaml" ]; then
  echo "install: example configuration to /etc/lb-native/lb.yaml (edit it)"
  install -m 0640 -g lb-native "$here/../../examples/lb.yaml" /etc/lb-native/lb.yaml
fi

echo "install: sysctl settings (only those that raise this machine's values)"
settings="$(mktemp)"
bash "$here/sysctl-raise-only.sh" "$here/99-lb-native.conf" >"$settings"
install -m 0644 "$settings" /etc/sysctl.d/99-lb-native.conf
rm -f "$settings"
# Unknown keys (an older kernel without tcp_migrate_req) are reported, not fatal.
sysctl --system >/dev/null || true

if [ ! -e /etc/default/lb-native ]; then
  echo "install: /etc/default/lb-native for the variables the configuration names (LB_ADMIN_TOKEN=...)"
  install -m 0600 /dev/null /etc/default/lb-native
  echo "# Environment of the lb-native service: variables lb.yaml names as \${NAME}." >/etc/default/lb-native
fi

echo "install: systemd unit"
install -m 0644 "$here/lb-native.service" /etc/systemd/system/lb-native.service
systemctl daemon-reload
systemctl enable --now lb-native
systemctl --no-pager status lb-native || true
