# Shared by the scripts/install-*.sh scripts (source it): installs Debian packages as root
# or through sudo, waits for another apt/dpkg run instead of failing on its lock, and keeps
# the packages from starting system services (dnsmasq on port 53, nginx on 80...): the
# tests and the bench run their own instances on free loopback ports.
#
#   apt_install NAME [apt-get install options] PACKAGE...
#
# NAME prefixes the messages (e.g. "bench dependencies").

# Runs a command up to five times, 20 s apart: the apt lists lock can stay taken by a
# background run for a while.
apt_retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if "$@"; then return 0; fi
    [ "$attempt" -lt 5 ] && echo "retrying in 20 s: $*" >&2 && sleep 20
  done
  return 1
}

apt_install() {
  local name="$1"
  shift
  local sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$name: need root (or sudo) to install: $*" >&2
      return 1
    fi
    sudo_cmd=(sudo)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: apt-get not found; install with your package manager: $*" >&2
    return 1
  fi
  # Wait up to 15 minutes for the dpkg lock held by another run.
  local apt_options=(-o DPkg::Lock::Timeout=900)
  echo "$name: installing $*"
  apt_retry "${sudo_cmd[@]}" apt-get "${apt_options[@]}" update -qq || return 1

  # policy-rc.d exiting 101 tells the packages' scripts not to start their services.
  local policy=/usr/sbin/policy-rc.d created_policy=0 status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod +x "$policy"
    created_policy=1
  fi
  apt_retry "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_options[@]}" install -y -qq "$@" || status=1
  if [ "$created_policy" = 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi
  return "$status"
}
