"""Helpers of the lock-out tests: prove from outside, with brand-new SSH logins, which way in is left."""

from __future__ import annotations

import asyncssh

from setupwizard.testbed.host import TestHost
from tests.integration.systemd.support import root

SSHD_SETTINGS = "sshd -T | grep -E '^(port|permitrootlogin|passwordauthentication) '"
DROP_IN = "/etc/ssh/sshd_config.d/05-setupwizard.conf"


def give_root_a_key(host: TestHost) -> tuple[str, str]:
    """A new ed25519 key for root's authorized_keys: (private key, public key line)."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="root@lockout-test")
    public = key.export_public_key().decode().strip()
    root(host, f"install -d -m 700 /root/.ssh && echo '{public}' >> /root/.ssh/authorized_keys")
    return key.export_private_key().decode(), public


async def login_runs(
    host: TestHost,
    username: str,
    *,
    port: int = 22,
    password: str | None = None,
    private_key: str | None = None,
    command: str = "id -u",
    stdin: str | None = None,
) -> str | None:
    """A brand-new login (no agent, no other key) runs ``command``: its output, or None when the login
    or the command fails."""
    try:
        conn = await asyncssh.connect(
            host.address,
            port=port,
            username=username,
            password=password,
            client_keys=[asyncssh.import_private_key(private_key)] if private_key else None,
            known_hosts=None,
            agent_path=None,
            connect_timeout=10,
            preferred_auth="publickey" if private_key else "password,keyboard-interactive",
        )
    except (asyncssh.Error, OSError):
        return None
    try:
        done = await conn.run(command, input=stdin)
        return str(done.stdout or "").strip() if done.exit_status == 0 else None
    finally:
        conn.close()


async def becomes_root_with_sudo(
    host: TestHost, username: str, private_key: str, *, port: int = 22, sudo_password: str | None = None
) -> bool:
    """A brand-new key login as ``username`` becomes root: ``sudo -n`` (NOPASSWD) or ``sudo -S``."""
    if sudo_password is None:
        out = await login_runs(host, username, port=port, private_key=private_key, command="sudo -n id -u")
    else:
        out = await login_runs(
            host,
            username,
            port=port,
            private_key=private_key,
            command="sudo -k -S -p '' id -u",
            stdin=sudo_password + "\n",
        )
    return out == "0"


def listen_on(host: TestHost, port: int) -> None:
    """Another service takes ``port`` on the host (a small Python listener, as a transient unit)."""
    server = (
        "import socket,time; s=socket.socket(socket.AF_INET6); "
        "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); "
        f"s.bind(('::', {port})); s.listen(); time.sleep(86400)"
    )
    root(
        host,
        f'systemd-run --unit=busy-{port} python3 -c "{server}" && '
        f"for i in $(seq 100); do ss -Hltn | grep -q ':{port} ' && exit 0; sleep 0.1; done; exit 1",
    )
