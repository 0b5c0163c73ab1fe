"""``setupwizard testbed up|down|status``: a real Debian test server on this machine, for people.

The same hosts the test suite uses (package ``setupwizard.testbed``, docs/testbed.md); ``up`` leaves one
running: the quick flavour (no systemd) or the systemd flavour, Debian 12 bookworm or 13 trixie.
"""

from __future__ import annotations

import os

import typer

from setupwizard.cli.root import app
from setupwizard.config import get_settings

testbed_app = typer.Typer(no_args_is_help=True, help="A local Debian test server to try the wizard on.")
app.add_typer(testbed_app, name="testbed")

NEEDS_ROOT = (
    "The testbed needs root (network namespaces, overlay mounts, chroot). "
    "Run: sudo .venv/bin/setupwizard testbed up   (or: sudo make testbed)"
)


def _require_root() -> None:
    if os.geteuid() != 0:
        typer.echo(NEEDS_ROOT, err=True)
        raise typer.Exit(1)


@testbed_app.command()
def up(
    flavour: str = typer.Option(
        "quick",
        "--flavour",
        help="quick (chroot, no systemd) or systemd (boots systemd under systemd-nspawn).",
    ),
    release: str = typer.Option(
        "bookworm", "--release", help="Debian release: bookworm (12) or trixie (13)."
    ),
) -> None:
    """Start one fresh test host that keeps running after this command, and say how to use it."""
    _require_root()
    from setupwizard.testbed import Testbed, TestbedError

    typer.echo("Preparing the testbed (the first run builds a Debian image: about a minute)...")
    try:
        host = Testbed.ensure().new_host(persistent=True, flavour=flavour, release=release)
    except TestbedError as exc:
        typer.echo(f"Could not start a test host: {exc}", err=True)
        raise typer.Exit(1) from exc
    settings = get_settings()
    kind = f"{host.flavour}, Debian {host.release}"
    typer.echo(f"\nTest host {host.name} ({kind}) is up: ssh root@{host.address} (port {host.port})")
    typer.echo("Accounts (test passwords, this machine only):")
    for label, account in (
        ("root", host.root),
        ("sudo with password", host.sudo_password),
        ("sudo without password", host.sudo_nopasswd),
        ("no sudo", host.no_sudo),
    ):
        typer.echo(f"  {account.username:<6} {account.password:<18} {label}")
    typer.echo(
        f"\nTry the wizard: run `make run`, open http://{settings.host}:{settings.port}, "
        f"add server {host.address} port {host.port}, user root, password {host.root.password}."
    )
    typer.echo("Remove it with: sudo .venv/bin/setupwizard testbed down")


@testbed_app.command()
def down(
    name: str | None = typer.Argument(None, help="Only this host (e.g. swtb-0)."),
    all_hosts: bool = typer.Option(
        False, "--all", help="Also remove hosts of test runs that are still going (they will fail)."
    ),
) -> None:
    """Stop and delete the hosts `up` started, and leftovers (the image and apt cache stay)."""
    _require_root()
    from setupwizard.testbed import Testbed

    names = Testbed(image=None).destroy_all(include_running_tests=all_hosts, only=name)
    typer.echo(f"Removed: {', '.join(names)}" if names else "No testbed hosts were running.")


@testbed_app.command()
def status() -> None:
    """List testbed hosts on this machine."""
    from setupwizard.testbed import Testbed

    hosts = Testbed(image=None).hosts()
    if not hosts:
        typer.echo("No testbed hosts.")
        return
    for host in hosts:
        record = host.record
        state = "stale" if record.stale() else "running"
        owner = "testbed up" if record.persistent else f"process {record.owner.pid}"
        kind = f"{host.flavour}/{host.release}"
        typer.echo(f"{host.name:<10} {host.address:<14} {state:<8} {kind:<17} owner: {owner}")
