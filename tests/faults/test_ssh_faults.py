"""SSH faults: the connection cut mid-command, a server that cannot be reached or never answers, wrong
credentials, a changed host key, a wrong sudo password. Each ends in a failed session that says why, with
every line printed before the fault kept."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import asyncssh

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import SILENT_ADDRESS
from tests.integration.web.live import Login, ProcessServer

from .outcome import Outcome
from .watch import describe, lines_lost, stored_session, watch_setup


def body(host: TestHost, account: str = "root", **extra: Any) -> dict[str, Any]:
    acct = getattr(host, account)
    base = {"host": host.address, "username": acct.username, "password": acct.password, "packages": []}
    return base | extra


def error_code(detail: dict[str, Any]) -> str | None:
    result = detail.get("result") or {}
    return result.get("error_code")


async def run_and_record(
    service: ProcessServer,
    owner: Login,
    key: str,
    scenario: str,
    expected: str,
    request: dict[str, Any],
    want_codes: set[str],
    **watch: Any,
) -> tuple[str | None, int]:
    printed = watch.pop("printed", ())
    watched = await watch_setup(service, owner, request, **watch)
    assert watched.started.status_code == 202, watched.started.text
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored, printed)
    code = error_code(stored.detail)
    ok = stored.status == "failed" and code in want_codes and lost == 0 and not watched.hung
    Outcome(key, scenario, expected, f"{describe(stored, watched)} [{code}]", lost, 0, ok).write()
    assert not watched.hung
    assert watched.final is not None and watched.final["data"]["status"] == "failed"
    assert stored.status == "failed"
    assert code in want_codes, f"{key}: error code {code!r}, expected one of {sorted(want_codes)}"
    assert lost == 0, f"{key}: {lost} printed lines lost"
    return code, lost


async def test_ssh_connection_cut_mid_command_fails_the_step_and_keeps_every_line(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    markers = [f"before-cut-{secrets.token_hex(3)}-{n}" for n in range(5)]
    script = "".join(f"echo {m}\n" for m in markers) + "echo cut-now\nsleep 300\necho after-cut\n"

    async def cut() -> None:
        await asyncio.sleep(0.5)  # the PTY has delivered what was printed; now the session dies
        # the session's sshd processes of this host only (its own PID namespace), not the listener
        kill = "for p in $(pgrep -f '^sshd: root'); do kill -9 $p; done"
        await asyncio.to_thread(test_host.run_root, kill)

    _code, lost = await run_and_record(
        service,
        owner,
        "ssh.01-cut",
        "SSH connection cut mid-command (the host's sshd session process killed)",
        "session failed, step names the cut connection; all lines before the cut kept",
        body(test_host, script=script),
        {"connection_lost"},
        when="cut-now",
        fault=cut,
        printed=markers,
    )
    assert lost == 0


async def test_unreachable_server_fails_with_a_clear_message(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    # On the test hosts' network, where no host ever runs (a stopped host's address could be taken by another
    # test run's next host at once, and that one answers).
    request = body(test_host) | {"host": SILENT_ADDRESS}
    await run_and_record(
        service,
        owner,
        "ssh.02-unreachable",
        "server unreachable (an address on the test hosts' network where no host runs)",
        "session failed: the address does not answer (unreachable or timed out)",
        request,
        {"unreachable"},  # no route, refused, filtered: one answer (the detail is in the service's log)
    )


async def test_connect_timeout_fails_with_a_clear_message(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    host = fresh_host()
    # a frozen sshd: the kernel still accepts the TCP connection, but no SSH banner ever comes
    assert host.run_root("kill -STOP $(pgrep -o sshd)").returncode == 0
    await run_and_record(
        service,
        owner,
        "ssh.03-connect-timeout",
        "connect timeout (the host's sshd frozen with SIGSTOP: TCP accepted, no banner)",
        "session failed: unreachable (a timeout answers like every other way of not reaching SSH)",
        body(host),
        {"unreachable"},
    )


async def test_wrong_password_fails_with_a_clear_message(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    await run_and_record(
        service,
        owner,
        "ssh.04-wrong-password",
        "wrong login password",
        "session failed: authentication failed",
        body(test_host, password=f"wrong-{secrets.token_hex(6)}"),
        {"auth_failed"},
    )


async def test_wrong_key_fails_with_a_clear_message(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh").decode()
    request = body(test_host) | {"password": None, "private_key": key}
    await run_and_record(
        service,
        owner,
        "ssh.05-wrong-key",
        "wrong private key (not in authorized_keys)",
        "session failed: authentication failed",
        request,
        {"auth_failed"},
    )


async def test_changed_host_key_is_refused(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    host = fresh_host()
    async with service.async_client(owner) as client:
        first = await client.post(
            "/api/setup/test-connection", json={k: v for k, v in body(host).items() if k != "packages"}
        )
    assert first.status_code == 200, first.text
    await asyncio.to_thread(host.regenerate_host_keys)
    await run_and_record(
        service,
        owner,
        "ssh.06-host-key-changed",
        "host key changed after it was trusted",
        "session failed: host key changed, nothing run",
        body(host),
        {"host_key_changed"},
    )


async def test_wrong_sudo_password_fails_without_retrying(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    request = body(test_host, "sudo_password", sudo_password=f"wrong-sudo-{secrets.token_hex(4)}")
    request["use_saved_sudo_password"] = False
    await run_and_record(
        service,
        owner,
        "ssh.07-wrong-sudo-password",
        "wrong sudo password (alice, sudo asks for a password)",
        "session failed: sudo refused, asked once",
        request,
        {"sudo_refused"},
    )
