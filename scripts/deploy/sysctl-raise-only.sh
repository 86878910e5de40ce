#!/usr/bin/env bash
# Prints a sysctl.d file (99-lb-native.conf by default) with every setting that would lower
# what this machine runs with turned into a comment saying so: a size below the current
# value, or a port range narrower than the current one. Switches are kept as they are.
# install.sh installs its output.
#
#   bash scripts/deploy/sysctl-raise-only.sh [FILE] > /etc/sysctl.d/99-lb-native.conf
set -euo pipefail
file="${1:-$(dirname "$0")/99-lb-native.conf}"

# Settings whose values are sizes (more is more), and port ranges ("low high").
sizes=" net.core.somaxconn net.ipv4.tcp_max_syn_backlog net.core.netdev_max_backlog "
ranges=" net.ipv4.ip_local_port_range "

while IFS= read -r line; do
  if [[ ! "$line" =~ ^([a-z0-9_.-]+)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
    printf '%s\n' "$line"
    continue
  fi
  key="${BASH_REMATCH[1]}"
  read -r -a wanted <<<"${BASH_REMATCH[2]}"
  current_text="$(sysctl -n "$key" 2>/dev/null || true)"
  read -r -a current <<<"$current_text"
  lower=""
  if [ "${#current[@]}" -eq 0 ]; then
    : # Not on this kernel: sysctl --system reports it.
  elif [[ "$sizes" == *" $key "* ]]; then
    [ "${current[0]}" -gt "${wanted[0]}" ] && lower="this machine has ${current[0]}"
  elif [[ "$ranges" == *" $key "* ]]; then
    if [ "${current[0]}" -le "${wanted[0]}" ] && [ "${current[1]}" -ge "${wanted[1]}" ]; then
      [ "${current[*]}" != "${wanted[*]}" ] && lower="this machine has ${current[*]}"
    fi
  fi
  if [ -n "$lower" ]; then
    printf '# left out, it would lower the value (%s): %s\n' "$lower" "$line"
  else
    printf '%s\n' "$line"
  fi
done <"$file"
