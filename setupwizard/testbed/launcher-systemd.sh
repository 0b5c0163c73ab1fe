#!/bin/sh
# Boots one systemd-flavour test host. Started by testbed/host.py as
#   unshare --mount --propagation private sh launcher-systemd.sh NAME LOWER DIR CGROUP...
# The overlay root is mounted in this private mount namespace only (it vanishes with the last process in
# it); then this shell joins the host's own cgroups and becomes systemd-nspawn, which boots the image's
# systemd as PID 1 in the network namespace /run/netns/NAME.
set -eu
name=$1
lower=$2
dir=$3
shift 3
root=$dir/root

mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$root"

# Own hostname, resolvable locally, so sudo never says "unable to resolve host".
printf '%s\n' "$name" > "$root/etc/hostname"
cat > "$root/etc/hosts" <<HOSTS
127.0.0.1	localhost
127.0.1.1	$name
::1	localhost ip6-localhost ip6-loopback
HOSTS
# Each host gets its own host keys.
chroot "$root" ssh-keygen -A >/dev/null

for group in "$@"; do
  echo $$ > "$group/cgroup.procs"
done

# --register=no --keep-unit: the machine may run no systemd (no system bus to register with).
# CAP_NET_ADMIN, CAP_NET_RAW: ufw loads its rules. Our own resolv.conf and time zone stay (timedatectl).
exec systemd-nspawn -D "$root" -b -M "$name" --register=no --keep-unit \
  --capability=CAP_NET_ADMIN,CAP_NET_RAW --network-namespace-path="/run/netns/$name" \
  --resolv-conf=off --timezone=off --link-journal=no --console=read-only
