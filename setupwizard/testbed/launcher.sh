#!/bin/sh
# Sets up and becomes PID 1 of one test host. Started by testbed/host.py as
#   nsenter --net=/run/netns/NAME unshare --uts --mount --pid --fork --kill-child launcher.sh NAME LOWER DIR
# so everything below happens in the host's own network, UTS, mount and PID namespaces; the mounts vanish
# when this PID namespace ends (killing the unshare process kills it).
set -eu
name=$1
lower=$2
dir=$3
root=$dir/root

mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$root"

# Own hostname, resolvable locally, so sudo never says "unable to resolve host".
hostname "$name"
printf '%s\n' "$name" > "$root/etc/hostname"
cat > "$root/etc/hosts" <<HOSTS
127.0.0.1	localhost
127.0.1.1	$name
::1	localhost ip6-localhost ip6-loopback
HOSTS

mount -t proc proc "$root/proc"
# Kernel settings are the machine's, not the guest's: only /proc/sys/net (per network namespace) is writable.
mount --bind "$root/proc/sys" "$root/proc/sys"
mount --bind "$root/proc/sys/net" "$root/proc/sys/net"
mount -o remount,bind,ro "$root/proc/sys"
mount -t sysfs -o ro sysfs "$root/sys"

mount -t tmpfs -o mode=0755,size=1m,nosuid tmpfs "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/full" c 1 7
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
mknod -m 666 "$root/dev/tty" c 5 0
mkdir -m 0755 "$root/dev/pts"
mkdir -m 1777 "$root/dev/shm"
# A private devpts instance, so SSH sessions get PTYs of their own (asyncssh term_type).
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mkdir -m 0755 "$root/run/sshd" "$root/run/lock"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"

# Each host gets its own host keys.
chroot "$root" ssh-keygen -A >/dev/null
# PID 1: a small init (guest-init.py) that starts sshd through its init script and reaps orphans.
init_code=$(cat "$(dirname "$0")/guest-init.py")
exec chroot "$root" /usr/bin/python3 -I -c "$init_code"
