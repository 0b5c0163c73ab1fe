"""How commands are wrapped for root: quoting, ``--``, and no password in argv."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any, cast

import pytest

from setupwizard.provisioning import SudoMode, SudoRefusedError
from setupwizard.provisioning.events import EventEmitter, SessionEvent
from setupwizard.provisioning.remote import NO_INPUT, Remote
from setupwizard.provisioning.ssh import Connection


async def _drop(events: Sequence[SessionEvent]) -> None:
    return None


def remote(mode: SudoMode | None, password: str | None = None) -> Remote:
    connection = Connection(conn=cast(Any, None), fingerprint="SHA256:x", newly_recorded=False)
    runner = Remote(connection, EventEmitter(_drop))
    runner.sudo_mode, runner.sudo_password = mode, password
    return runner


SCRIPT = "echo 'it''s' $(id -u); touch \"/tmp/a b\""


def test_unprivileged_and_root_commands_are_one_quoted_bash_argument() -> None:
    for runner in (remote(None), remote(SudoMode.ROOT)):
        command = runner.wrap(SCRIPT, privileged=runner.sudo_mode is SudoMode.ROOT)
        assert shlex.split(command) == ["bash", "-c", NO_INPUT + SCRIPT]


def test_passwordless_sudo_never_prompts() -> None:
    assert shlex.split(remote(SudoMode.PASSWORDLESS).wrap(SCRIPT, privileged=True)) == [
        "sudo",
        "-n",
        "--",
        "bash",
        "-c",
        NO_INPUT + SCRIPT,
    ]


def test_password_sudo_uses_the_unique_prompt_and_keeps_the_password_out_of_argv() -> None:
    runner = remote(SudoMode.PASSWORD, password="Canary-pw-42")
    argv = shlex.split(runner.wrap(SCRIPT, privileged=True))
    assert argv == ["sudo", "-S", "-p", runner.prompt_marker, "--", "bash", "-c", NO_INPUT + SCRIPT]
    assert "Canary-pw-42" not in " ".join(argv)
    assert runner.prompt_marker != remote(SudoMode.PASSWORD).prompt_marker


def test_privileged_command_before_sudo_was_checked_is_refused() -> None:
    with pytest.raises(SudoRefusedError):
        remote(None).wrap("true", privileged=True)
