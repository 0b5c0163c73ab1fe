"""Confirm-or-revert on Debian 12 and 13. The admin user gets the person's own public key
(the test holds its private half, the service does not), and root and password login go off, so the
service cannot prove the new login. With ``confirm_login`` the settings are applied and the run waits:
the person logs in from outside and confirms (kept), or does not (rolled back over the open connection),
or cancels (rolled back), or the service's connection dies (the server's own timer rolls back). Each
outcome is proven from outside with brand-new logins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncssh
import pytest

from setupwizard.provisioning import EventType, MemoryKnownHosts, SessionEvent, SetupOptions
from setupwizard.provisioning.result import SetupResult
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.lockout import DROP_IN, SSHD_SETTINGS, login_runs
from tests.integration.systemd.support import root
from tests.integration.systemd.test_lockout_matrix import KILL_SESSIONS

NEW_PORT = 2222
WAIT = "hardening.confirm_wait"


def persons_key() -> tuple[str, str]:
    """The person's own key pair: (private, public). Only the test, as the person, holds the private half."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")
    return key.export_private_key().decode(), key.export_public_key().decode().strip()


def confirm_plan(public_key: str, timeout: float) -> SetupOptions:
    return SetupOptions(
        apt_update=False,
        packages=[],
        firewall=False,
        admin=AdminUser("deploy", public_key=public_key, nopasswd=True),
        ssh_hardening=SshHardening(
            "no", password_authentication=False, port=NEW_PORT, confirm_login=True, confirm_timeout=timeout
        ),
    )


async def run(
    host: TestHost,
    options: SetupOptions,
    rec: Recorder,
    confirm: asyncio.Event,
    *,
    cancel: asyncio.Event | None = None,
    revert_after: float = 120.0,
) -> SetupResult:
    return await run_setup(
        login(host, "root"),
        options,
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(ssh_revert_after=revert_after),
        cancel=cancel,
        confirm=confirm,
        connect_timeout=5,
    )


async def assert_old_way_in(host: TestHost, private: str) -> None:
    """sshd runs with the old settings; brand-new logins on port 22 get in, none on the new port."""
    assert host.run_root(f"test -e {DROP_IN}").returncode != 0
    assert root(host, SSHD_SETTINGS).split("\n") == [
        "port 22",
        "permitrootlogin yes",
        "passwordauthentication yes",
    ]
    assert await login_runs(host, "root", password=host.root.password) == "0"
    deploy = await login_runs(host, "deploy", private_key=private, command="sudo -n id -u")
    assert deploy == "0", root(host, "journalctl -u ssh.service -n 40 --no-pager -o cat")
    assert await login_runs(host, "deploy", port=NEW_PORT, private_key=private) is None


def recorder(on_wait: Callable[[SessionEvent], object]) -> Recorder:
    async def watch(event: SessionEvent) -> None:
        if event.type is EventType.INFO and event.code == WAIT:
            result = on_wait(event)
            if asyncio.iscoroutine(result):
                await result

    return Recorder(watch)


@pytest.mark.parametrize("release", RELEASES)
async def test_not_confirmed_in_time_is_rolled_back(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    private, public = persons_key()
    waits: list[SessionEvent] = []
    rec = recorder(waits.append)
    result = await run(host, confirm_plan(public, 5), rec, asyncio.Event())
    assert result.status == "failed" and result.error_code == "login_not_confirmed", rec.dump()
    # the event told the person what to try, and by when
    (wait,) = waits
    shown = wait.data["confirm_login"]
    assert shown["command"] == f"ssh -p {NEW_PORT} deploy@{host.address}" and shown["seconds"] == 5
    assert shown["command"] in wait.message
    step = next(s for s in result.steps if s.id == "ssh_hardening")
    assert "未在限时内确认" in step.message
    codes = [e.code for e in rec.events]
    assert "hardening.restored_proven" in codes and "hardening.confirmed" not in codes
    await assert_old_way_in(host, private)
    assert "active" != root(host, "systemctl is-active setupwizard-ssh-revert.timer || true")


@pytest.mark.parametrize("release", RELEASES)
async def test_cancel_during_the_wait_rolls_back(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    private, public = persons_key()
    cancel = asyncio.Event()
    rec = recorder(lambda _event: cancel.set())
    result = await run(host, confirm_plan(public, 600), rec, asyncio.Event(), cancel=cancel)
    assert result.status == "cancelled", rec.dump()
    step = next(s for s in result.steps if s.id == "ssh_hardening")
    assert step.status.value == "cancelled" and "回滚" in step.message
    await assert_old_way_in(host, private)


@pytest.mark.parametrize("release", RELEASES)
async def test_confirmed_keeps_the_hardening(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    private, public = persons_key()
    confirm = asyncio.Event()
    tried: list[str | None] = []

    async def the_person_logs_in_and_confirms(event: SessionEvent) -> None:
        # the person, from their own terminal: the line shown, with their own key
        tried.append(
            await login_runs(host, "deploy", port=NEW_PORT, private_key=private, command="sudo -n id -u")
        )
        confirm.set()

    rec = recorder(the_person_logs_in_and_confirms)
    result = await run(host, confirm_plan(public, 120), rec, confirm, revert_after=5.0)
    assert result.status == "succeeded", rec.dump()
    assert tried == ["0"]
    assert "hardening.confirmed" in [e.code for e in rec.events]
    assert result.login_after == {
        "username": "deploy",
        "port": NEW_PORT,
        "auth": "key",
        "generated_key": False,
    }
    # the server's revert timer was stopped, and the hardening stays
    assert "active" != root(host, "systemctl is-active setupwizard-ssh-revert.timer || true")
    assert root(host, SSHD_SETTINGS).split("\n") == [
        f"port {NEW_PORT}",
        "permitrootlogin no",
        "passwordauthentication no",
    ]
    # from outside, brand-new logins: the person's key gets in and becomes root; root and passwords do not
    assert (
        await login_runs(host, "deploy", port=NEW_PORT, private_key=private, command="sudo -n id -u") == "0"
    )
    assert await login_runs(host, "root", port=NEW_PORT, password=host.root.password) is None
    assert await login_runs(host, "root", password=host.root.password) is None


@pytest.mark.parametrize("release", RELEASES)
async def test_a_connection_lost_during_the_wait_is_reverted_by_the_server(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    private, public = persons_key()
    rec = recorder(lambda _event: host.run_root(KILL_SESSIONS))
    # the server's timer fires 3 s after the confirm window (5 s), counted from when it was armed
    result = await run(host, confirm_plan(public, 5), rec, asyncio.Event(), revert_after=3.0)
    assert result.status == "failed", rec.dump()
    # the server's undo runs: the drop-in goes first, then sshd restarts; wait for the undo to finish
    root(host, f"for i in $(seq 600); do [ -e {DROP_IN} ] || exit 0; sleep 0.1; done; exit 1")
    undo = "setupwizard-ssh-revert.service"
    root(host, f"for i in $(seq 600); do systemctl is-active -q {undo} || exit 0; sleep 0.1; done; exit 1")
    root(host, "for i in $(seq 300); do ss -Hltn | grep -q ':22 ' && exit 0; sleep 0.1; done; exit 1")
    await assert_old_way_in(host, private)
