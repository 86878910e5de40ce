#!/usr/bin/env bash
# Installs, from Debian's packages, the peers the tests and the bench drive (dnsmasq, etcd,
# Chromium, ...) that this machine lacks, as listed in test/setup/test-peers.txt. Needs root
# (or sudo) only when something is missing. `npm test` runs it by itself when it can.
#
#   bash scripts/install-test-peers.sh                   # the peers of every vitest suite
#   bash scripts/install-test-peers.sh test/discovery    # the peers of these suites, or these programs
#   bash scripts/install-test-peers.sh bench             # the bench's (wrk, haproxy, nginx, ...)
#   bash scripts/install-test-peers.sh --list [WHICH...] # program, packages, present|missing; installs nothing
#
# A row is picked when an argument names its program, or when an argument and one of the
# row's suites are the same path or one is a folder holding the other.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
table="${LB_TEST_PEERS_TABLE:-$root/test/setup/test-peers.txt}"

list_only=0
if [ "${1:-}" = "--list" ]; then
  list_only=1
  shift
fi
selectors=("$@")
[ "${#selectors[@]}" -gt 0 ] || selectors=(test)

# One path holds the other (or they are equal): test/discovery and test/discovery/x.test.ts.
related() {
  local a="${1%/}" b="${2%/}"
  [ "$a" = "$b" ] || [[ "$b" == "$a/"* ]] || [[ "$a" == "$b/"* ]]
}

# Daemons install to sbin directories, which are not on every user's PATH.
present() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}

programs=()
declare -A packages_of=()
while read -r program packages suites; do
  case "$program" in '' | '#'*) continue ;; esac
  picked=0
  for selector in "${selectors[@]}"; do
    [ "$selector" = "$program" ] && picked=1
    for suite in $suites; do related "$selector" "$suite" && picked=1; done
  done
  [ "$picked" = 1 ] || continue
  programs+=("$program")
  packages_of[$program]="${packages//,/ }"
done <"$table"

if [ "${#programs[@]}" -eq 0 ]; then
  echo "test peers: no row of $table matches: ${selectors[*]}" >&2
  exit 1
fi

missing_packages=()
missing_programs=()
for program in "${programs[@]}"; do
  if present "$program"; then
    state=present
  else
    state=missing
    missing_programs+=("$program")
    # shellcheck disable=SC2206 # a list of package names
    missing_packages+=(${packages_of[$program]})
  fi
  if [ "$list_only" = 1 ]; then printf '%s\t%s\t%s\n' "$program" "${packages_of[$program]}" "$state"; fi
done
[ "$list_only" = 1 ] && exit 0

if [ "${#missing_programs[@]}" -eq 0 ]; then
  echo "test peers: all present (${programs[*]})"
  exit 0
fi

mapfile -t missing_packages < <(printf '%s\n' "${missing_packages[@]}" | sort -u)
# shellcheck source=lib/apt.sh
source "$root/scripts/lib/apt.sh"
apt_install "test peers" --no-install-recommends "${missing_packages[@]}"

for program in "${missing_programs[@]}"; do
  if ! present "$program"; then
    echo "test peers: $program is still missing after installing ${packages_of[$program]}" >&2
    exit 1
  fi
done
echo "test peers: installed ${missing_packages[*]} (for ${missing_programs[*]})"
