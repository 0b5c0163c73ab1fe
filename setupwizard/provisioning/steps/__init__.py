"""Steps of the default setup plan, and the function that assembles it from the options."""

from __future__ import annotations

from setupwizard.provisioning.plan import Plan, Step
from setupwizard.provisioning.steps.apt import INSTALL, UPDATE, UPGRADE, WAIT
from setupwizard.provisioning.steps.firewall import FIREWALL
from setupwizard.provisioning.steps.script import SCRIPT
from setupwizard.provisioning.steps.system import CONNECT, SUDO
from setupwizard.provisioning.target import SetupOptions


def default_plan(options: SetupOptions) -> Plan:
    """The checklist for Debian and Ubuntu: connect, sudo, apt, firewall, then the optional script.

    ``apt_upgrade`` is included only when ``options.upgrade``; ``script`` only when a script is given.
    """
    steps: list[Step] = [CONNECT, SUDO, WAIT, UPDATE]
    if options.upgrade:
        steps.append(UPGRADE)
    steps += [INSTALL, FIREWALL]
    if options.script is not None and options.script.strip():
        steps.append(SCRIPT)
    return Plan(tuple(steps))


__all__ = ["default_plan"]
