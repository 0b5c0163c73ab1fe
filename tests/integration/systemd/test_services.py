"""The systemd flavour on Debian 12 and 13: sshd is a unit, journald the only log, and the service tools
a first-boot setup uses (systemctl reload ssh, hostnamectl, timedatectl, ufw) work as on a real server."""

from __future__ import annotations

import asyncio
import socket

import asyncssh
import pytest

from setupwizard.testbed import Account, TestHost
from setupwizard.testbed.paths import BRIDGE_ADDRESS, CLIENT_ADDRESSES


async def connect(
    host: TestHost, account: Account, *, source: str | None = None
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        host.address,
        port=host.port,
        local_addr=None if source is None else (source, 0),
        username=account.username,
        password=account.password,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        connect_timeout=30,
    )


def root(host: TestHost, command: str, timeout: float = 120) -> str:
    result = host.run_root(command, timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


def tcp_connects(address: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


async def reload_ssh(host: TestHost) -> None:
    """``systemctl reload ssh`` and wait until sshd has really reloaded.

    The unit's reload is ``kill -HUP $MAINPID``: systemctl returns before sshd has re-read its
    configuration, so a login made at once may still meet the old settings. sshd logs "Server listening"
    once it listens again with the new ones; wait for that line after the journal's current cursor.
    """
    last = root(host, "journalctl -u ssh.service -n 1 -o cat --show-cursor | tail -n 1")
    assert last.startswith("-- cursor: "), last
    cursor = last.removeprefix("-- cursor: ")
    root(host, "systemctl reload ssh")
    for _ in range(150):
        after = root(host, f"journalctl -u ssh.service -o cat --after-cursor='{cursor}'")
        if "Server listening" in after:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("sshd did not listen again after the reload")


async def connect_after_reload(host: TestHost, account: Account) -> asyncssh.SSHClientConnection:
    """``systemctl reload ssh`` returns once SIGHUP is sent; sshd then closes its listener and re-executes
    itself, so for a moment new connections are refused or reset. Retry those (not a refused login)."""
    for _ in range(150):
        try:
            return await connect(host, account)
        except (OSError, asyncssh.ConnectionLost):
            await asyncio.sleep(0.1)
    return await connect(host, account)


def test_it_is_the_release_asked_for_booted_by_systemd(systemd_host: TestHost) -> None:
    version = {"bookworm": "12", "trixie": "13"}[systemd_host.release]
    assert root(systemd_host, ". /etc/os-release; echo $VERSION_ID") == version
    assert root(systemd_host, "cat /proc/1/comm") == "systemd"
    state = systemd_host.run_root("systemctl is-system-running").stdout.strip()
    assert state == "running", root(systemd_host, "systemctl --failed --no-pager")
    assert root(systemd_host, "systemd-detect-virt") == "systemd-nspawn"


def test_sshd_runs_as_the_ssh_unit(systemd_host: TestHost) -> None:
    assert root(systemd_host, "systemctl is-active ssh.service") == "active"
    assert root(systemd_host, "systemctl is-enabled ssh.service") == "enabled"
    main_pid = root(systemd_host, "systemctl show -p MainPID --value ssh.service")
    assert root(systemd_host, f"cat /proc/{main_pid}/comm") == "sshd"


async def test_journald_is_the_only_log(systemd_host: TestHost) -> None:
    assert systemd_host.run_root("dpkg-query -W rsyslog").returncode != 0
    assert systemd_host.run_root("test -e /var/log/syslog || test -e /var/log/auth.log").returncode != 0
    conn = await connect(systemd_host, systemd_host.sudo_nopasswd)
    conn.close()
    await conn.wait_closed()
    journal = ""
    for _ in range(50):  # journald writes asynchronously
        journal = root(systemd_host, "journalctl --no-pager -u ssh.service")
        if "Accepted password for bob" in journal:
            break
        await asyncio.sleep(0.1)
    assert "Accepted password for bob" in journal


async def test_systemctl_reload_ssh_applies_a_drop_in_and_keeps_open_sessions(systemd_host: TestHost) -> None:
    before = root(systemd_host, "systemctl show -p MainPID --value ssh.service")
    conn = await connect(systemd_host, systemd_host.root)
    try:
        root(systemd_host, "printf 'PermitRootLogin no\\n' > /etc/ssh/sshd_config.d/00-test.conf && sshd -t")
        await reload_ssh(systemd_host)
        with pytest.raises(asyncssh.PermissionDenied):
            await connect_after_reload(systemd_host, systemd_host.root)  # a new root login is refused now
        assert (await conn.run("echo still-here", check=True)).stdout == "still-here\n"
        assert root(systemd_host, "systemctl show -p MainPID --value ssh.service") == before
    finally:
        conn.close()
        root(systemd_host, "rm -f /etc/ssh/sshd_config.d/00-test.conf")
        await reload_ssh(systemd_host)
    again = await connect_after_reload(systemd_host, systemd_host.root)
    again.close()


def test_hostnamectl_sets_the_hostname(systemd_host: TestHost) -> None:
    try:
        root(systemd_host, "hostnamectl set-hostname web-1")
        assert root(systemd_host, "hostnamectl --static") == "web-1"
        assert root(systemd_host, "hostname") == "web-1"
        assert root(systemd_host, "cat /etc/hostname") == "web-1"
    finally:
        root(systemd_host, f"hostnamectl set-hostname {systemd_host.name}")
    assert root(systemd_host, "hostname") == systemd_host.name


def test_timedatectl_sets_the_time_zone(systemd_host: TestHost) -> None:
    try:
        root(systemd_host, "timedatectl set-timezone Asia/Shanghai")
        assert root(systemd_host, "timedatectl show -p Timezone --value") == "Asia/Shanghai"
        assert root(systemd_host, "readlink /etc/localtime").endswith("Asia/Shanghai")
        assert root(systemd_host, "date +%Z") == "CST"
    finally:
        root(systemd_host, "timedatectl set-timezone Etc/UTC")


async def test_ufw_filters_as_a_service_while_ssh_stays_open(systemd_host: TestHost) -> None:
    root(systemd_host, "apt-get update -q && apt-get install -y -q ufw", timeout=600)
    root(systemd_host, "systemd-run --unit=tb-listener python3 -m http.server 8080")
    try:
        for _ in range(50):
            if tcp_connects(systemd_host.address, 8080, timeout=0.5):
                break
            await asyncio.sleep(0.1)
        assert tcp_connects(systemd_host.address, 8080)
        root(systemd_host, "ufw allow 22/tcp && ufw --force enable")
        assert "Status: active" in root(systemd_host, "ufw status")
        assert root(systemd_host, "systemctl is-enabled ufw.service") == "enabled"
        assert not tcp_connects(systemd_host.address, 8080, timeout=1)
        conn = await connect(systemd_host, systemd_host.root)
        conn.close()
        root(systemd_host, "systemctl restart ufw.service")  # rules come back from the unit, as at boot
        assert not tcp_connects(systemd_host.address, 8080, timeout=1)
    finally:
        systemd_host.run_root("ufw --force disable; systemctl stop tb-listener")
    assert "Status: inactive" in root(systemd_host, "ufw status")


async def test_a_second_client_address_can_be_shut_out_alone(systemd_host: TestHost) -> None:
    # What fail2ban does to an attacker: the other address (the tests' usual one) keeps working.
    other = CLIENT_ADDRESSES[0]
    conn = await connect(systemd_host, systemd_host.sudo_nopasswd, source=other)
    assert str((await conn.run("echo $SSH_CLIENT", check=True)).stdout).split()[0] == other
    conn.close()
    root(
        systemd_host,
        "command -v iptables || (apt-get update -q && apt-get install -y -q iptables)",
        timeout=600,
    )
    root(systemd_host, f"iptables -I INPUT -s {other} -p tcp --dport 22 -j REJECT")
    try:
        with pytest.raises(OSError):
            await connect(systemd_host, systemd_host.sudo_nopasswd, source=other)
        conn = await connect(systemd_host, systemd_host.sudo_nopasswd)
        assert str((await conn.run("echo $SSH_CLIENT", check=True)).stdout).split()[0] == BRIDGE_ADDRESS
        conn.close()
    finally:
        root(systemd_host, f"iptables -D INPUT -s {other} -p tcp --dport 22 -j REJECT")
