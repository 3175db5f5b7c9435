#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing: BIND 9 (named, nsupdate, dig)
# for the rfc2136 provider's tests and dnsperf for `make bench`. CI runs as root on a fresh machine;
# a developer without root is told what to install.
set -euo pipefail
need=()
command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || need+=(bind9)
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]}; install them with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo ">> installing ${need[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The bind9 package starts a system named; the tests start their own on loopback ports.
systemctl disable --now named >/dev/null 2>&1 || service named stop >/dev/null 2>&1 || true
