"""Steps of the setup plan, and the function that assembles the plan from the options."""

from __future__ import annotations

from setupwizard.provisioning.plan import Plan, Step
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.steps.admin_user import admin_user_step
from setupwizard.provisioning.steps.apt import install_step, update_step, upgrade_step, wait_step
from setupwizard.provisioning.steps.autoupdates import auto_updates_step
from setupwizard.provisioning.steps.fail2ban import fail2ban_step
from setupwizard.provisioning.steps.firewall import firewall_step
from setupwizard.provisioning.steps.hostname import hostname_step, timezone_step
from setupwizard.provisioning.steps.script import script_step
from setupwizard.provisioning.steps.ssh_hardening_plan import ssh_hardening_step
from setupwizard.provisioning.steps.system import connect_step, sudo_step
from setupwizard.provisioning.target import SetupOptions, Target

REQUIRED = ("connect", "sudo")
# Who the plan is shown for when no server is named yet (the commands then say HOST and USER).
ANY_SERVER = Target(host="HOST", username="USER")


def default_plan(
    options: SetupOptions, target: Target | None = None, settings: PlanSettings | None = None
) -> Plan:
    """The chosen steps, in this order (only connect and sudo are always there):

    connect, sudo, apt_wait + apt_update (``apt_update``), apt_upgrade (``upgrade``), packages (a
    non-empty ``packages``), hostname, timezone, auto_updates, fail2ban, admin_user
    (``admin``), firewall (``firewall``), ssh_hardening,
    script (a non-blank ``script``). The defaults give the plan as it always was.

    Each step's ``commands`` are built from the options (and ``target``'s host, port and user; never its
    secrets) by the same functions its action sends them with, so the plan shows what will run.
    """
    where = target or ANY_SERVER
    tuning = settings or PlanSettings()
    steps: list[Step] = [connect_step(where), sudo_step(where)]
    if options.apt_update:
        steps += [wait_step(tuning), update_step(options, tuning)]
    if options.upgrade:
        steps.append(upgrade_step())
    if options.packages:
        steps.append(install_step(options))
    if options.hostname is not None:
        steps.append(hostname_step(options.hostname))
    if options.timezone is not None:
        steps.append(timezone_step(options.timezone))
    if options.auto_updates:
        steps.append(auto_updates_step())
    if options.fail2ban:
        steps.append(fail2ban_step())
    if options.admin is not None:
        steps.append(admin_user_step(options.admin, where))
    if options.firewall:
        steps.append(firewall_step(options, where, tuning))
    if options.ssh_hardening is not None:
        steps.append(ssh_hardening_step(options, where))
    if options.script is not None and options.script.strip():
        steps.append(script_step(options.script))
    return Plan(tuple(steps))


__all__ = ["ANY_SERVER", "REQUIRED", "default_plan"]
