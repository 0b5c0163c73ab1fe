"""A canary password never leaves the engine: not in events, results, errors, logs or argv."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable

import pytest

from setupwizard.provisioning import (
    EventType,
    MemoryKnownHosts,
    SetupOptions,
    SudoMode,
    SudoPasswordWrongError,
    Target,
    run_setup,
    test_connection,
)
from setupwizard.testbed.host import TestHost

from .recorder import Recorder

ARGV_SNAPSHOT = "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"


class ArgvWatcher:
    """Samples every process's argv on the host (as root, not over SSH) while a setup runs."""

    def __init__(self, host: TestHost) -> None:
        self.host = host
        self.samples: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.host.run_root(ARGV_SNAPSHOT).stdout)
            self._stop.wait(0.1)

    def __enter__(self) -> ArgvWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_canary_password_appears_nowhere(
    make_test_host: Callable[[], TestHost], caplog: pytest.LogCaptureFixture
) -> None:
    host = make_test_host()
    canary = f"Cnry-{secrets.token_hex(8)}"
    host.set_password("alice", canary)
    target = Target(host=host.address, username="alice", password=canary)
    options = SetupOptions(packages=["ufw"], script="echo done; sudo -n true && echo cached || true\n")
    rec = Recorder()
    caplog.set_level(logging.DEBUG)
    with ArgvWatcher(host) as watcher:
        result = await run_setup(target, options, rec.emitter, MemoryKnownHosts())
    assert result.success, rec.dump()
    assert result.sudo is not None and result.sudo.mode is SudoMode.PASSWORD
    assert result.sudo.sudo_password == canary  # handed to the web layer to store encrypted
    rec.assert_well_formed()
    frames = rec.dump()
    assert canary not in frames
    assert "********" not in frames, "something echoed the password and only redaction hid it"
    assert canary not in repr(result) and canary not in str(result.to_dict())
    assert canary not in caplog.text
    assert len(watcher.samples) > 5 and "sudo" in "".join(watcher.samples)
    assert not any(canary in sample for sample in watcher.samples)
    files = host.run_root(f"grep -rl -- {canary} /tmp /root /home /var/log 2>/dev/null; true").stdout
    assert files.strip() == ""


async def test_wrong_sudo_password_is_refused_after_one_try(test_host: TestHost) -> None:
    canary = f"Wrong-{secrets.token_hex(8)}"
    acct = test_host.sudo_password
    target = Target(test_host.address, acct.username, password=acct.password, sudo_password=canary)
    with pytest.raises(SudoPasswordWrongError) as caught:
        await test_connection(target, MemoryKnownHosts())
    assert canary not in str(caught.value) and canary not in repr(caught.value)
    rec = Recorder()
    result = await run_setup(target, SetupOptions(packages=["tree"]), rec.emitter, MemoryKnownHosts())
    assert not result.success and result.error_code == "sudo_refused"
    assert result.steps[1].id == "sudo" and result.steps[1].message.startswith("sudo 密码错误")
    assert all(s.status.value == "skipped" for s in result.steps[2:])
    assert canary not in rec.dump() and canary not in str(result.to_dict())
    assert test_host.run_root("command -v tree").returncode != 0  # nothing after sudo ran


async def test_sudo_modes_are_detected_for_each_account(test_host: TestHost) -> None:
    expected = {
        "root": SudoMode.ROOT,
        "sudo_nopasswd": SudoMode.PASSWORDLESS,
        "sudo_password": SudoMode.PASSWORD,
        "no_sudo": None,
    }
    known = MemoryKnownHosts()
    for account, mode in expected.items():
        acct = getattr(test_host, account)
        report = await test_connection(
            Target(test_host.address, acct.username, password=acct.password), known
        )
        assert report.sudo_mode is mode, account
        assert report.supported and report.os_id == "debian"


async def test_user_without_sudo_fails_at_the_sudo_step(test_host: TestHost) -> None:
    acct = test_host.no_sudo
    rec = Recorder()
    target = Target(test_host.address, acct.username, password=acct.password)
    result = await run_setup(target, SetupOptions(packages=["tree"]), rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "sudo_refused"
    assert "没有 sudo 权限" in result.message
    assert rec.events[-1].message.startswith("✗")
    assert test_host.run_root("command -v tree").returncode != 0


def _windows(text: str, size: int = 8) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


STRADDLE_SCRIPT = r"""
dots() { head -c "$1" /dev/zero | tr '\0' '.'; }
for s in "$Y" "$X"; do
  for n in $(seq 1 ${#s}); do dots $((4000 - n)); printf '%s tail\n' "$s"; done
done
printf 'split %s' "${Y:0:12}"; sleep 0.4; printf '%s end\n' "${Y:12}"
printf 'split %s' "${X:0:9}"; sleep 0.4; printf '%s end\n' "${X:9}"
echo "both $X and $Y"
"""


async def test_nested_and_straddling_secrets_leave_no_fragment(
    make_test_host: Callable[[], TestHost],
) -> None:
    """Login password X, sudo password X-Extra… (root's: ``rootpw``), printed across reads and line cuts."""
    host = make_test_host()
    login_pw = f"Cnry{secrets.token_hex(12)}"
    sudo_pw = f"{login_pw}-Extra{secrets.token_hex(4)}"
    host.set_password("alice", login_pw)
    host.set_password("root", sudo_pw)
    host.run_root(
        "echo 'Defaults:alice rootpw' > /etc/sudoers.d/zz-rootpw && chmod 440 /etc/sudoers.d/zz-rootpw"
    )
    target = Target(host=host.address, username="alice", password=login_pw, sudo_password=sudo_pw)
    script = f"X='{login_pw}'\nY='{sudo_pw}'\n{STRADDLE_SCRIPT}"
    rec = Recorder()
    result = await run_setup(
        target, SetupOptions(packages=["ufw"], script=script), rec.emitter, MemoryKnownHosts()
    )
    assert result.success, rec.dump()[-3000:]
    assert result.sudo is not None and result.sudo.mode is SudoMode.PASSWORD
    rec.assert_well_formed()
    frames = rec.dump()
    fragments = _windows(login_pw[4:]) | _windows(sudo_pw[len(login_pw) :])
    leaked = sorted(f for f in fragments if f in frames)
    assert leaked == [], leaked
    logs = rec.messages(EventType.LOG)
    cut_lines = [line for line in logs if line.endswith("******** tail")]
    assert len(cut_lines) == len(login_pw) + len(sudo_pw) - 2  # each straddling one was kept whole
    assert "split ******** end" in logs and "both ******** and ********" in logs


REDRAW_SCRIPT = r"""
printf '%s\rXXXX\n' "$P"
printf '%s\b\b\b\b\b\b\b\b\b\bYYYY\n' "$P"
printf '%s\033[6D\033[K!\n' "$P"
"""


async def test_a_redraw_over_part_of_a_secret_leaves_no_fragment(
    make_test_host: Callable[[], TestHost],
) -> None:
    """``printf '%s\\rXXXX\\n' <password>``: the terminal collapse keeps the secret's tail unless the drawn
    line is redacted before the redraw overwrites its head."""
    host = make_test_host()
    password = f"pw-Cnry{secrets.token_hex(10)}"
    host.set_password("alice", password)
    target = Target(host=host.address, username="alice", password=password)
    rec = Recorder()
    script = f"P='{password}'\n{REDRAW_SCRIPT}"
    result = await run_setup(
        target, SetupOptions(packages=[], script=script), rec.emitter, MemoryKnownHosts()
    )
    assert result.success, rec.dump()[-3000:]
    frames = rec.dump()
    leaked = sorted(f for f in _windows(password[4:], 6) if f in frames)
    assert leaked == [], leaked
    logs = rec.messages(EventType.LOG)
    assert {"XXXX********", "********YYYY********", "********!"} <= set(logs), logs
