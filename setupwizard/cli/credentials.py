"""The secrets ``setupwizard setup`` needs, read from a hidden prompt or stdin, never from argv.

The one-host run and the many-host run read them the same way; with many hosts they are shared.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import typer


@dataclass(frozen=True)
class LoginSecrets:
    """The login and sudo secrets given once for a run."""

    password: str | None
    private_key: str | None
    passphrase: str | None
    sudo_password: str | None

    def __repr__(self) -> str:  # never print secrets, even in a traceback's locals
        return "LoginSecrets(…)"


def read_login_secrets(key: Path | None, password_stdin: bool, ask_sudo: bool, who: str) -> LoginSecrets:
    """The password (stdin's first line with ``password_stdin``, else a hidden prompt when no ``key``),
    the key's passphrase when it is encrypted, and a separate sudo password when ``ask_sudo``.

    :param who: how the password prompt names the login (``alice@host``, or "every host").
    """
    private_key = key.read_text() if key else None
    password: str | None = None
    passphrase: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif key is None:
        password = typer.prompt(f"Password for {who}", hide_input=True)
    if private_key and needs_passphrase(private_key):
        passphrase = typer.prompt(f"Passphrase for {key}", hide_input=True)
    sudo_password = typer.prompt("sudo password", hide_input=True) if ask_sudo else None
    return LoginSecrets(password or None, private_key, passphrase, sudo_password)


def known_hosts_path() -> Path:
    """``$XDG_CONFIG_HOME/setupwizard/known_hosts.json`` (default ``~/.config/...``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "setupwizard" / "known_hosts.json"


def private_half(public_file: Path) -> str | None:
    """The private key beside ``FILE.pub`` (``FILE``), if it is readable as a key file."""
    if public_file.suffix != ".pub":
        return None
    candidate = public_file.with_suffix("")
    try:
        text = candidate.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    return text if "PRIVATE KEY" in text else None


def needs_passphrase(private_key: str) -> bool:
    """True when the key cannot be read without a passphrase."""
    try:
        asyncssh.import_private_key(private_key)
    except asyncssh.KeyImportError:
        return True  # encrypted (or unreadable: validation will say so)
    return False


def write_private_key(path: Path, private_key: str) -> None:
    """Write a generated private key to a new file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(private_key)
