#!/usr/bin/env bash
# Runs the README's two commands as a newcomer meets them: in a fresh clone of this
# checkout's commit, on a machine without the test peers, so that `npm test` has to
# install them itself. The machine is a copy of this one: an overlay of / in a private
# mount namespace, from which the packages of test/setup/test-peers.txt that a Debian
# install does not come with (priority optional) are purged first. Whatever the run
# installs or writes lands in the overlay's upper layer (memory) and is gone when it ends;
# this machine's packages and files are not touched.
#
#   sudo bash scripts/newcomer-check.sh [RESULTS_DIR]   # RESULTS_DIR gets vitest.json
#
# 1. npm install && npx lb-native start --demo: the demo balancer answers, and the answers
#    rotate over the demo backends; it is stopped by its PID and must exit 0.
# 2. npm install && npm test (with a JSON report).
# Needs root, unshare (util-linux), overlayfs, and the toolchain the README asks for.
set -euo pipefail

phase="${LB_NEWCOMER_PHASE:-outer}"
self="$(realpath "$0")"

if [ "$phase" = outer ]; then
  repo="$(cd "$(dirname "$0")/.." && pwd)"
  results="${1:-}"
  [ -z "$results" ] || results="$(realpath "$results")"
  if [ "$(id -u)" -ne 0 ]; then
    echo "newcomer: needs root (a private mount namespace and an overlay of /)" >&2
    exit 1
  fi
  commit="$(git -C "$repo" rev-parse HEAD)"
  work="$(mktemp -d /tmp/lb-newcomer.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  # The node the README's commands run with (a fresh machine has Node 20 on its PATH).
  node_dir="$(dirname "$(command -v node)")"
  LB_NEWCOMER_PHASE=namespace LB_NEWCOMER_REPO="$repo" LB_NEWCOMER_COMMIT="$commit" LB_NEWCOMER_WORK="$work" \
    LB_NEWCOMER_RESULTS="$results" LB_NEWCOMER_NODE_DIR="$node_dir" \
    unshare --mount --propagation private -- bash "$self"
  exit $?
fi

if [ "$phase" = namespace ]; then
  work="$LB_NEWCOMER_WORK"
  # The upper layer on a tmpfs of its own: overlayfs refuses layers that overlap.
  mount -t tmpfs -o mode=0755 newcomer "$work"
  mkdir -p "$work/upper" "$work/scratch" "$work/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/scratch" "$work/root"
  root="$work/root"
  for dir in proc sys dev; do mount --rbind "/$dir" "$root/$dir"; done
  # A fresh /tmp, as a new machine has; the clone lives there.
  mount -t tmpfs -o mode=1777 newcomer-tmp "$root/tmp"
  clone="/tmp/lb-native"
  git clone --quiet --no-checkout "$LB_NEWCOMER_REPO" "$root$clone"
  git -C "$root$clone" -c advice.detachedHead=false checkout --quiet "$LB_NEWCOMER_COMMIT"
  cp "$self" "$root/tmp/newcomer-check.sh"
  status=0
  # The machine's environment (proxies, CA bundles) with a Debian root PATH plus node's.
  chroot "$root" /usr/bin/env LB_NEWCOMER_PHASE=machine LB_NEWCOMER_CLONE="$clone" HOME=/root \
    PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$LB_NEWCOMER_NODE_DIR" \
    bash /tmp/newcomer-check.sh || status=$?
  if [ -n "$LB_NEWCOMER_RESULTS" ] && [ -f "$root$clone/vitest.json" ]; then
    cp "$root$clone/vitest.json" "$LB_NEWCOMER_RESULTS/vitest.json"
  fi
  exit "$status"
fi

# phase machine: inside the copy of the machine, as root.
cd "$LB_NEWCOMER_CLONE"
step() { printf '\n--- newcomer: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "remove the test peers a Debian install does not come with"
purge=()
removed=()
while IFS=$'\t' read -r program packages state; do
  [ "$state" = present ] || continue
  for package in $packages; do
    priority="$(dpkg-query -W -f='${Status} ${Priority}' "$package" 2>/dev/null || true)"
    case "$priority" in
      "install ok installed optional" | "install ok installed extra") purge+=("$package") && removed+=("$program") ;;
    esac
  done
done < <(bash scripts/install-test-peers.sh --list test)
if [ "${#purge[@]}" -gt 0 ]; then
  # Keep the packages' scripts from starting or stopping services (as scripts/lib/apt.sh does).
  policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${purge[@]}" >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
  apt-get clean
fi
echo "purged: ${purge[*]:-nothing}"
bash scripts/install-test-peers.sh --list test | sed 's/^/  /'
for program in "${removed[@]}"; do
  if bash scripts/install-test-peers.sh --list "$program" | grep -q $'\tpresent$'; then
    echo "newcomer: $program is still here after purging its packages: the table names the wrong package" >&2
    exit 1
  fi
done

step "npm install && npx lb-native start --demo"
started=$(date +%s)
install_log="$(mktemp)"
npm install 2>&1 | tee "$install_log"
echo "npm install took $(($(date +%s) - started)) s"
# Every dependency install script is declared (package.json allowScripts): npm says nothing.
if grep -q 'npm warn install-scripts' "$install_log"; then
  echo "newcomer: npm install warned about install scripts not covered by allowScripts" >&2
  exit 1
fi
demo_log="$(mktemp)"
npx lb-native start --demo >"$demo_log" 2>&1 &
npx_pid=$!
# npx runs the bin through a shell: the balancer is the descendant named lb-native.
descendants() {
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
demo=""
find_demo() {
  local pid
  for pid in $(descendants "$npx_pid"); do
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = lb-native ] && demo=$pid
  done
  [ -n "$demo" ]
}
stop_demo() {
  if [ -n "$demo" ] || find_demo; then kill -TERM "$demo" 2>/dev/null || true; fi
}
trap stop_demo EXIT
node - "$demo_log" <<'JS'
// Waits for the demo's 'listening' line, then asks it until three answers name three
// different demo backends in turn (one worker: strict rotation).
const { readFileSync } = require('node:fs');
const log = process.argv[2];
const deadline = Date.now() + 60_000;
(async () => {
  let url;
  while (!url) {
    if (Date.now() > deadline) throw new Error(`no 'listening' line:\n${readFileSync(log, 'utf8')}`);
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      if (line.startsWith('{') && JSON.parse(line).msg === 'listening') url = JSON.parse(line).url;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const names = [];
  for (let i = 0; i < 6; i += 1) names.push(/^hello from (\S+)/.exec(await (await fetch(url)).text())?.[1]);
  console.log(`demo on ${url} answered: ${names.join(' ')}`);
  const rotates = names.every((name, i) => name !== undefined && (i < 3 || name === names[i - 3])) && new Set(names).size === 3;
  if (!rotates) throw new Error('the answers do not rotate over the three demo backends');
})().catch((error) => {
  console.error(`newcomer: ${error.message}`);
  process.exit(1);
});
JS
if ! find_demo; then
  echo "newcomer: no process named lb-native under npx (PID $npx_pid)" >&2
  exit 1
fi
stop_demo
demo_status=0
wait "$npx_pid" || demo_status=$?
trap - EXIT
if [ "$demo_status" -ne 0 ] || ! grep -q '"msg":"stopped"' "$demo_log"; then
  cat "$demo_log"
  echo "newcomer: the demo exited $demo_status after SIGTERM, expected 0 after a 'stopped' line" >&2
  exit 1
fi
echo "demo stopped by its PID ($demo, named lb-native): exit 0"

step "npm install && npm test"
started=$(date +%s)
npm install && npm test -- --reporter=default --reporter=json --outputFile=vitest.json
echo "npm install && npm test took $(($(date +%s) - started)) s"
