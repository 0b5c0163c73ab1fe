"""The SSH hardening step as the plan shows it: the drop-in as written, the reload, and the login that
must work after (the action is :func:`~setupwizard.provisioning.steps.ssh_hardening.harden_ssh`)."""

from __future__ import annotations

from setupwizard.provisioning.messages import Msg, msg
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
        commands.append(Command(f"ufw {port_rule(hardening.port)}", msg("plan.note.hardening_port")))
    commands += [
        Command(
            write_command(hardening),
            msg(
                "plan.note.hardening_write",
                unit=REVERT_UNIT,
                tail=msg(
                    "plan.note.hardening_socket" if hardening.port is not None else "plan.note.hardening_keep"
                ),
            ),
        ),
        Command("sshd -t"),
        Command(RELOAD_COMMAND, msg("plan.note.hardening_reload")),
    ]
    admin = options.admin
    person = person_proves(target, options)
    if person is not None:
        who = person
        how = msg("plan.note.hardening_by_person", seconds=f"{hardening.confirm_timeout:g}")
    elif admin is not None and admin.generate_key:
        who, how = admin.username, msg("plan.note.hardening_by_admin_key")
    elif hardening.password_authentication:
        who, how = target.username, msg("plan.note.hardening_by_login")
    else:
        who, how = target.username, msg("plan.note.hardening_by_key")
    root_way: Msg | str = ""
    if admin is not None and (admin.nopasswd or admin.sudo_password is not None):
        root_way = msg("plan.note.hardening_root_way")
    commands.append(
        Command(
            login_command(Target(target.host, who, port=port), "true"),
            msg(
                "plan.note.hardening_proof",
                how=how,
                root_way=root_way,
                restore=RESTORE,
                ufw_undo=msg("plan.note.hardening_ufw_undo", rule=port_rule(hardening.port))
                if hardening.port is not None
                else "",
                old_port=msg("plan.note.hardening_old_port", rule=port_rule(target.port))
                if hardening.port is not None
                else "",
            ),
        )
    )
    return Step(
        id="ssh_hardening",
        name="加固 SSH",
        commands=tuple(commands),
        check=msg("plan.check.hardening", drop_in=DROP_IN),
        policy=Policy.ABORT,
        action=harden_ssh,
    )
