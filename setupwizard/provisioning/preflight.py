"""Checks of the whole plan before its first change: refuse it all, naming what to add, or let it run.

Two kinds, both before anything on the server changes:

- :func:`check_plan` needs only the login and the options (the service answers 422 with it, the CLI
  prints it, the engine checks again before connecting): a hardening must have a login it can prove
  the new way, and a plan that turns root login off must leave a proven way to root.
- :func:`check_server` needs what the connect step read (:class:`HostFacts`, no root): the new SSH
  port must be free (``ss -ltn``), and the steps that need systemd need systemd as PID 1.

A way to root after the hardening is one of: the new admin user with NOPASSWD or with a sudo password
set on this run, whose key login this run proves (its generated key, or the pasted key's private half
that this run holds); this run's own login as a sudoer other than root, still allowed by the new
settings (a key, or password login kept); root itself with a key when root keeps key logins
(``prohibit-password``).
"""

from __future__ import annotations

import asyncssh

from setupwizard.provisioning.errors import InvalidInputError, ProvisioningError
from setupwizard.provisioning.facts import HostFacts
from setupwizard.provisioning.messages import Msg, msg
from setupwizard.provisioning.target import AdminUser, SetupOptions, SshHardening, Target

__all__ = [
    "PlanRefusedError",
    "ServerRefusedError",
    "admin_proof_key",
    "check_plan",
    "check_server",
    "needs_systemd",
    "person_proves",
]


class PlanRefusedError(InvalidInputError):
    """The plan, as a whole, could not be carried out without risking a lock-out: 422 naming ``field``."""

    def __init__(self, field: str, message: Msg) -> None:
        super().__init__(field, str(message))
        self.msg = msg("preflight.field", field=field, reason=message)


class ServerRefusedError(ProvisioningError):
    """What the connect step read rules the plan out; nothing was changed. ``field`` names the option."""

    code = "plan_refused"

    def __init__(self, field: str, message: Msg) -> None:
        super().__init__(msg("preflight.refused", field=field, reason=message))
        self.field = field


def same_key(private_key: str | None, passphrase: str | None, public_key: str) -> bool:
    """Whether ``private_key`` is the other half of ``public_key`` (an OpenSSH line)."""
    if not private_key:
        return False
    try:
        mine = asyncssh.import_private_key(private_key, passphrase or None)
    except (asyncssh.KeyImportError, ValueError, TypeError):
        return False
    return mine.export_public_key("openssh").decode().split()[:2] == public_key.split()[:2]


def admin_proof_key(target: Target, admin: AdminUser) -> tuple[str, str | None] | None:
    """The private key (and passphrase) this run can prove the admin's pasted key with, if any: the one
    given with the admin user (the CLI finds it next to the ``.pub``), or this session's own."""
    if not admin.public_key:
        return None
    if admin.private_key and same_key(admin.private_key, admin.passphrase, admin.public_key):
        return admin.private_key, admin.passphrase
    if same_key(target.private_key, target.passphrase, admin.public_key):
        return target.private_key or "", target.passphrase
    return None


def admin_provable(target: Target, admin: AdminUser | None) -> bool:
    """This run can log in as the admin user from outside: a generated key, or a pasted key it holds
    (or whose private half the ssh-agent it was given holds)."""
    if admin is None:
        return False
    held = admin_proof_key(target, admin) is not None or bool(admin.public_key and admin.agent_path)
    return admin.generate_key or held


def own_login_survives(target: Target, hardening: SshHardening) -> bool:
    """This run's own login still gets in under the new settings."""
    if target.username == "root":
        return hardening.permit_root_login == "prohibit-password" and bool(target.private_key)
    return bool(target.private_key) or hardening.password_authentication


def person_proves(target: Target, options: SetupOptions) -> str | None:
    """The user whose login the person proves from their own terminal (confirm-or-revert), or None.

    Only with ``ssh_hardening.confirm_login``, and only when this run cannot prove a login itself: the
    admin user (a pasted key this run does not hold), else this run's own user while the new settings
    still let it in with a key (not root with ``PermitRootLogin no``).
    """
    hardening = options.ssh_hardening
    if hardening is None or not hardening.confirm_login:
        return None
    admin = options.admin
    if admin_provable(target, admin) or own_login_survives(target, hardening):
        return None
    if admin is not None:
        return admin.username
    if target.username == "root" and hardening.permit_root_login == "no":
        return None
    return target.username


def check_plan(target: Target, options: SetupOptions) -> None:
    """Refuse a hardening this run cannot prove, or one that leaves no proven way to root.

    With ``ssh_hardening.confirm_login`` a login the person proves (:func:`person_proves`) counts as
    proven: the run waits for their confirmation and rolls back without it.

    :raises PlanRefusedError: naming the field to change, and saying what to add.
    """
    hardening = options.ssh_hardening
    if hardening is None:
        return
    admin = options.admin
    person = person_proves(target, options)
    provable = admin_provable(target, admin) or (admin is not None and person == admin.username)
    own = own_login_survives(target, hardening) or (person is not None and person == target.username)
    if not provable and not own:
        field = (
            "ssh_hardening.permit_root_login"
            if target.username == "root" and not (admin is None and hardening.confirm_login)
            else "ssh_hardening.password_authentication"
        )
        raise PlanRefusedError(field, msg("preflight.no_proof"))
    admin_to_root = admin is not None and provable and (admin.nopasswd or admin.sudo_password is not None)
    sudoer_to_root = target.username != "root" and own
    root_kept = target.username == "root" and own
    if admin_to_root or sudoer_to_root or root_kept:
        return
    if admin is not None and provable:
        raise PlanRefusedError("admin.sudo_password", msg("preflight.admin_no_sudo", user=admin.username))
    raise PlanRefusedError("admin", msg("preflight.no_way_to_root"))


def needs_systemd(options: SetupOptions) -> list[str]:
    """The chosen options whose steps only work with systemd as PID 1."""
    return ["fail2ban"] if options.fail2ban else []


def check_server(facts: HostFacts, target: Target, options: SetupOptions) -> None:
    """Refuse the plan when the server rules it out (a taken port, no systemd); nothing was changed.

    :raises ServerRefusedError: naming the option.
    """
    hardening = options.ssh_hardening
    current = facts.ssh_port or target.port
    if hardening is not None and hardening.port is not None and hardening.port != current:
        if hardening.port in facts.listening:
            raise ServerRefusedError("ssh_hardening.port", msg("preflight.port_in_use", port=hardening.port))
    if facts.systemd is False:
        for option in needs_systemd(options):
            raise ServerRefusedError(option, msg("preflight.no_systemd", option=option))
