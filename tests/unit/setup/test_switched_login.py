"""Which login the saved server entry switches to after SSH hardening, and with which sudo mode."""

from __future__ import annotations

from typing import Any

import pytest

from setupwizard.provisioning.result import SessionStatus, SetupResult, SudoCredential, SudoMode
from setupwizard.provisioning.target import AdminUser, SetupOptions, SshHardening, Target
from setupwizard.servers.repository import SwitchedLogin
from setupwizard.setup.session_end import switched_login

FINGERPRINT = "SHA256:n3xTn6a9JYb0QnqOi4J5FMmkxAzHrIbrGhvZgRsLwOk"
ROOT = Target("web-1", "root", password="root-pw")
BOB = Target("web-1", "bob", private_key="KEY")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@laptop"


def result(login_after: dict[str, Any] | None, sudo: SudoCredential) -> SetupResult:
    return SetupResult(
        message="",
        status=SessionStatus.SUCCEEDED,
        sudo=sudo,
        host_key_fingerprint=FINGERPRINT,
        login_after=login_after,
    )


def options(admin: AdminUser | None) -> SetupOptions:
    return SetupOptions(admin=admin, ssh_hardening=SshHardening(port=2222))


def after(user: str, port: int = 2222) -> dict[str, Any]:
    return {"username": user, "port": port, "auth": "key", "generated_key": False}


AS_ROOT = SudoCredential("root", "", SudoMode.ROOT)


@pytest.mark.parametrize(
    ("target", "admin", "login_after", "sudo", "expected"),
    [
        (  # the new admin user with NOPASSWD: passwordless
            ROOT,
            AdminUser("deploy", generate_key=True, nopasswd=True),
            after("deploy"),
            AS_ROOT,
            SwitchedLogin(22, 2222, "deploy", "", FINGERPRINT),
        ),
        (  # the new admin user with a sudo password: that password (encrypted by the store)
            ROOT,
            AdminUser("deploy", public_key=KEY, sudo_password="admin-sudo-pw"),
            after("deploy", 22),
            AS_ROOT,
            SwitchedLogin(22, 22, "deploy", "admin-sudo-pw", FINGERPRINT),
        ),
        (  # the new admin user with neither: no sudo mode is known, so no row
            ROOT,
            AdminUser("deploy", public_key=KEY),
            after("deploy"),
            AS_ROOT,
            SwitchedLogin(22, 2222, None, "", FINGERPRINT),
        ),
        (  # the run's own login, moved: the sudo mode the run found
            BOB,
            None,
            after("bob"),
            SudoCredential("bob", "bob-sudo-pw", SudoMode.PASSWORD),
            SwitchedLogin(22, 2222, "bob", "bob-sudo-pw", FINGERPRINT),
        ),
        (
            BOB,
            None,
            after("bob"),
            SudoCredential("bob", "", SudoMode.PASSWORDLESS),
            SwitchedLogin(22, 2222, "bob", "", FINGERPRINT),
        ),
    ],
)
def test_the_saved_entry_takes_the_new_login_and_its_sudo_mode(
    target: Target,
    admin: AdminUser | None,
    login_after: dict[str, Any],
    sudo: SudoCredential,
    expected: SwitchedLogin,
) -> None:
    assert switched_login(target, options(admin), result(login_after, sudo), 22) == expected


def test_without_a_hardened_login_nothing_switches() -> None:
    assert switched_login(ROOT, options(None), result(None, AS_ROOT), 22) is None
    assert switched_login(ROOT, options(None), result({"username": "x"}, AS_ROOT), 22) is None


def test_the_switched_login_never_shows_its_password() -> None:
    login = SwitchedLogin(22, 2222, "deploy", "admin-sudo-pw", FINGERPRINT)
    assert "admin-sudo-pw" not in repr(login) and "admin-sudo-pw" not in str(login)
