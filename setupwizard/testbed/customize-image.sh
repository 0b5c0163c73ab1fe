#!/bin/sh
# Turns a debootstrap tree into the testbed image: accounts, sshd settings, apt via the testbed proxy.
# Usage: customize-image.sh ROOT   (env: TB_ROOT_PASSWORD, TB_ACCOUNTS "user:pw" lines, TB_APT_PROXY,
#        TB_MIRROR, TB_SUITE, TB_FLAVOUR quick|systemd). Passwords come in the environment, never in argv.
set -eu
root=$1
in_root() { chroot "$root" "$@"; }

printf 'deb %s %s main\n' "$TB_MIRROR" "$TB_SUITE" > "$root/etc/apt/sources.list"
# Guests have no DNS and no route out; the proxy on the bridge resolves and fetches for them.
printf 'Acquire::http::Proxy "%s";\n' "$TB_APT_PROXY" > "$root/etc/apt/apt.conf.d/01testbed-proxy"
printf '# The testbed has no DNS; apt goes through the proxy on the bridge.\n' > "$root/etc/resolv.conf"

in_root useradd --create-home --shell /bin/bash --groups sudo alice
in_root useradd --create-home --shell /bin/bash bob
in_root useradd --create-home --shell /bin/bash carol
{
  printf 'root:%s\n' "$TB_ROOT_PASSWORD"
  printf '%s\n' "$TB_ACCOUNTS"
} | in_root chpasswd
printf 'bob ALL=(ALL:ALL) NOPASSWD: ALL\n' > "$root/etc/sudoers.d/bob"
chmod 0440 "$root/etc/sudoers.d/bob"

cat > "$root/etc/ssh/sshd_config.d/testbed.conf" <<'CONF'
# A fresh VPS as providers hand them out: root may log in with a password.
PermitRootLogin yes
PasswordAuthentication yes
CONF
if [ "${TB_FLAVOUR:-quick}" = systemd ]; then
  # systemd boots it: sshd is the ssh.service unit, journald is the only log (as on fresh cloud images).
  in_root systemctl enable ssh.service >/dev/null 2>&1
  in_root systemctl disable ssh.socket >/dev/null 2>&1 || true
  # First-boot prompts would wait on the console.
  in_root systemctl mask systemd-firstboot.service >/dev/null 2>&1 || true
  test -L "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
else
  # No syslog in the host: sshd logs to a file (also when restarted with `service ssh restart`).
  sed -i 's|^SSHD_OPTS=.*|SSHD_OPTS="-E /var/log/sshd.log"|' "$root/etc/default/ssh"
  grep -q '^SSHD_OPTS="-E /var/log/sshd.log"$' "$root/etc/default/ssh"
fi
# Every host generates its own keys at start (ssh-keygen -A in the launcher).
rm -f "$root"/etc/ssh/ssh_host_*
rm -f "$root/etc/hostname"
: > "$root/etc/machine-id"

in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
mkdir -p "$root/var/lib/apt/lists/partial"
