"""An admin login proven by the ssh-agent, through the CLI on Debian 12 and 13: with ``--admin-key ops.pub``
and no private key next to it, the key held by the person's ssh-agent (a real ``ssh-agent`` started here,
``SSH_AUTH_SOCK``) proves ops's new login, so root and password login go off without a confirm-or-revert.
Brand-new logins show ops gets in with that key and becomes root, and root does not get in."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.systemd.lockout import DROP_IN, becomes_root_with_sudo, login_runs
from tests.integration.systemd.test_lockout_cli import QUICK, key_files
from tests.integration.systemd.test_step_cli import SETUPWIZARD


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    """A real ssh-agent on a socket of its own; its path. Stopped (by its pid) after the test."""
    socket = tmp_path / "agent.sock"
    started = subprocess.run(
        ["ssh-agent", "-s", "-a", str(socket)], capture_output=True, text=True, check=True
    )
    pid = int(re.search(r"SSH_AGENT_PID=(\d+)", started.stdout).group(1))  # type: ignore[union-attr]
    try:
        yield str(socket)
    finally:
        os.kill(pid, signal.SIGTERM)


async def test_the_agent_key_matching_the_pub_proves_the_new_login(
    systemd_host: TestHost, tmp_path: Path, agent: str
) -> None:
    public, private = key_files(tmp_path)
    env = {**os.environ, "SSH_AUTH_SOCK": agent, "XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"}
    subprocess.run(["ssh-add", str(tmp_path / "ops_ed25519")], env=env, check=True, capture_output=True)
    (tmp_path / "ops_ed25519").unlink()  # only the agent holds it now
    args = [SETUPWIZARD, "setup", systemd_host.address, "--user", "root", *QUICK, "--admin-user", "ops"]
    args += ["--admin-key", str(public), "--admin-nopasswd", "--harden-ssh", "--password-stdin"]
    done = subprocess.run(
        args, input=systemd_host.root.password + "\n", capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Proving with a brand-new SSH login that ops@" in done.stdout
    assert systemd_host.run_root(f"test -e {DROP_IN}").returncode == 0
    assert await becomes_root_with_sudo(systemd_host, "ops", private)
    assert await login_runs(systemd_host, "root", password=systemd_host.root.password) is None
