"""``setupwizard setup HOST``: run the chosen setup steps from a terminal, with live output.

Only connect and the sudo check always run; ``--no-update``, ``--no-packages`` and ``--no-firewall``
leave out default steps, ``--hostname``, ``--timezone``, ``--fail2ban``, ``--auto-updates``,
``--admin-user`` and ``--harden-ssh`` add steps. ``--show-plan`` prints the exact commands of the chosen
steps for this host, port and user (no secret: a sudo password shows as a placeholder) and exits.

Passwords come from a hidden prompt or ``--password-stdin``, never from argv. Host keys are
remembered in ``~/.config/setupwizard/known_hosts.json`` (policy accept-new). Exit code 0 on
success, 1 on failure or cancel. ``--lang en`` shows the wizard's own lines in English (output
printed by the server's programs stays as printed).

With ``--admin-key FILE.pub``, the private key ``FILE`` next to it (when it is the other half), or else
the ssh-agent at ``SSH_AUTH_SOCK`` when it holds that key, proves the admin user's new login, so
``--harden-ssh`` works without logging in with that key. A plan that cannot be proven, or that would
leave no way to root, is refused before anything runs, naming the option to add.

``--confirm-login`` (confirm-or-revert): when the run cannot prove the admin user's new
login itself (only ``FILE.pub`` given), it applies the hardening, prints the ``ssh -p PORT user@host``
line to try from another terminal, and asks at a prompt; ``yes`` keeps it, any other answer or Ctrl-C
rolls it back, and no answer within ``--confirm-timeout`` seconds (default 300) rolls it back too. The
prompt needs a terminal: without one on stdin (a pipe, ``--password-stdin``, cron) the option is
refused before anything runs, so the CLI never waits for an answer nobody can give.

Several HOSTs, or ``--inventory FILE`` (``user@host:port`` lines or an Ansible INI inventory), run the same
steps on each, at most ``--parallel`` at once, with the secrets given once (see :mod:`.fleet_run`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from setupwizard.cli.confirm_prompt import CONFIRM_PROMPT, agent_holds, ask_for_confirmation
from setupwizard.cli.credentials import (
    known_hosts_path,
    needs_passphrase,
    private_half,
    read_login_secrets,
    write_private_key,
)
from setupwizard.cli.fleet_run import RunSettings, event_text, new_log_dir, run_fleet
from setupwizard.cli.fleet_targets import fleet_hosts, refuse_for_many, resolve_targets
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
from setupwizard.provisioning.messages import LANGS, Lang
from setupwizard.provisioning.plan import PASSWORD_PLACEHOLDER
from setupwizard.provisioning.steps import default_plan
from setupwizard.provisioning.steps.confirm_login import DATA_FIELD as CONFIRM_FIELD
from setupwizard.provisioning.target import AdminUser, SshHardening

_STYLES = {Level.SUCCESS: "green", Level.WARNING: "yellow", Level.ERROR: "red", Level.INFO: ""}


def split_values(values: list[str] | None) -> list[str]:
    """Accept ``--packages a b``-style repeats and ``a,b`` lists alike."""
    out: list[str] = []
    for value in values or []:
        out.extend(part for part in value.replace(",", " ").split() if part)
    return out


@app.command()
def setup(
    hosts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Server: IPv4, IPv6 or DNS name, or user@host:port ([IPv6]:port). Several: a many-host run.",
            show_default=False,
            metavar="HOST...",
        ),
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory", help="Hosts from a file: user@host:port lines or an Ansible INI inventory."
        ),
    ] = None,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=1000, help="Many hosts: how many run at once.")
    ] = 10,
    stop_after_failures: Annotated[
        int | None,
        typer.Option(
            "--stop-after-failures",
            min=1,
            help="Many hosts: after K failed hosts no new one starts (skipped).",
        ),
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Many hosts: a log file per host here (default: a new directory)."),
    ] = None,
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
    no_update: Annotated[
        bool, typer.Option("--no-update", help="Skip waiting for apt and apt-get update.")
    ] = False,
    no_packages: Annotated[bool, typer.Option("--no-packages", help="Install no packages.")] = False,
    no_firewall: Annotated[bool, typer.Option("--no-firewall", help="Leave ufw alone.")] = False,
    hostname: Annotated[str | None, typer.Option("--hostname", help="Set the host name (RFC 1123).")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Set the time zone, e.g. Asia/Shanghai.")
    ] = None,
    fail2ban: Annotated[bool, typer.Option("--fail2ban", help="fail2ban for sshd (journald).")] = False,
    auto_updates: Annotated[
        bool, typer.Option("--auto-updates", help="Automatic security updates (unattended-upgrades).")
    ] = False,
    admin_user: Annotated[
        str | None, typer.Option("--admin-user", help="Create this user in the sudo group.")
    ] = None,
    admin_key: Annotated[
        Path | None, typer.Option("--admin-key", help="Public key file to install for the admin user.")
    ] = None,
    admin_key_out: Annotated[
        Path | None,
        typer.Option(
            "--admin-key-out", help="Generate an ed25519 key pair; write the private key here (600)."
        ),
    ] = None,
    admin_sudo_password: Annotated[
        bool, typer.Option("--admin-sudo-password", help="Prompt for the admin user's sudo password.")
    ] = False,
    admin_nopasswd: Annotated[
        bool, typer.Option("--admin-nopasswd", help="The admin user uses sudo without a password.")
    ] = False,
    harden_ssh: Annotated[
        bool, typer.Option("--harden-ssh", help="sshd drop-in: no root login, no password login.")
    ] = False,
    permit_root_login: Annotated[
        str, typer.Option("--permit-root-login", help="With --harden-ssh: no or prohibit-password.")
    ] = "no",
    keep_password_login: Annotated[
        bool, typer.Option("--keep-password-login", help="With --harden-ssh: keep PasswordAuthentication.")
    ] = False,
    ssh_new_port: Annotated[
        int | None, typer.Option("--ssh-new-port", help="With --harden-ssh: move sshd to this port.")
    ] = None,
    show_plan: Annotated[
        bool, typer.Option("--show-plan", help="Print the chosen steps' commands and exit.")
    ] = False,
    confirm_login: Annotated[
        bool,
        typer.Option(
            "--confirm-login",
            help="With --harden-ssh: when the new login cannot be proven here, apply it, let you try it "
            "from another terminal and confirm at a prompt; rolled back unless you do (needs a terminal).",
        ),
    ] = False,
    confirm_timeout: Annotated[
        int, typer.Option("--confirm-timeout", help="With --confirm-login: seconds to wait (5-3600).")
    ] = 300,
) -> None:
    """Set up a Debian/Ubuntu server over SSH: the steps you choose, with every command shown."""
    language: Lang = "en" if lang.lower() == "en" else "zh"
    if lang.lower() not in LANGS:
        raise typer.BadParameter("use zh or en", param_hint="--lang")
    if admin_key is not None and admin_key_out is not None:
        raise typer.BadParameter("give --admin-key or --admin-key-out, not both", param_hint="--admin-key")
    if admin_user is not None and admin_key is None and admin_key_out is None:
        raise typer.BadParameter("needs --admin-key FILE or --admin-key-out FILE", param_hint="--admin-user")
    steps = SetupOptions(
        packages=[] if no_packages else split_values(packages) if packages else list(DEFAULT_PACKAGES),
        firewall_ports=split_values(allow),
        upgrade=upgrade,
        script=script.read_text() if script else None,
        apt_update=not no_update,
        firewall=not no_firewall,
        hostname=hostname,
        timezone=timezone,
        fail2ban=fail2ban,
        auto_updates=auto_updates,
        admin=None
        if admin_user is None
        else AdminUser(
            admin_user,
            public_key=admin_key.read_text() if admin_key else None,
            generate_key=admin_key_out is not None,
            nopasswd=admin_nopasswd,
        ),
        ssh_hardening=SshHardening(
            permit_root_login,
            keep_password_login,
            ssh_new_port,
            confirm_login=confirm_login,
            confirm_timeout=confirm_timeout,
        )
        if harden_ssh
        else None,
    )
    found = resolve_targets(hosts or [], inventory, user, port)
    many = inventory is not None or len(found) > 1
    if many:
        refuse_for_many(confirm_login, admin_key_out, hostname)
    if confirm_login and not show_plan and not sys.stdin.isatty():
        typer.echo(
            "--confirm-login asks you to confirm the new login at a prompt, and stdin is not a terminal "
            "(a pipe, --password-stdin, cron): run it in a terminal, or let the run prove the login itself "
            "(--admin-key FILE.pub with the private key FILE next to it). Nothing was changed.",
            err=True,
        )
        raise typer.Exit(2)
    if show_plan:
        if admin_sudo_password and steps.admin is not None:  # asked for after the plan; never shown
            steps = replace(steps, admin=replace(steps.admin, sudo_password=PASSWORD_PLACEHOLDER))
        for one in found:
            if many:
                typer.echo(f"== {one.name} ==")
            plan = default_plan(
                steps, Target(host=one.host, username=one.username or user, port=one.port or port)
            )
            for line in plan.describe(language):
                typer.echo(line)
        raise typer.Exit(0)
    who = "every host" if many else f"{found[0].username}@{found[0].host}"
    secrets = read_login_secrets(key, password_stdin, ask_sudo_password, who)
    if admin_sudo_password and steps.admin is not None:
        new_password = typer.prompt(
            f"New sudo password for {steps.admin.username}", hide_input=True, confirmation_prompt=True
        )
        steps = replace(steps, admin=replace(steps.admin, sudo_password=new_password))
    admin_private = private_half(admin_key) if admin_key is not None and steps.admin is not None else None
    if admin_private is not None and steps.admin is not None:
        admin_passphrase = None
        if needs_passphrase(admin_private):
            where = admin_key.with_suffix("") if admin_key else ""
            admin_passphrase = typer.prompt(f"Passphrase for {where}", hide_input=True)
        steps = replace(
            steps, admin=replace(steps.admin, private_key=admin_private, passphrase=admin_passphrase)
        )
    agent = os.environ.get("SSH_AUTH_SOCK")
    admin = steps.admin
    if admin_private is None and admin is not None and admin.public_key and agent:
        if asyncio.run(agent_holds(agent, admin.public_key)):  # the agent's key proves the admin login
            steps = replace(steps, admin=replace(admin, agent_path=agent))
    if many:
        directory = log_dir or new_log_dir(Path.cwd())
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            typer.echo(
                f"cannot make the log directory {directory}: {exc.strerror}. Nothing was run.", err=True
            )
            raise typer.Exit(2) from None
        settings = RunSettings(parallel, stop_after_failures, forget_host_key, connect_timeout, language)
        console = Console(highlight=False)
        console.print(f"{len(found)} hosts, {parallel} at once; a log file per host in {directory}")
        fleet = fleet_hosts(found, secrets, directory)
        raise typer.Exit(0 if asyncio.run(run_fleet(fleet, steps, settings, console)) else 1)
    target = Target(
        host=found[0].host,
        port=found[0].port or port,
        username=found[0].username or user,
        password=secrets.password,
        private_key=secrets.private_key,
        passphrase=secrets.passphrase,
        sudo_password=secrets.sudo_password,
    )
    ok = asyncio.run(_run(target, steps, forget_host_key, connect_timeout, language, admin_key_out))
    raise typer.Exit(0 if ok else 1)


async def _run(
    target: Target,
    options: SetupOptions,
    forget: bool,
    connect_timeout: float,
    lang: Lang = "zh",
    key_out: Path | None = None,
) -> bool:
    console = Console(highlight=False)
    store = FileKnownHosts(known_hosts_path())
    if forget and await store.forget(target.host, target.port):
        console.print(f"Forgot the recorded host key of {target.host}:{target.port}.")
    cancel = asyncio.Event()
    confirm = asyncio.Event()
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
        if isinstance(event.data.get(CONFIRM_FIELD), dict):
            progress.console.print(Text(CONFIRM_PROMPT[lang], style="bold"))
            ask_for_confirmation(loop, confirm, cancel)
        if event.type is EventType.STEP and event.step_total:
            done = event.step_index or 0
            if event.data.get("status") == "running":
                done -= 1
            progress.update(task, total=event.step_total, completed=done, description=event.step_id or "")

    with progress:
        try:
            result = await run_setup(
                target,
                options,
                EventEmitter(show),
                store,
                cancel=cancel,
                confirm=confirm,
                connect_timeout=connect_timeout,
            )
        finally:
            with suppress(ValueError, OSError):
                loop.remove_reader(sys.stdin.fileno())
        progress.update(task, description=result.status.value)
    if result.error_code == "invalid_input" and "ssh_hardening.confirm_login" in result.message:
        console.print("(ssh_hardening.confirm_login is --confirm-login here)")
    if result.generated_private_key and key_out is not None:
        write_private_key(key_out, result.generated_private_key)
        console.print(f"The admin user's new private key: {key_out} (shown nowhere else; keep it safe).")
    return result.success
