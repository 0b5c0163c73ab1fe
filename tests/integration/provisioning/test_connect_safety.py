"""Connecting: host keys (accept-new, changed key refused, pin), typed errors, key login, unsupported OS."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import asyncssh
import pytest

from setupwizard.provisioning import (
    AuthenticationFailedError,
    ConnectionRefusedByHostError,
    ConnectTimeoutError,
    HostKeyChangedError,
    HostUnreachableError,
    MemoryKnownHosts,
    SetupOptions,
    StepStatus,
    Target,
    run_setup,
    test_connection,
)
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login

DEBIAN_OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def sshd_log(host: TestHost) -> str:
    return host.run_root("cat /var/log/sshd.log").stdout


async def test_new_host_key_is_recorded_and_a_changed_key_refused(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    known = MemoryKnownHosts()
    first = await test_connection(login(host, "root"), known)
    assert not first.host_key_known
    assert await known.get(host.address, 22) == first.host_key_fingerprint
    again = await test_connection(login(host, "root"), known)
    assert again.host_key_known and again.host_key_fingerprint == first.host_key_fingerprint

    logins_before = sshd_log(host).count("Accepted password for root")
    assert logins_before == 2

    host.regenerate_host_keys()
    canary = f"Cnry-{secrets.token_hex(8)}"
    host.set_password("root", canary)
    with pytest.raises(HostKeyChangedError) as caught:
        await test_connection(Target(host.address, "root", password=canary), known)
    message = str(caught.value)
    assert first.host_key_fingerprint in message  # the old one
    assert "SHA256:" in message.replace(first.host_key_fingerprint, "")  # and the new one
    assert "ssh-keygen -lf /etc/ssh/ssh_host_" in message and "--forget-host-key" in message
    assert caught.value.msg.params["recorded"] == first.host_key_fingerprint
    assert canary not in message
    assert await known.get(host.address, 22) == first.host_key_fingerprint  # not overwritten
    # refused during key exchange: the (correct) password was never sent, so sshd saw no login
    log = sshd_log(host)
    assert log.count("Accepted password for root") == logins_before
    assert "Failed password" not in log
    assert "Host key is not trusted" in log and "[preauth]" in log

    rec = Recorder()
    result = await run_setup(
        Target(host.address, "root", password=canary), SetupOptions(), rec.emitter, known
    )
    assert result.status == "failed" and result.error_code == "host_key_changed"
    assert result.steps[0].status is StepStatus.FAILED
    assert canary not in rec.dump()

    assert await known.forget(host.address, 22)
    report = await test_connection(Target(host.address, "root", password=canary), known)
    assert report.host_key_fingerprint != first.host_key_fingerprint


async def test_a_pinned_fingerprint_must_match(test_host: TestHost) -> None:
    report = await test_connection(login(test_host, "root"), MemoryKnownHosts())
    pinned = await test_connection(
        login(test_host, "root", host_key_fingerprint=report.host_key_fingerprint), MemoryKnownHosts()
    )
    assert pinned.host_key_fingerprint == report.host_key_fingerprint
    wrong = "SHA256:" + "A" * 43
    with pytest.raises(HostKeyChangedError, match="指定的指纹"):
        await test_connection(login(test_host, "root", host_key_fingerprint=wrong), MemoryKnownHosts())


async def test_wrong_password_is_an_authentication_error(test_host: TestHost) -> None:
    target = Target(test_host.address, "alice", password="not-her-password")
    with pytest.raises(AuthenticationFailedError) as caught:
        await test_connection(target, MemoryKnownHosts())
    assert "not-her-password" not in str(caught.value)


async def test_closed_port_is_connection_refused(test_host: TestHost) -> None:
    target = Target(test_host.address, "root", port=2222, password="x")
    with pytest.raises(ConnectionRefusedByHostError):
        await test_connection(target, MemoryKnownHosts(), connect_timeout=5)


async def test_missing_host_is_unreachable_or_timeout(testbed: object) -> None:
    target = Target("198.18.0.254", "root", password="x")
    with pytest.raises((HostUnreachableError, ConnectTimeoutError)):
        await test_connection(target, MemoryKnownHosts(), connect_timeout=3)


async def test_unknown_dns_name_is_unreachable() -> None:
    target = Target("no-such-host.invalid", "root", password="x")
    with pytest.raises(HostUnreachableError):
        await test_connection(target, MemoryKnownHosts(), connect_timeout=3)


async def test_login_with_an_encrypted_private_key(test_host: TestHost) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    passphrase = f"pp-{secrets.token_hex(6)}"
    public = key.export_public_key().decode().strip()
    test_host.run_root(
        "install -d -m 700 -o bob -g bob /home/bob/.ssh && cat >> /home/bob/.ssh/authorized_keys "
        "&& chown bob:bob /home/bob/.ssh/authorized_keys && chmod 600 /home/bob/.ssh/authorized_keys",
        input=public + "\n",
    )
    private = key.export_private_key(passphrase=passphrase).decode()
    target = Target(test_host.address, "bob", private_key=private, passphrase=passphrase)
    report = await test_connection(target, MemoryKnownHosts())
    assert report.sudo_mode is not None and report.sudo_mode.value == "passwordless"


async def test_unsupported_os_is_refused_before_anything_changes(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    host.set_os_release('NAME="Fedora Linux"\nID=fedora\nPRETTY_NAME="Fedora Linux 40"\n')
    before = host.run_root("ls -la --time-style=+%s /var/lib/apt/lists /var/lib/dpkg/status").stdout
    rec = Recorder()
    result = await run_setup(login(host, "root"), SetupOptions(), rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "unsupported_os"
    assert "Fedora Linux 40" in result.message and "没有做任何更改" in result.message
    assert [s.status for s in result.steps[1:]] == [StepStatus.SKIPPED] * (len(result.steps) - 1)
    assert host.run_root("ls -la --time-style=+%s /var/lib/apt/lists /var/lib/dpkg/status").stdout == before
    assert host.run_root("command -v ufw").returncode != 0
    report = await test_connection(login(host, "root"), MemoryKnownHosts())
    assert not report.supported and report.os_id == "fedora"
    host.set_os_release(DEBIAN_OS_RELEASE)
