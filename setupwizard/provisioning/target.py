"""What the engine is asked to do: which server, how to log in, and what to set up."""

from __future__ import annotations

from dataclasses import dataclass, field

from setupwizard.provisioning.address import ip_literal


@dataclass(frozen=True)
class Target:
    """A server and the credentials to reach it. Secrets stay in memory and are redacted everywhere."""

    host: str
    username: str
    port: int = 22
    password: str | None = None
    private_key: str | None = None
    passphrase: str | None = None
    sudo_password: str | None = None
    host_key_fingerprint: str | None = None  # optional pin, "SHA256:…"
    # log in with the ssh-agent key whose public half is ``agent_public_key`` (the CLI's proof of an admin
    # login); the agent's socket path and a public key are no secrets
    agent_path: str | None = None
    agent_public_key: str | None = None

    def __post_init__(self) -> None:
        # An address gets its one spelling here (``::ffff:198.18.0.10`` is 198.18.0.10), so what is shown,
        # stored and connected to is the same; the lock, known hosts, saved sudo rows and the deny list
        # key on canonical_host() of it (which also folds a name's case). Validation refuses the rest.
        address = ip_literal(self.host) if isinstance(self.host, str) else None
        if address is not None:
            object.__setattr__(self, "host", str(address))

    def secrets(self) -> list[str]:
        """Every secret carried, for redaction."""
        values = [self.password, self.passphrase, self.sudo_password, self.private_key]
        return [v for v in values if v]

    def __repr__(self) -> str:  # never print secrets, even in a traceback's locals
        return f"Target(host={self.host!r}, port={self.port}, username={self.username!r})"


DEFAULT_PACKAGES: tuple[str, ...] = ("ufw", "curl", "ca-certificates", "unattended-upgrades")


@dataclass(frozen=True)
class AdminUser:
    """A login user to create, in the ``sudo`` group, with an SSH key.

    :param username: the new user's name.
    :param public_key: an OpenSSH public key line to install (pasted by the person).
    :param generate_key: instead, make a new ed25519 key pair; the private key is handed back once in
        :attr:`SetupResult.generated_private_key` and never stored or logged.
    :param sudo_password: optional password for the user (sudo asks for it); a secret.
    :param nopasswd: sudo without a password (a ``/etc/sudoers.d`` drop-in), instead of a password.
    :param private_key: the private half of ``public_key``, when the caller holds it (the CLI finds it
        next to the ``.pub`` file): this run then proves the new login with it. A secret, never sent.
    :param passphrase: that private key's passphrase; a secret.
    :param agent_path: the ssh-agent socket that holds the private half of ``public_key`` (the CLI checks
        ``SSH_AUTH_SOCK`` when no private key lies next to the ``.pub``): this run proves the new login
        with that agent key.
    :param keep_in_vault: with ``generate_key``, the service also keeps the key in its owner's vault
        (the engine ignores it).
    """

    username: str
    public_key: str | None = None
    generate_key: bool = False
    sudo_password: str | None = None
    nopasswd: bool = False
    private_key: str | None = None
    passphrase: str | None = None
    agent_path: str | None = None
    keep_in_vault: bool = False

    def __repr__(self) -> str:  # the password never shows up in a traceback
        return f"AdminUser(username={self.username!r}, generate_key={self.generate_key})"


@dataclass(frozen=True)
class SshHardening:
    """The sshd drop-in to write.

    :param permit_root_login: ``no`` or ``prohibit-password``.
    :param password_authentication: keep password logins (False: keys only, refused unless a key login
        has been proven on this run).
    :param port: move sshd to this port (its ufw rule is added first); None keeps the port.
    :param confirm_login: when this run cannot prove the new login itself (a pasted key whose private
        half it does not hold), apply the settings anyway and let the person prove it: they try the
        shown ``ssh -p PORT user@host`` from their own terminal and confirm within ``confirm_timeout``
        seconds, or the settings are rolled back over the still-open connection ("commit confirmed").
    :param confirm_timeout: seconds to wait for that confirmation (see ``CONFIRM_TIMEOUT_RANGE``).
    """

    permit_root_login: str = "no"
    password_authentication: bool = False
    port: int | None = None
    confirm_login: bool = False
    confirm_timeout: float = 300.0


CONFIRM_TIMEOUT_RANGE = (5, 3600)
"""Bounds of :attr:`SshHardening.confirm_timeout`, in seconds (a few seconds lets tests time out)."""


@dataclass(frozen=True)
class SetupOptions:
    """What to set up on the server. Every step but connect and sudo is optional.

    The defaults are the plan as it always was: apt update, the default packages and the firewall.
    """

    packages: list[str] = field(default_factory=lambda: list(DEFAULT_PACKAGES))
    firewall_ports: list[str] = field(default_factory=list)
    upgrade: bool = False
    script: str | None = None
    apt_update: bool = True  # wait for other apt/dpkg runs, then apt-get update
    firewall: bool = True  # ufw; off for a server behind a cloud firewall, or a Docker host
    hostname: str | None = None
    timezone: str | None = None
    fail2ban: bool = False
    auto_updates: bool = False  # unattended-upgrades for security updates
    admin: AdminUser | None = None
    ssh_hardening: SshHardening | None = None

    def secrets(self) -> list[str]:
        """Every secret the options carry, for redaction."""
        if self.admin is None:
            return []
        values = [self.admin.sudo_password, self.admin.private_key, self.admin.passphrase]
        return [value for value in values if value]
