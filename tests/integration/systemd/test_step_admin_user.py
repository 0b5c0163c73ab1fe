"""The admin user step on Debian 12 and 13: a generated key (proven by a new login) with a sudo
password, or a pasted key with NOPASSWD; first run and re-run. The secrets (the user's sudo password
and the private key) appear in no event, no result dict and nowhere in the server's journal (where
sudo logs every command line it runs)."""

from __future__ import annotations

import json

import asyncssh
import pytest

from setupwizard.provisioning import SetupOptions, SetupResult, StepStatus, run_setup
from setupwizard.provisioning.target import AdminUser
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys

CANARY = "Canary-Pw-7f3kq2Lx"
GENERATED = SetupOptions(
    apt_update=False,
    packages=[],
    firewall=False,
    admin=AdminUser("deploy", generate_key=True, sudo_password=CANARY),
)
known = HostKeys()


def root(host: TestHost, command: str) -> str:
    result = host.run_root(command)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


def secret_lines(private_key: str) -> list[str]:
    return [line for line in private_key.splitlines() if line and not line.startswith("-----")]


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    # alice's sudo asks for her password: the chpasswd input goes after it on the same stdin
    alice = login(systemd_host, "sudo_password")
    result = await run_setup(alice, GENERATED, rec.emitter, known(systemd_host))
    return rec, result


async def test_the_user_logs_in_with_the_generated_key_and_sudo_takes_its_password(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "admin_user")
    assert step.status is StepStatus.SUCCEEDED and step.changed
    assert result.generated_private_key and "OPENSSH PRIVATE KEY" in result.generated_private_key
    assert "sudo" in root(systemd_host, "id -nG deploy").split()
    assert root(systemd_host, "stat -c %a /home/deploy/.ssh /home/deploy/.ssh/authorized_keys") == "700\n600"
    key = asyncssh.import_private_key(result.generated_private_key)
    async with asyncssh.connect(
        systemd_host.address,
        username="deploy",
        client_keys=[key],
        known_hosts=None,
        agent_path=None,
        password=None,
    ) as conn:
        done = await conn.run(f"echo {CANARY} | sudo -S -k -p '' id -u", input="")
        assert str(done.stdout).strip() == "0", done.stderr


async def test_no_secret_in_events_result_or_the_servers_journal(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec, result = first_run
    assert result.generated_private_key
    dump = rec.dump() + json.dumps(result.to_dict()) + repr(result) + repr(GENERATED)
    journal = root(systemd_host, "journalctl --no-pager -o cat")
    for secret in [CANARY, *secret_lines(result.generated_private_key)]:
        assert secret not in dump
        # sudo logs each command line it runs: nothing secret went through argv
        assert secret not in journal
    assert "generated_private_key" not in result.to_dict()


async def test_second_run_adds_a_new_key_and_keeps_the_old(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    # a lost key is replaced by running again; the answer says the old one stays
    _, first = first_run
    rec = Recorder()
    alice = login(systemd_host, "sudo_password")
    result = await run_setup(alice, GENERATED, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "admin_user")
    assert step.status is StepStatus.SUCCEEDED and step.changed, rec.dump()
    assert "之前生成的密钥仍然有效" in step.message
    assert any(e.code == "admin.old_keys_kept" for e in rec.events)
    new_key, old_key = result.generated_private_key, first.generated_private_key
    assert new_key and old_key and new_key != old_key
    assert len(root(systemd_host, "cat /home/deploy/.ssh/authorized_keys").splitlines()) == 2
    for private in (new_key, old_key):
        async with asyncssh.connect(
            systemd_host.address,
            username="deploy",
            client_keys=[asyncssh.import_private_key(private)],
            known_hosts=None,
            agent_path=None,
        ) as conn:
            assert str((await conn.run("id -un")).stdout).strip() == "deploy"


async def test_a_pasted_key_with_nopasswd(systemd_host: TestHost) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key().decode().strip() + " ops@laptop"
    admin = AdminUser("ops", public_key=public, nopasswd=True)
    options = SetupOptions(apt_update=False, packages=[], firewall=False, admin=admin)
    for expected in (StepStatus.SUCCEEDED, StepStatus.UNCHANGED):
        rec = Recorder()
        result = await run_setup(login(systemd_host, "root"), options, rec.emitter, known(systemd_host))
        assert result.success, rec.dump()
        assert next(s for s in result.steps if s.id == "admin_user").status is expected, rec.dump()
    assert root(systemd_host, "stat -c %a /etc/sudoers.d/90-setupwizard-ops") == "440"
    async with asyncssh.connect(
        systemd_host.address, username="ops", client_keys=[key], known_hosts=None, agent_path=None
    ) as conn:
        assert str((await conn.run("sudo -n id -u")).stdout).strip() == "0"
