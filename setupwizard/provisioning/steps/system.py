"""Steps 1–2: connect (host key, OS) and check sudo."""

from __future__ import annotations

import asyncio
import shlex

from setupwizard.provisioning.context import StepContext, parse_os_release
from setupwizard.provisioning.errors import StepCancelled, UnsupportedOSError
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.facts import FACTS_SCRIPT, read_facts
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.plan import PASSWORD_PLACEHOLDER, Command, Policy, Step, StepOutcome
from setupwizard.provisioning.preflight import check_server
from setupwizard.provisioning.remote import Remote
from setupwizard.provisioning.result import StepStatus, SudoMode
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.sudo import detect_sudo
from setupwizard.provisioning.target import Target


async def connect(ctx: StepContext) -> StepOutcome:
    """Open the session, report the host key, read /etc/os-release; refuse anything but Debian/Ubuntu."""
    target = ctx.target
    await ctx.tell(msg("connect.connecting", user=target.username, host=target.host, port=target.port))
    attempt = asyncio.ensure_future(
        open_connection(
            target,
            ctx.known_hosts,
            connect_timeout=ctx.connect_timeout,
            keepalive_interval=ctx.keepalive_interval,
        )
    )
    cancelled = asyncio.ensure_future(ctx.cancel.wait())
    try:
        await asyncio.wait({attempt, cancelled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        cancelled.cancel()
    if not attempt.done():
        attempt.cancel()
        raise StepCancelled()
    connection = attempt.result()
    ctx.attach(Remote(connection, ctx.cancel, secret_locator=ctx.emitter.redactor))
    ctx.fingerprint = connection.fingerprint
    if connection.newly_recorded:
        await ctx.tell(msg("connect.new_host_key", fingerprint=connection.fingerprint), Level.WARNING)
    else:
        await ctx.tell(msg("connect.host_key_matches", fingerprint=connection.fingerprint))
    facts = await read_facts(ctx.remote)  # one round trip: port, OS, uid, sudo
    ctx.facts = facts
    ctx.ssh_port = facts.ssh_port or target.port
    os_info = parse_os_release(facts.os_release)
    ctx.os = os_info
    if not os_info.supported:
        raise UnsupportedOSError(msg("error.unsupported_os", os=os_info.pretty_name, os_id=os_info.id or "?"))
    check_server(facts, target, ctx.options)  # a taken port, no systemd: refused before any change
    return StepOutcome(StepStatus.SUCCEEDED, msg("connect.done", host=target.host, os=os_info.pretty_name))


async def check_sudo(ctx: StepContext) -> StepOutcome:
    """Detect root / passwordless / password sudo (password verified once)."""
    target = ctx.target
    password = target.sudo_password or target.password
    credential = await detect_sudo(ctx.remote, target.username, password, ctx.facts)
    ctx.sudo = credential
    code = {
        SudoMode.ROOT: "sudo.root",
        SudoMode.PASSWORDLESS: "sudo.passwordless",
        SudoMode.PASSWORD: "sudo.password",
    }[credential.mode]
    return StepOutcome(StepStatus.SUCCEEDED, msg(code, user=target.username))


def login_command(target: Target, command: str | None = None) -> str:
    """An SSH login as a sysadmin would type it (the service makes it with its own client), quoted as the
    shell needs it (a login name may end in ``$``)."""
    line = f"ssh {shlex.quote(f'{target.username}@{target.host}')} -p {target.port}"
    return f"{line} {command}" if command else line


def connect_step(target: Target) -> Step:
    """The connect step: the login, then one unprivileged read of the facts."""
    return Step(
        id="connect",
        name="连接服务器并识别系统",
        commands=(
            Command(
                login_command(target),
                msg("plan.note.connect_login"),
            ),
            Command(
                FACTS_SCRIPT,
                msg("plan.note.connect_facts"),
            ),
        ),
        check=None,
        policy=Policy.ABORT,
        action=connect,
    )


def sudo_step(target: Target) -> Step:
    """The sudo check, and how every later command becomes root."""
    commands: tuple[Command, ...]
    if target.username == "root":
        commands = (Command("", msg("plan.note.sudo_root")),)
    else:
        prompt = "'[sudo-pw-RANDOM]'"
        commands = (
            Command(
                f"sudo -k -S -p {prompt} -- bash -c true",
                msg("plan.note.sudo_check", placeholder=PASSWORD_PLACEHOLDER),
            ),
            Command(
                "",
                msg("plan.note.sudo_later", prompt=prompt, placeholder=PASSWORD_PLACEHOLDER),
            ),
        )
    return Step(
        id="sudo",
        name="检查 sudo 权限",
        commands=commands,
        check=None,
        policy=Policy.ABORT,
        action=check_sudo,
    )
