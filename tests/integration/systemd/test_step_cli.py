"""``setupwizard setup`` with the optional steps' flags on the systemd flavour (Debian 12 and 13):
``--show-plan`` prints only the chosen steps, and a run writes the generated admin key to the file
asked for (mode 600) and nowhere else."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import asyncssh

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import SILENT_ADDRESS

SETUPWIZARD = str(Path(sys.executable).with_name("setupwizard"))
CHOSEN = ["--no-update", "--no-packages", "--no-firewall", "--hostname", "cli-1", "--timezone", "Etc/UTC"]


def run_cli(args: list[str], password: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [SETUPWIZARD, "setup", *args, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_show_plan_lists_only_the_chosen_steps_and_connects_nowhere(tmp_path: Path) -> None:
    done = run_cli([SILENT_ADDRESS, *CHOSEN, "--fail2ban"], "x", tmp_path)
    assert done.returncode == 1  # no --show-plan: it tried to connect to a host that is not there
    done = run_cli([SILENT_ADDRESS, *CHOSEN, "--fail2ban", "--show-plan"], "x", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = [line.split("[")[1].split(",")[0] for line in done.stdout.splitlines() if line[:1].isdigit()]
    assert ids == ["connect", "sudo", "hostname", "timezone", "fail2ban"]
    assert "hostnamectl set-hostname cli-1" in done.stdout and "ufw" not in done.stdout


async def test_the_generated_key_goes_to_the_file_asked_for_only(
    systemd_host: TestHost, tmp_path: Path
) -> None:
    key_file = tmp_path / "ops_ed25519"
    args = [systemd_host.address, "--user", "root", *CHOSEN, "--admin-user", "ops"]
    args += ["--admin-key-out", str(key_file), "--admin-nopasswd"]
    done = run_cli(args, systemd_host.root.password, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ 创建管理员用户" in done.stdout and "✓ 设置主机名" in done.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private = key_file.read_text()
    for line in private.splitlines():
        if line and not line.startswith("-----"):
            assert line not in done.stdout + done.stderr
    async with asyncssh.connect(
        systemd_host.address,
        username="ops",
        client_keys=[asyncssh.import_private_key(private)],
        known_hosts=None,
        agent_path=None,
    ) as conn:
        assert str((await conn.run("sudo -n hostname")).stdout).strip() == "cli-1"
