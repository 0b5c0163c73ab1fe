"""The plan preview says what really runs: a real setup on the test server, with every command the engine
sends over SSH captured from asyncssh's own log of exec requests, holds the preview's firewall and
package commands exactly (and the preview shows the chosen port and package)."""

from __future__ import annotations

import logging
import shlex

from setupwizard.provisioning import MemoryKnownHosts, SetupOptions, run_setup
from setupwizard.provisioning.remote import NO_INPUT
from setupwizard.provisioning.steps import default_plan
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login

OPTIONS = SetupOptions(packages=["tree"], firewall_ports=["8443/tcp"])


class SentCommands(logging.Handler):
    """Every exec request asyncssh sends (it logs each as ``  Command: …`` at INFO)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.commands: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        _, marker, command = record.getMessage().partition("]   Command: ")  # after "[conn=1, chan=0]"
        if marker:
            self.commands.append(command)


async def test_the_previewed_firewall_and_package_commands_are_the_ones_sent(test_host: TestHost) -> None:
    target = login(test_host, "sudo_password")
    plan = default_plan(OPTIONS, target)
    [ufw] = [c.run for c in plan.steps[-1].commands if c.run.startswith("ufw allow")]
    [install] = [c.run for s in plan.steps if s.id == "packages" for c in s.commands]
    assert "ufw allow 8443/tcp" in ufw and install.endswith(" install -- tree")

    sent = SentCommands()
    asyncssh_log = logging.getLogger("asyncssh")
    level = asyncssh_log.level
    asyncssh_log.addHandler(sent)
    asyncssh_log.setLevel(logging.INFO)
    try:
        rec = Recorder()
        result = await run_setup(target, OPTIONS, rec.emitter, MemoryKnownHosts())
    finally:
        asyncssh_log.removeHandler(sent)
        asyncssh_log.setLevel(level)
    assert result.success, rec.dump()
    assert [s.changed for s in result.steps if s.id in ("packages", "firewall")] == [True, True]
    # Each root command goes out as sudo … -- bash -c '<stdin from /dev/null>\n<the command>'.
    for previewed in (ufw, install):
        wrapped = f"-- bash -c {shlex.quote(NO_INPUT + previewed)}"
        assert any(command.endswith(wrapped) for command in sent.commands), (previewed, sent.commands)
    # The proof of the lesson: a choice the preview did not show is not what ran.
    other = default_plan(SetupOptions(packages=["tree"], firewall_ports=["8444/tcp"]), target)
    [other_ufw] = [c.run for c in other.steps[-1].commands if c.run.startswith("ufw allow")]
    assert not any(shlex.quote(NO_INPUT + other_ufw) in command for command in sent.commands)
