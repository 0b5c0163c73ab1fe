"""Confirm-or-revert through the CLI on Debian 12 and 13: ``--confirm-login``. Only ``ops.pub`` is given (the
person's own key, whose private half the CLI does not find), root logs in with its own key, and root and
password login go off. Without a terminal on stdin the option is refused before anything runs; in a
terminal (a pty here), the CLI prints the ssh line, the person logs in with it from outside and types
``yes``, and the hardening is kept: proven with brand-new logins."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from setupwizard.testbed.host import TestHost
from tests.integration.systemd.lockout import DROP_IN, give_root_a_key, login_runs
from tests.integration.systemd.test_lockout_cli import QUICK, key_files
from tests.integration.systemd.test_step_cli import SETUPWIZARD

NEW_PORT = 2222


def cli_args(host: TestHost, tmp_path: Path) -> tuple[list[str], str]:
    """The command line, and the person's private key (which the CLI does not get)."""
    root_private, _ = give_root_a_key(host)
    root_key = tmp_path / "root_key"
    root_key.write_text(root_private)
    root_key.chmod(0o600)
    public, private = key_files(tmp_path)
    (tmp_path / "ops_ed25519").unlink()  # the person keeps it elsewhere
    args = [SETUPWIZARD, "setup", host.address, "--user", "root", "--key", str(root_key), *QUICK]
    args += ["--admin-user", "ops", "--admin-key", str(public), "--admin-nopasswd", "--harden-ssh"]
    args += ["--ssh-new-port", str(NEW_PORT), "--confirm-login", "--confirm-timeout", "120"]
    return args, private


async def ops_becomes_root(host: TestHost, private: str) -> str | None:
    """A brand-new login as ops on the new port, with the person's key, runs ``sudo -n id -u``."""
    return await login_runs(host, "ops", port=NEW_PORT, private_key=private, command="sudo -n id -u")


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}


async def test_without_a_terminal_confirm_login_is_refused_up_front(
    systemd_host: TestHost, tmp_path: Path
) -> None:
    args, _ = cli_args(systemd_host, tmp_path)
    done = subprocess.run(
        args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=environment(tmp_path), timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--confirm-login" in done.stderr and "not a terminal" in done.stderr
    assert systemd_host.run_root("id ops").returncode != 0  # nothing ran
    assert systemd_host.run_root(f"test -e {DROP_IN}").returncode != 0


async def test_in_a_terminal_the_person_confirms_and_it_is_kept(
    systemd_host: TestHost, tmp_path: Path
) -> None:
    args, private = cli_args(systemd_host, tmp_path)
    terminal, stdin = os.openpty()
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=environment(tmp_path),
    )
    os.close(stdin)
    assert process.stdout is not None
    seen: list[str] = []
    line = f"ssh -p {NEW_PORT} ops@{systemd_host.address}"
    try:
        while not any("Type yes" in text for text in seen):
            raw = await asyncio.wait_for(process.stdout.readline(), timeout=300)
            assert raw, "the CLI ended without asking:\n" + "".join(seen)
            seen.append(raw.decode(errors="replace"))
        assert any(line in text for text in seen), "".join(seen)
        # the person, from another terminal: the line shown, with their own key
        assert await ops_becomes_root(systemd_host, private) == "0"
        os.write(terminal, b"yes\n")
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    finally:
        os.close(terminal)
        if process.returncode is None:
            process.kill()
    output = "".join(seen) + rest.decode(errors="replace")
    assert process.returncode == 0, output
    assert "Confirmed: you logged in as ops@" in output
    # from outside, brand-new logins: ops gets in on the new port and becomes root; root does not get in
    assert await ops_becomes_root(systemd_host, private) == "0"
    assert await login_runs(systemd_host, "root", port=NEW_PORT, password=systemd_host.root.password) is None
