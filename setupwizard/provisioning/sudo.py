"""Find out how the login user becomes root, verifying a sudo password at most once.

Modes: logged in as root (no sudo), passwordless sudo (``sudo -n true`` works), or password sudo,
verified by running ``true`` through ``sudo -k -S -p <unique prompt>``: the runner answers the
prompt through the PTY's stdin (echo off). A second prompt means the password was wrong: the
command is stopped and :class:`SudoRefusedError` raised, so one setup never loops into a lock-out.
"""

from __future__ import annotations

import shlex

from setupwizard.provisioning.errors import StepCancelled, SudoRefusedError
from setupwizard.provisioning.facts import HostFacts, read_facts
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.remote import Remote
from setupwizard.provisioning.result import SudoCredential, SudoMode

_NO_RIGHTS = ("is not in the sudoers file", "is not allowed to execute", "may not run sudo")


async def detect_sudo(
    remote: Remote, username: str, password: str | None, facts: HostFacts | None = None
) -> SudoCredential:
    """Establish how ``username`` becomes root; the credential is what later root commands pass to ``run``.

    :param password: the sudo password (``sudo_password`` if given, else the login password).
    :param facts: what :func:`read_facts` found (read now when not given).
    :raises SudoRefusedError: no sudo, sudo not installed, or a wrong password (after one try).
    """
    if facts is None:
        facts = await read_facts(remote)
    if facts.is_root:
        return SudoCredential(sudo_user=username, sudo_password="", mode=SudoMode.ROOT)
    if not facts.has_sudo:
        raise SudoRefusedError(msg("error.sudo_no_sudo", user=username))
    if facts.sudo_n_status == 0:
        return SudoCredential(sudo_user=username, sudo_password="", mode=SudoMode.PASSWORDLESS)
    if any(text in facts.sudo_n_output for text in _NO_RIGHTS):
        raise SudoRefusedError(msg("error.sudo_no_rights", user=username))
    if not password:
        raise SudoRefusedError(msg("error.sudo_needs_password", user=username))
    credential = SudoCredential(sudo_user=username, sudo_password=password, mode=SudoMode.PASSWORD)
    result = await remote.run("true", sudo=credential)
    text = "\n".join(result.lines)
    if result.ok and result.prompts == 1:
        return credential
    if any(needle in text for needle in _NO_RIGHTS):
        raise SudoRefusedError(msg("error.sudo_no_rights", user=username))
    if result.cancelled:
        raise StepCancelled()
    if not result.tail:
        raise SudoRefusedError(
            msg("error.sudo_failed", detail=msg("command.exit_status", status=result.exit_status))
        )
    raise SudoRefusedError(msg("error.sudo_failed", detail=shlex.quote(result.tail[-1])))
