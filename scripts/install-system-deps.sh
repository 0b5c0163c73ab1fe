#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those that are missing.
# Needs root (apt-get); without root it says what to install and exits non-zero in CI.
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd debootstrap || need+=(debootstrap)
have_pkg apt-cacher-ng || need+=(apt-cacher-ng)
have_cmd ip || need+=(iproute2)
have_cmd unshare || need+=(util-linux)
have_cmd systemd-nspawn || need+=(systemd-container)
have_cmd chromium || need+=(chromium)
have_pkg fonts-noto-cjk || need+=(fonts-noto-cjk)
have_cmd redis-server || need+=(redis-server)
have_cmd pg_ctlcluster || need+=(postgresql)
# nginx: tests/integration/proxy runs docs/deploy.md's config with a server of its own (own prefix, ports).
[ -x /usr/sbin/nginx ] || need+=(nginx)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${need[*]}" >&2
  echo "Run as root, or: sudo apt-get install -y ${need[*]}" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# apt-cacher-ng's postinst asks a debconf question; the answer does not matter for us.
echo "apt-cacher-ng apt-cacher-ng/tunnelenable boolean false" | debconf-set-selections
# Debian's nginx package starts a server on port 80 when installed. The tests never use it, so it must not
# start: unless the machine already forbids starting services at install (a policy-rc.d, as in containers),
# one is put in place for this install only.
if [[ " ${need[*]} " == *" nginx "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# setupwizard install-system-deps.sh: no service starts while it installs\nexit 101\n' \
    > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package may start the distribution's apt-cacher-ng on port 3142: it stays as it is. The testbed
# runs an instance of its own on 198.18.0.1:31420 (setupwizard/testbed/aptproxy.py) and stops nothing.
