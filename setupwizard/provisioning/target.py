"""What the engine is asked to do: which server, how to log in, and what to set up."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def secrets(self) -> list[str]:
        """Every secret carried, for redaction."""
        values = [self.password, self.passphrase, self.sudo_password, self.private_key]
        return [v for v in values if v]

    def __repr__(self) -> str:  # never print secrets, even in a traceback's locals
        return f"Target(host={self.host!r}, port={self.port}, username={self.username!r})"


DEFAULT_PACKAGES: tuple[str, ...] = ("ufw", "curl", "ca-certificates", "unattended-upgrades")


@dataclass(frozen=True)
class SetupOptions:
    """What to set up on the server."""

    packages: list[str] = field(default_factory=lambda: list(DEFAULT_PACKAGES))
    firewall_ports: list[str] = field(default_factory=list)
    upgrade: bool = False
    script: str | None = None
