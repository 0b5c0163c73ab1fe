"""Benchmark 5's pyinfra peer: ufw installed, 22 and 80 allowed, incoming denied, enabled.

pyinfra has no ufw operation, so the rules are one shell operation.
"""

from pyinfra.operations import apt, server

apt.packages(name="Install ufw", packages=["ufw"], update=True)
server.shell(
    name="Allow 22 and 80, deny the rest, enable",
    commands=["ufw allow 22/tcp", "ufw allow 80/tcp", "ufw default deny incoming", "ufw --force enable"],
)
