"""Which servers ``setupwizard setup`` runs on: its HOST arguments or ``--inventory FILE``.

Every problem is printed (each naming its argument or line) and the command stops with exit code 2
before anything connects: a run on half of a mistyped inventory would be worse than none.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import typer

from setupwizard.cli.credentials import LoginSecrets
from setupwizard.cli.fleet_run import FleetHost, log_file_names
from setupwizard.provisioning import Target
from setupwizard.provisioning.inventory import (
    Inventory,
    InventoryProblem,
    InventoryTarget,
    parse_host_spec,
    parse_inventory,
    report_duplicates,
)

USAGE_ERROR = 2


def resolve_targets(hosts: list[str], inventory: Path | None, user: str, port: int) -> list[InventoryTarget]:
    """The servers asked for, each with its user and port (``--user``/``--port`` where none was given)."""
    if hosts and inventory is not None:
        _stop(["give HOST arguments or --inventory FILE, not both"])
    if inventory is not None:
        try:
            text = inventory.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _stop([f"cannot read {inventory}: {exc.strerror if isinstance(exc, OSError) else exc}"])
        found = parse_inventory(text)
        where = str(inventory)
    elif hosts:
        found = _from_arguments(hosts)
        where = "HOST argument"
    else:
        _stop(["give a HOST (or several), or --inventory FILE"])
    found.targets = [replace(t, username=t.username or user, port=t.port or port) for t in found.targets]
    report_duplicates(found)  # again: --port may have made two entries one server
    for warning in found.warnings:
        typer.echo(f"{where}: {warning} (warning)", err=True)
    if found.errors:
        _stop([f"{where}: {error}" for error in found.errors])
    if not found.targets:
        _stop([f"{where}: no host in it"])
    return found.targets


def refuse_for_many(confirm_login: bool, admin_key_out: Path | None, hostname: str | None) -> None:
    """Options that mean one server: refused for a many-host run, before anything connects."""
    problems = []
    if confirm_login:
        problems.append("--confirm-login asks at a prompt for one server; prove the login with the key file")
    if admin_key_out is not None:
        problems.append("--admin-key-out writes one key file; give --admin-key FILE.pub for many hosts")
    if hostname is not None:
        problems.append("--hostname would give every host the same name; set it per host")
    if problems:
        _stop([f"{problem} (many hosts)" for problem in problems])


def fleet_hosts(found: list[InventoryTarget], secrets: LoginSecrets, log_dir: Path) -> list[FleetHost]:
    """A :class:`FleetHost` per target, sharing the run's secrets, each with its log file in ``log_dir``."""
    names = [t.name for t in found]
    return [
        FleetHost(
            name=t.name,
            target=Target(
                host=t.host,
                port=t.port or 22,
                username=t.username or "root",
                password=secrets.password,
                private_key=secrets.private_key,
                passphrase=secrets.passphrase,
                sudo_password=secrets.sudo_password,
            ),
            log_path=log_dir / file_name,
        )
        for t, file_name in zip(found, log_file_names(names), strict=True)
    ]


def _from_arguments(hosts: list[str]) -> Inventory:
    found = Inventory()
    for number, spec in enumerate(hosts, start=1):
        try:
            found.targets.append(parse_host_spec(spec, number, name=spec))
        except ValueError as exc:
            if len(hosts) == 1:  # one host: the engine refuses it as it always did (exit 1, field named)
                found.targets.append(InventoryTarget(name=spec, host=spec, line=number))
            else:
                found.errors.append(InventoryProblem(number, f"{spec!r}: {exc}"))
    return found


def _stop(problems: list[str]) -> NoReturn:
    for problem in problems:
        typer.echo(problem, err=True)
    typer.echo("Nothing was run.", err=True)
    raise typer.Exit(USAGE_ERROR)
