"""The SSH hardening step as the plan shows it: the drop-in as written, the reload, and the login that
must work after (the action is :func:`~setupwizard.provisioning.steps.ssh_hardening.harden_ssh`)."""

from __future__ import annotations

from setupwizard.provisioning.plan import Command, Policy, Step
from setupwizard.provisioning.preflight import person_proves
from setupwizard.provisioning.steps.ssh_hardening import harden_ssh
from setupwizard.provisioning.steps.sshd_commands import (
    DROP_IN,
    RELOAD_COMMAND,
    RESTORE,
    REVERT_UNIT,
    port_rule,
    write_command,
)
from setupwizard.provisioning.steps.system import login_command
from setupwizard.provisioning.target import SetupOptions, Target


def ssh_hardening_step(options: SetupOptions, target: Target) -> Step:
    """The SSH hardening step: the drop-in as written, the reload, and the login that must work after."""
    hardening = options.ssh_hardening
    assert hardening is not None  # the plan has this step only when asked
    port = hardening.port or target.port
    commands: list[Command] = []
    if hardening.port is not None:
        commands.append(
            Command(f"ufw {port_rule(hardening.port)}", "only when ufw is active; before sshd moves")
        )
    commands += [
        Command(
            write_command(hardening),
            f"where systemd runs, a timer ({REVERT_UNIT}) that puts the earlier drop-in back and restarts "
            "sshd is armed first and stopped once the new login is proven (a dead man's switch); "
            "skipped, with the rest, when the drop-in is as written and sshd -T shows it; "
            + (
                "refused when ssh.socket is active (Ubuntu 22.10+: sshd listens where the socket says)"
                if hardening.port is not None
                else "the earlier drop-in is kept beside it until the proof"
            ),
        ),
        Command("sshd -t"),
        Command(RELOAD_COMMAND, "reloads sshd and waits for its 'Server listening' journal line"),
    ]
    admin = options.admin
    person = person_proves(target, options)
    if person is not None:
        who = person
        how = (
            f"by you, from your own terminal: the run waits up to {hardening.confirm_timeout:g} s for your "
            "confirmation (confirm_login) and rolls back without it"
        )
    elif admin is not None and admin.generate_key:
        who, how = admin.username, "with the admin user's new key"
    elif hardening.password_authentication:
        who, how = target.username, "with this run's own login"
    else:
        who, how = target.username, "with this run's own key (password login goes off)"
    root_way = ""
    if admin is not None and (admin.nopasswd or admin.sudo_password is not None):
        root_way = " and becomes root as the admin user (sudo -n true, or sudo -S with its new password)"
    commands.append(
        Command(
            login_command(Target(target.host, who, port=port), "true"),
            f"a brand-new login the new way, {how},{root_way} while this session stays open. The whole plan "
            "is refused before any change when no such login, or no way to root, can be proven. If it fails: "
            f"{RESTORE}, mkdir -p /run/sshd, sshd -t, the reload again (a restart when sshd died)"
            + (
                f", ufw --force delete {port_rule(hardening.port)} when this step added it"
                if hardening.port is not None
                else ""
            )
            + ", a brand-new login the old way, and the step fails"
            + (
                f". Once it works: ufw --force delete {port_rule(target.port)} (the old port), unless "
                "firewall_ports asks for that port"
                if hardening.port is not None
                else ""
            ),
        )
    )
    return Step(
        id="ssh_hardening",
        name="加固 SSH",
        commands=tuple(commands),
        check=f"{DROP_IN} as written and sshd -T shows its settings",
        policy=Policy.ABORT,
        action=harden_ssh,
    )
