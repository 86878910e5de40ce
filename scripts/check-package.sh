#!/usr/bin/env bash
# Proves the published package needs no compiler: packs lb-native (prepack builds the
# TypeScript and a linux-x64 N-API prebuild with prebuildify), installs the tarball into a
# scratch project, and checks that the install compiled nothing (no build/ folder: the
# prebuild was loaded by node-gyp-build), that the library starts a balancer, and that the
# CLI answers.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# prepack's build output shares stdout, so the tarball's name comes from package.json.
npm pack --silent --pack-destination "$scratch" >/dev/null
tarball="$(node -p "const p = require('./package.json'); p.name + '-' + p.version + '.tgz'")"
echo "check-package: packed $tarball"
listing="$(tar -tzf "$scratch/$tarball")"
grep -q 'package/prebuilds/linux-x64/' <<<"$listing" ||
  { echo "check-package: the tarball has no linux-x64 prebuild" >&2; exit 1; }

mkdir "$scratch/app"
cd "$scratch/app"
npm init -y >/dev/null
npm install --no-audit --no-fund "$scratch/$tarball" >/dev/null

if [ -d node_modules/lb-native/build ]; then
  echo "check-package: installing compiled the addon; the prebuild was not used" >&2
  exit 1
fi

cat > smoke.mjs <<'JS'
import http from 'node:http';
import { createBalancer } from 'lb-native';
const backend = http.createServer((req, res) => res.end('from backend\n'));
await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
const lb = await createBalancer({ listen: '127.0.0.1:0', backends: [`127.0.0.1:${backend.address().port}`], workers: 1 }).start();
const body = await (await fetch(`http://127.0.0.1:${lb.port}/`)).text();
await lb.stop();
backend.close();
if (body !== 'from backend\n') { console.error('unexpected body', JSON.stringify(body)); process.exit(1); }
console.log('check-package: installed package proxied a request');
JS
node smoke.mjs
npx --no-install lb-native --version
echo "check-package: ok"
