"""Steps of the setup plan, and the function that assembles the plan from the options."""

from __future__ import annotations

from setupwizard.provisioning.plan import Plan, Step
from setupwizard.provisioning.steps.admin_user import admin_user_step
from setupwizard.provisioning.steps.apt import INSTALL, UPDATE, UPGRADE, WAIT
from setupwizard.provisioning.steps.autoupdates import auto_updates_step
from setupwizard.provisioning.steps.fail2ban import fail2ban_step
from setupwizard.provisioning.steps.firewall import FIREWALL
from setupwizard.provisioning.steps.hostname import hostname_step, timezone_step
from setupwizard.provisioning.steps.script import SCRIPT
from setupwizard.provisioning.steps.ssh_hardening import ssh_hardening_step
from setupwizard.provisioning.steps.system import CONNECT, SUDO
from setupwizard.provisioning.target import SetupOptions

REQUIRED = ("connect", "sudo")


def default_plan(options: SetupOptions) -> Plan:
    """The chosen steps, in this order (only connect and sudo are always there):

    connect, sudo, apt_wait + apt_update (``apt_update``), apt_upgrade (``upgrade``), packages (a
    non-empty ``packages``), hostname, timezone, auto_updates, fail2ban, admin_user
    (``admin``), firewall (``firewall``), ssh_hardening,
    script (a non-blank ``script``). The defaults give the plan as it always was.
    """
    steps: list[Step] = [CONNECT, SUDO]
    if options.apt_update:
        steps += [WAIT, UPDATE]
    if options.upgrade:
        steps.append(UPGRADE)
    if options.packages:
        steps.append(INSTALL)
    if options.hostname is not None:
        steps.append(hostname_step(options.hostname))
    if options.timezone is not None:
        steps.append(timezone_step(options.timezone))
    if options.auto_updates:
        steps.append(auto_updates_step())
    if options.fail2ban:
        steps.append(fail2ban_step())
    if options.admin is not None:
        steps.append(admin_user_step(options.admin))
    if options.firewall:
        steps.append(FIREWALL)
    if options.ssh_hardening is not None:
        steps.append(ssh_hardening_step(options.ssh_hardening))
    if options.script is not None and options.script.strip():
        steps.append(SCRIPT)
    return Plan(tuple(steps))


__all__ = ["REQUIRED", "default_plan"]
