"""Found by the lock-out matrix: the run's own SSH connection dies during the hardening, after sshd
reloaded the new settings and before the proof or the rollback could finish. The server undoes it by
itself (a systemd timer armed before the change, stopped once the new login is proven): the earlier
settings come back and brand-new logins on port 22 get in as before. On Debian 12 and 13."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from setupwizard.provisioning import EventType, MemoryKnownHosts, SessionEvent, SetupOptions
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.lockout import DROP_IN, SSHD_SETTINGS, login_runs
from tests.integration.systemd.support import root
from tests.integration.systemd.test_lockout_matrix import KILL_SESSIONS

# the revert fires this many seconds after it is armed (the default is 120)
REVERT_AFTER = 8.0


@pytest.mark.parametrize("release", RELEASES)
async def test_a_connection_killed_mid_hardening_is_undone_by_the_server(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)

    async def kill_the_connection(event: SessionEvent) -> None:
        if event.type is EventType.INFO and event.code == "hardening.proving":
            host.run_root(KILL_SESSIONS)  # sshd already runs with the new settings

    rec = Recorder(kill_the_connection)
    options = SetupOptions(
        apt_update=False,
        packages=[],
        firewall=False,
        admin=AdminUser("deploy", generate_key=True, nopasswd=True),
        ssh_hardening=SshHardening("no", password_authentication=False, port=2222),
    )
    result = await run_setup(
        login(host, "root"),
        options,
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(ssh_revert_after=REVERT_AFTER),
        connect_timeout=5,
    )
    assert result.status == "failed", rec.dump()
    # the server puts the earlier settings back by itself (waits for the drop-in to go, up to a minute)
    root(host, f"for i in $(seq 600); do [ -e {DROP_IN} ] || exit 0; sleep 0.1; done; exit 1")
    root(host, "for i in $(seq 300); do ss -Hltn | grep -q ':22 ' && exit 0; sleep 0.1; done; exit 1")
    assert root(host, SSHD_SETTINGS).split("\n") == [
        "port 22",
        "permitrootlogin yes",
        "passwordauthentication yes",
    ]
    assert await login_runs(host, "root", password=host.root.password) == "0"
