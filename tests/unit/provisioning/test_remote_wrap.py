"""How commands are wrapped for root: quoting, ``--``, and no password in argv."""

from __future__ import annotations

import shlex
from typing import Any, cast

from setupwizard.provisioning import SudoCredential, SudoMode
from setupwizard.provisioning.remote import NO_INPUT, Remote
from setupwizard.provisioning.ssh import Connection


def remote() -> Remote:
    connection = Connection(conn=cast(Any, None), fingerprint="SHA256:x", newly_recorded=False)
    return Remote(connection)


def credential(mode: SudoMode, password: str = "") -> SudoCredential:
    return SudoCredential(sudo_user="alice", sudo_password=password, mode=mode)


SCRIPT = "echo 'it''s' $(id -u); touch \"/tmp/a b\""


def test_unprivileged_and_root_commands_are_one_quoted_bash_argument() -> None:
    for sudo in (None, credential(SudoMode.ROOT)):
        assert shlex.split(remote().wrap(SCRIPT, sudo)) == ["bash", "-c", NO_INPUT + SCRIPT]


def test_passwordless_sudo_never_prompts() -> None:
    assert shlex.split(remote().wrap(SCRIPT, credential(SudoMode.PASSWORDLESS))) == [
        "sudo",
        "-n",
        "--",
        "bash",
        "-c",
        NO_INPUT + SCRIPT,
    ]


def test_password_sudo_uses_the_unique_prompt_and_keeps_the_password_out_of_argv() -> None:
    runner = remote()
    argv = shlex.split(runner.wrap(SCRIPT, credential(SudoMode.PASSWORD, "Canary-pw-42")))
    assert argv == ["sudo", "-k", "-S", "-p", runner.prompt_marker, "--", "bash", "-c", NO_INPUT + SCRIPT]
    assert "Canary-pw-42" not in " ".join(argv)
    assert runner.prompt_marker != remote().prompt_marker


def test_the_runner_keeps_no_step_or_sudo_state() -> None:
    runner = remote()
    assert not {"step", "sudo_mode", "sudo_password", "emitter"} & set(vars(runner))
