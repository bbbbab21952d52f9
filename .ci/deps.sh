#!/usr/bin/env bash
# Installs the Debian 12 packages haystack needs to build, test and demo,
# only those missing. Used by `make demo`, `make test` and .ci/run.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libuv1-dev libfixbuf-dev libhiredis-dev libmaxminddb-dev libcmocka-dev
  redis-server redis-tools softflowd pmacct nfdump
  python3 python3-scapy curl systemd
  clang libclang-rt-14-dev
  gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Packaged daemons (redis-server, pmacct, nfdump) must not start system
# instances: tests start their own on loopback ports they pick.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
$SUDO rm -f /usr/sbin/policy-rc.d
