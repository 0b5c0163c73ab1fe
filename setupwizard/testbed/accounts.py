"""The login accounts every test host has. Passwords are fixed test values, known to the tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """A login on a test host."""

    username: str
    password: str

    def __repr__(self) -> str:  # keep passwords out of pytest output and logs
        return f"Account(username={self.username!r}, password='***')"


ROOT_PASSWORD = "tb-root-Kq7vX2"
ROOT = Account("root", ROOT_PASSWORD)
SUDO_PASSWORD = Account("alice", "tb-alice-Wm4pR9")  # member of group sudo: sudo asks for her password
SUDO_NOPASSWD = Account("bob", "tb-bob-Hs8nL3")  # NOPASSWD: ALL in /etc/sudoers.d/bob
NO_SUDO = Account("carol", "tb-carol-Jd5tB6")  # no sudo at all
ACCOUNTS = (SUDO_PASSWORD, SUDO_NOPASSWD, NO_SUDO)
