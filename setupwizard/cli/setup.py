"""``setupwizard setup HOST``: run the default setup plan from a terminal, with live output.

Passwords come from a hidden prompt or ``--password-stdin``, never from argv. Host keys are
remembered in ``~/.config/setupwizard/known_hosts.json`` (policy accept-new). Exit code 0 on
success, 1 on failure or cancel. ``--lang en`` shows the wizard's own lines in English (output
printed by the server's programs stays as printed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Annotated

import asyncssh
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from setupwizard.cli.root import app
from setupwizard.provisioning import (
    DEFAULT_PACKAGES,
    EventEmitter,
    EventType,
    FileKnownHosts,
    Level,
    SessionEvent,
    SetupOptions,
    Target,
    run_setup,
)
from setupwizard.provisioning.messages import LANGS, Lang, render

_STYLES = {Level.SUCCESS: "green", Level.WARNING: "yellow", Level.ERROR: "red", Level.INFO: ""}


def known_hosts_path() -> Path:
    """``$XDG_CONFIG_HOME/setupwizard/known_hosts.json`` (default ``~/.config/...``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "setupwizard" / "known_hosts.json"


def split_values(values: list[str] | None) -> list[str]:
    """Accept ``--packages a b``-style repeats and ``a,b`` lists alike."""
    out: list[str] = []
    for value in values or []:
        out.extend(part for part in value.replace(",", " ").split() if part)
    return out


def _needs_passphrase(private_key: str) -> bool:
    try:
        asyncssh.import_private_key(private_key)
    except asyncssh.KeyImportError:
        return True  # encrypted (or unreadable: validation will say so)
    return False


@app.command()
def setup(
    host: Annotated[str, typer.Argument(help="Server address: IPv4, IPv6 or DNS name.")],
    port: Annotated[int, typer.Option("--port", "-p", help="SSH port.")] = 22,
    user: Annotated[str, typer.Option("--user", "-u", help="Login user.")] = "root",
    key: Annotated[
        Path | None, typer.Option("--key", "-i", help="Private key file (OpenSSH or PEM).")
    ] = None,
    packages: Annotated[
        list[str] | None,
        typer.Option("--packages", help="Packages to install (repeat or comma-separated)."),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option("--allow", help="Firewall port to open: 80, 80/tcp, 60000:61000/udp (repeatable)."),
    ] = None,
    script: Annotated[
        Path | None, typer.Option("--script", help="Shell script to run as root at the end.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    ask_sudo_password: Annotated[
        bool, typer.Option("--ask-sudo-password", help="Prompt for a sudo password different from login.")
    ] = False,
    upgrade: Annotated[bool, typer.Option("--upgrade", help="Also run apt-get upgrade.")] = False,
    forget_host_key: Annotated[
        bool, typer.Option("--forget-host-key", help="Forget the recorded host key first (server rebuilt).")
    ] = False,
    connect_timeout: Annotated[float, typer.Option("--connect-timeout", help="Seconds.")] = 10.0,
    lang: Annotated[
        str,
        typer.Option("--lang", help="Language of the wizard's own lines: zh or en.", case_sensitive=False),
    ] = "zh",
) -> None:
    """Set up a Debian/Ubuntu server over SSH: apt, packages, ufw firewall, optional script."""
    language: Lang = "en" if lang.lower() == "en" else "zh"
    if lang.lower() not in LANGS:
        raise typer.BadParameter("use zh or en", param_hint="--lang")
    private_key = key.read_text() if key else None
    password: str | None = None
    passphrase: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif key is None:
        password = typer.prompt(f"Password for {user}@{host}", hide_input=True)
    if private_key and _needs_passphrase(private_key):
        passphrase = typer.prompt(f"Passphrase for {key}", hide_input=True)
    sudo_password = typer.prompt("sudo password", hide_input=True) if ask_sudo_password else None
    target = Target(
        host=host,
        port=port,
        username=user,
        password=password or None,
        private_key=private_key,
        passphrase=passphrase,
        sudo_password=sudo_password,
    )
    options = SetupOptions(
        packages=split_values(packages) if packages else list(DEFAULT_PACKAGES),
        firewall_ports=split_values(allow),
        upgrade=upgrade,
        script=script.read_text() if script else None,
    )
    ok = asyncio.run(_run(target, options, forget_host_key, connect_timeout, language))
    raise typer.Exit(0 if ok else 1)


def event_text(event: SessionEvent, lang: Lang) -> str:
    """The event's line in ``lang``: a coded event is rendered from the catalogue, output lines as printed."""
    if event.code is None or lang == "zh":
        return event.message
    return render(event.code, event.params, lang)


async def _run(
    target: Target, options: SetupOptions, forget: bool, connect_timeout: float, lang: Lang = "zh"
) -> bool:
    console = Console(highlight=False)
    store = FileKnownHosts(known_hosts_path())
    if forget and await store.forget(target.host, target.port):
        console.print(f"Forgot the recorded host key of {target.host}:{target.port}.")
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    with suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, cancel.set)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("setup", total=None)

    async def show(events: Sequence[SessionEvent]) -> None:
        for event in events:
            show_one(event)

    def show_one(event: SessionEvent) -> None:
        text = Text(event_text(event, lang), style=_STYLES[event.level])
        if event.type is EventType.LOG:
            text.stylize("dim")
        progress.console.print(text, soft_wrap=True)  # the terminal wraps; copied lines stay whole
        if event.type is EventType.STEP and event.step_total:
            done = event.step_index or 0
            if event.data.get("status") == "running":
                done -= 1
            progress.update(task, total=event.step_total, completed=done, description=event.step_id or "")

    with progress:
        result = await run_setup(
            target, options, EventEmitter(show), store, cancel=cancel, connect_timeout=connect_timeout
        )
        progress.update(task, description=result.status)
    return result.success
