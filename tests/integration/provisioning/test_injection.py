"""Injection payloads in every field are refused before anything reaches the real server."""

from __future__ import annotations

from setupwizard.provisioning import MemoryKnownHosts, run_setup, test_connection
from setupwizard.testbed.host import TestHost
from tests.unit.provisioning.payloads import FIELDS, PAYLOADS, PWNED, injected

from .recorder import Recorder, login


async def test_payloads_in_every_field_run_nothing_on_the_server(test_host: TestHost) -> None:
    log_before = ssh_sessions(test_host)
    for field in [*FIELDS, "script"]:
        for payload in PAYLOADS:
            target, options = injected(field, payload, host=test_host.address)
            rec = Recorder()
            result = await run_setup(target, options, rec.emitter, MemoryKnownHosts(), connect_timeout=3)
            assert result.status == "failed" and result.error_code == "invalid_input", (field, payload)
            assert result.message.startswith(f"输入无效: {field}:"), result.message
            rec.assert_well_formed()
    assert test_host.run_root(f"test ! -e {PWNED}").returncode == 0
    # no SSH session reached sshd: validation ran before any login or key exchange
    assert ssh_sessions(test_host) == log_before
    # and the check would have seen one: a valid connection shows up in the same log
    await test_connection(login(test_host, "root"), MemoryKnownHosts())
    assert len(ssh_sessions(test_host)) > len(log_before)


def ssh_sessions(host: TestHost) -> list[str]:
    """sshd log lines of SSH sessions (the testbed's TCP readiness probes log something else)."""
    words = ("Accepted", "Failed", "preauth", "Disconnected", "Invalid user")
    log = host.run_root("cat /var/log/sshd.log").stdout
    return [line for line in log.splitlines() if any(word in line for word in words)]
