#!/usr/bin/env bash
# Installs lb-native globally (npm install --global) from the checkout this script is in:
# packs it (prepack builds the TypeScript and the N-API prebuild, so the checkout needs its
# `npm install` first) and installs that tarball, never a package of the same name from a
# registry. Or installs a tarball given as the argument (from `npm pack`). npm's own
# settings apply (npm_config_prefix=DIR installs under DIR instead).
#
#   bash scripts/deploy/install-package.sh [lb-native-X.Y.Z.tgz]
set -euo pipefail
checkout="$(cd "$(dirname "$0")/../.." && pwd)"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

tarball="${1:-}"
if [ -z "$tarball" ]; then
  if [ ! -d "$checkout/node_modules" ]; then
    echo "install: $checkout has no node_modules: run npm install there first (it builds what the package ships)" >&2
    exit 1
  fi
  echo "install: packing $checkout"
  # prepack's build output shares stdout, so the tarball's name comes from package.json.
  (cd "$checkout" && npm pack --silent --pack-destination "$scratch" >/dev/null)
  tarball="$scratch/$(cd "$checkout" && node -p "const p = require('./package.json'); p.name + '-' + p.version + '.tgz'")"
fi
[ -f "$tarball" ] || { echo "install: no such tarball: $tarball" >&2; exit 1; }
tarball="$(realpath "$tarball")"

# npm 11.16+ warns about (and later npm blocks) install scripts it was not told about.
# lb-native's own is needed (node-gyp-build: the prebuild, or a compile where none fits);
# a tarball is named by its path. protobufjs (through the etcd client) only checks how
# its dependents spell its version: harmless, allowed so that the install is quiet.
allow=()
npm_major_minor="$(npm --version | awk -F. '{ printf "%d%03d", $1, $2 }')"
[ "$npm_major_minor" -ge 11016 ] && allow=("--allow-scripts=file:$tarball,protobufjs")

echo "install: npm install --global $(basename "$tarball")"
npm install --global --no-audit --no-fund "${allow[@]}" "$tarball"
