"""No lock-out through the CLI on Debian 12 and 13: refused before the first change, or the new login proven.

Refused first: as root with a password, ``--admin-user ops --admin-key ops.pub --harden-ssh`` used to create
``ops`` and only then refuse the hardening. Now the plan is refused before anything runs, naming what to add.
Proven with the key: with the private key next to ``ops.pub``, the CLI proves ops's new login with it, and the
same command succeeds; brand-new logins show ops gets in and becomes root, root does not get in.
"""

from __future__ import annotations

from pathlib import Path

import asyncssh

from setupwizard.testbed.host import TestHost
from tests.integration.systemd.lockout import DROP_IN, becomes_root_with_sudo, login_runs
from tests.integration.systemd.test_step_cli import run_cli

QUICK = ["--no-update", "--no-packages", "--no-firewall", "--lang", "en"]


def key_files(directory: Path) -> tuple[Path, str]:
    """ops_ed25519 and ops_ed25519.pub, as ssh-keygen leaves them: (the .pub path, the private key)."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="ops@laptop")
    private = key.export_private_key().decode()
    (directory / "ops_ed25519").write_text(private)
    (directory / "ops_ed25519").chmod(0o600)
    public = directory / "ops_ed25519.pub"
    public.write_text(key.export_public_key().decode())
    return public, private


async def test_a_plan_that_cannot_be_proven_is_refused_before_any_change(
    systemd_host: TestHost, tmp_path: Path
) -> None:
    public, _ = key_files(tmp_path)
    (tmp_path / "ops_ed25519").unlink()  # only the public key: nothing proves ops's login
    args = [systemd_host.address, "--user", "root", *QUICK, "--admin-user", "ops"]
    args += ["--admin-key", str(public), "--admin-nopasswd", "--harden-ssh"]
    done = run_cli(args, systemd_host.root.password, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ssh_hardening.permit_root_login" in done.stdout and "generated key" in done.stdout
    assert "创建" not in done.stdout  # an English run, and no step ran
    assert systemd_host.run_root("id ops").returncode != 0
    assert await login_runs(systemd_host, "root", password=systemd_host.root.password) == "0"


async def test_the_private_key_next_to_the_pub_proves_the_new_login(
    systemd_host: TestHost, tmp_path: Path
) -> None:
    public, private = key_files(tmp_path)
    args = [systemd_host.address, "--user", "root", *QUICK, "--admin-user", "ops"]
    args += ["--admin-key", str(public), "--admin-nopasswd", "--harden-ssh"]
    done = run_cli(args, systemd_host.root.password, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for line in private.splitlines():
        if line and not line.startswith("-----"):
            assert line not in done.stdout + done.stderr
    assert systemd_host.run_root(f"test -e {DROP_IN}").returncode == 0
    assert await login_runs(systemd_host, "root", password=systemd_host.root.password) is None
    assert await becomes_root_with_sudo(systemd_host, "ops", private)
