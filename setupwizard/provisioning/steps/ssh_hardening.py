"""Optional step: harden sshd with a drop-in, and prove the new way in before keeping it.

Writes ``/etc/ssh/sshd_config.d/05-setupwizard.conf`` (sshd takes the first value it reads, and
Debian's sshd_config includes the drop-ins first; ``05`` sorts before cloud-init's
``50-cloud-init.conf``, which may say ``PasswordAuthentication yes``). With a new port, its ufw rule is
added *before* sshd moves. ``sshd -t`` checks the result, ``systemctl reload ssh`` applies it, and the
step waits for sshd's "Server listening" journal line (the reload returns before sshd has re-read its
configuration). Then a brand-new login is made the new way (the new user with its key, on the new
port) while this session stays open. If it fails, the drop-in and the ufw rule are undone, sshd is
reloaded again and the step fails saying so. Password login is never turned off unless a key login
can be proven on this run.

Ubuntu's socket-activated sshd (``ssh.socket``, 22.10 and later) listens where the socket says, not
where ``Port`` says; a port move there is refused (not testable here: no Ubuntu image can be fetched).
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass

import asyncssh

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import (
    AuthenticationFailedError,
    ConnectError,
    HostKeyChangedError,
    LockoutPreventedError,
)
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.messages import Msg, msg
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.steps.system import login_command
from setupwizard.provisioning.target import SetupOptions, SshHardening, Target

DROP_IN = "/etc/ssh/sshd_config.d/05-setupwizard.conf"
BACKUP = DROP_IN + ".setupwizard-old"
_MARK = "--- setupwizard:"
PROOF_TRIES = 5
# sshd logs this once it listens again after a reload (SIGHUP makes it re-execute itself)
RELOAD = (
    "c=$(journalctl -u ssh.service -n 1 -o cat --show-cursor 2>/dev/null | sed -n 's/^-- cursor: //p'); "
    "systemctl reload ssh || exit 1; "
    "for i in $(seq 150); do "
    'journalctl -u ssh.service -o cat ${c:+--after-cursor="$c"} 2>/dev/null | grep -q "Server listening" '
    "&& exit 0; sleep 0.1; done; echo 'sshd did not log \"Server listening\" after the reload'; exit 1"
)


def drop_in(hardening: SshHardening) -> str:
    """The drop-in's text."""
    lines = ["# Written by Setup Wizard (SSH hardening).", f"PermitRootLogin {hardening.permit_root_login}"]
    if not hardening.password_authentication:
        lines += ["PasswordAuthentication no", "KbdInteractiveAuthentication no"]
    if hardening.port is not None:
        lines.append(f"Port {hardening.port}")
    return "".join(line + "\n" for line in lines)


def effective_wanted(hardening: SshHardening) -> dict[str, str]:
    """What ``sshd -T`` must say once the drop-in is in force (keys lower-case, as sshd prints them)."""
    wanted = {"permitrootlogin": hardening.permit_root_login.replace("prohibit-password", "without-password")}
    if not hardening.password_authentication:
        wanted["passwordauthentication"] = "no"
    if hardening.port is not None:
        wanted["port"] = str(hardening.port)
    return wanted


STATE = (
    f"cat {DROP_IN} 2>/dev/null; echo '{_MARK}effective'; "
    "sshd -T 2>/dev/null | grep -Ei '^(port|permitrootlogin|passwordauthentication) '; "
    f"echo '{_MARK}socket'; systemctl is-active ssh.socket 2>/dev/null; "
    f"echo '{_MARK}ufw'; ufw status 2>/dev/null | head -n 1; true"
)


@dataclass(frozen=True)
class SshdState:
    """The drop-in's text, sshd's effective settings, socket activation and whether ufw is active."""

    drop_in: str
    effective: dict[str, list[str]]
    socket_activated: bool
    ufw_active: bool


def parse_state(lines: list[str]) -> SshdState:
    """Parse :data:`STATE`'s output."""
    parts: dict[str, list[str]] = {"": []}
    current = parts[""]
    for line in lines:
        if line.startswith(_MARK):
            current = parts.setdefault(line[len(_MARK) :], [])
        else:
            current.append(line)
    effective: dict[str, list[str]] = {}
    for line in parts.get("effective", []):
        key, _, value = line.strip().partition(" ")
        effective.setdefault(key.lower(), []).append(value.strip())
    return SshdState(
        drop_in="".join(line + "\n" for line in parts[""]),
        effective=effective,
        socket_activated=[s.strip() for s in parts.get("socket", [])] == ["active"],
        ufw_active=any("Status: active" in line for line in parts.get("ufw", [])),
    )


def in_force(state: SshdState, hardening: SshHardening) -> bool:
    """The drop-in is ours as wanted and sshd's effective settings show it."""
    if state.drop_in != drop_in(hardening):
        return False
    for key, value in effective_wanted(hardening).items():
        seen = state.effective.get(key, [])
        if (key == "port" and value not in seen) or (key != "port" and seen != [value]):
            return False
    return True


def proof_login(ctx: StepContext, hardening: SshHardening) -> Target | None:
    """A login that must work once the drop-in is in force, with a key when passwords go off.

    The admin user's key comes first (the new way): its freshly generated key, or the pasted public
    key when this session logged in with that key's private half; else this session's own login, if
    the new settings still let it in. None: no login can be proven, so nothing may change.
    """
    port = hardening.port or ctx.ssh_port or ctx.target.port
    admin = ctx.options.admin
    target = ctx.target
    if admin is not None and ctx.generated_private_key:
        return Target(target.host, admin.username, port=port, private_key=ctx.generated_private_key)
    if admin is not None and admin.public_key and same_key(target, admin.public_key):
        return Target(
            target.host,
            admin.username,
            port=port,
            private_key=target.private_key,
            passphrase=target.passphrase,
        )
    if target.username == "root" and hardening.permit_root_login == "no":
        return None
    if target.username == "root" and not target.private_key:
        return None  # prohibit-password: root only with a key
    if not hardening.password_authentication and not target.private_key:
        return None
    return Target(
        target.host,
        target.username,
        port=port,
        password=target.password if hardening.password_authentication else None,
        private_key=target.private_key,
        passphrase=target.passphrase,
    )


def same_key(target: Target, public_key: str) -> bool:
    """Whether this session's private key is the other half of ``public_key`` (an OpenSSH line)."""
    if not target.private_key:
        return False
    try:
        mine = asyncssh.import_private_key(target.private_key, target.passphrase or None)
    except (asyncssh.KeyImportError, ValueError):
        return False
    return mine.export_public_key("openssh").decode().split()[:2] == public_key.split()[:2]


async def try_login(ctx: StepContext, target: Target) -> str | None:
    """A brand-new SSH login with ``target`` (same host key); None when it runs a command."""
    problem = "?"
    for attempt in range(PROOF_TRIES):
        try:
            fresh = await open_connection(
                target,
                ctx.known_hosts,
                connect_timeout=ctx.connect_timeout,
                keepalive_interval=ctx.keepalive_interval,
                expected_fingerprint=ctx.fingerprint,
            )
        except (AuthenticationFailedError, HostKeyChangedError) as exc:
            return str(exc)
        except ConnectError as exc:  # refused or reset while sshd re-executes: try again shortly
            problem = str(exc)
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        try:
            done = await fresh.conn.run("true")
            return None if done.exit_status == 0 else "true"
        finally:
            fresh.close()
    return problem


RELOAD_COMMAND = f"if [ -d /run/systemd/system ]; then {RELOAD}; else service ssh reload && sleep 1; fi"
RESTORE = f"if [ -e {BACKUP} ]; then mv {BACKUP} {DROP_IN}; else rm -f {DROP_IN}; fi"


def port_rule(port: int) -> str:
    """The ufw rule for sshd's new port (added before sshd moves)."""
    return f"allow {port}/tcp"


def write_command(hardening: SshHardening) -> str:
    """Keep the earlier drop-in beside it, then write ours."""
    return (
        f"rm -f {BACKUP}; {{ [ ! -e {DROP_IN} ] || cp -p {DROP_IN} {BACKUP}; }} && "
        f"printf '%s' {shlex.quote(drop_in(hardening))} > {DROP_IN}"
    )


async def reload_sshd(ctx: StepContext) -> None:
    """Check the configuration, reload sshd and wait until it listens with it."""
    await ctx.must("sshd -t", msg("action.command", command="sshd -t"))
    await ctx.must(RELOAD_COMMAND, msg("action.command", command="systemctl reload ssh"))


async def harden_ssh(ctx: StepContext) -> StepOutcome:
    """Write the drop-in, reload sshd, prove the new login, roll back if it fails."""
    hardening = ctx.options.ssh_hardening
    assert hardening is not None  # the plan has this step only when asked
    state = parse_state((await ctx.run(STATE, quiet=True)).lines)
    if in_force(state, hardening):
        ctx.login_after = login_summary(ctx, hardening, None)
        return StepOutcome(StepStatus.UNCHANGED, msg("hardening.unchanged"))
    if hardening.port is not None and state.socket_activated:
        return StepOutcome(StepStatus.FAILED, msg("hardening.socket_activated"))
    login = proof_login(ctx, hardening)
    if login is None:
        return StepOutcome(StepStatus.FAILED, msg("hardening.no_key_login"))
    with ctx.remote.uncancellable():
        return await _apply_and_prove(ctx, hardening, state, login)


async def _apply_and_prove(
    ctx: StepContext, hardening: SshHardening, state: SshdState, login: Target
) -> StepOutcome:
    added_rule = None
    if hardening.port is not None and state.ufw_active:
        added_rule = port_rule(hardening.port)
        await ctx.must(f"ufw {added_rule}", msg("action.command", command="ufw allow"))
    await ctx.must(write_command(hardening), msg("action.write_sshd"))
    problem: str | None
    try:
        await reload_sshd(ctx)
        where = f"{login.username}@{ctx.target.host}:{login.port}"
        await ctx.say(msg("hardening.proving", where=where))
        problem = await try_login(ctx, login)
    except ConnectError:
        raise
    except Exception as exc:  # sshd -t or the reload failed: undo below, then report it
        problem = str(exc)
    if problem is None:
        await ctx.run(f"rm -f {BACKUP}", quiet=True)
        ctx.login_after = login_summary(ctx, hardening, login)
        return StepOutcome(StepStatus.SUCCEEDED, done_message(ctx, hardening, login), changed=True)
    await ctx.say(msg("hardening.proof_failed", problem=problem), Level.ERROR)
    await ctx.run(RESTORE)
    await reload_sshd(ctx)
    if added_rule is not None:
        await ctx.run(f"ufw --force delete {added_rule}")
    raise LockoutPreventedError(msg("hardening.rolled_back", problem=problem))


def login_summary(ctx: StepContext, hardening: SshHardening, login: Target | None) -> dict[str, object]:
    """How to log in from now on (for the saved server entry): user, port, key or password."""
    port = hardening.port or ctx.ssh_port or ctx.target.port
    if login is None:
        login = proof_login(ctx, hardening) or ctx.target
    return {
        "username": login.username,
        "port": port,
        "auth": "key" if login.private_key else "password",
        "generated_key": bool(ctx.generated_private_key) and login.private_key == ctx.generated_private_key,
    }


def done_message(ctx: StepContext, hardening: SshHardening, login: Target) -> Msg:
    """「root 登录已关闭，请使用 deploy@host:2222 和密钥登录」 and the like."""
    root = msg("hardening.root_off" if hardening.permit_root_login == "no" else "hardening.root_key_only")
    how = msg("hardening.with_key" if login.private_key else "hardening.with_password")
    return msg("hardening.done", root=root, where=f"{login.username}@{ctx.target.host}:{login.port}", how=how)


def ssh_hardening_step(options: SetupOptions, target: Target) -> Step:
    """The SSH hardening step: the drop-in as written, the reload, and the login that must work after."""
    hardening = options.ssh_hardening
    assert hardening is not None  # the plan has this step only when asked
    port = hardening.port or target.port
    commands: list[Command] = []
    if hardening.port is not None:
        commands.append(
            Command(f"ufw {port_rule(hardening.port)}", "only when ufw is active; before sshd moves")
        )
    commands += [
        Command(
            write_command(hardening),
            "skipped, with the rest, when the drop-in is as written and sshd -T shows it; "
            + (
                "refused when ssh.socket is active (Ubuntu 22.10+: sshd listens where the socket says)"
                if hardening.port is not None
                else "the earlier drop-in is kept beside it until the proof"
            ),
        ),
        Command("sshd -t"),
        Command(RELOAD_COMMAND, "reloads sshd and waits for its 'Server listening' journal line"),
    ]
    admin = options.admin
    if admin is not None and admin.generate_key:
        who, how = admin.username, "with the admin user's new key"
    elif hardening.password_authentication:
        who, how = target.username, "with this run's own login"
    else:
        who, how = target.username, "with this run's own key (password login goes off)"
    commands.append(
        Command(
            login_command(Target(target.host, who, port=port), "true"),
            f"a brand-new login the new way, {how}, while this session stays open. Refused before any change "
            "when no such login can be proven (no key, or root with root login off). If it fails: "
            f"{RESTORE}, sshd -t, the reload again"
            + (f", ufw --force delete {port_rule(hardening.port)}" if hardening.port is not None else "")
            + ", and the step fails",
        )
    )
    return Step(
        id="ssh_hardening",
        name="加固 SSH",
        commands=tuple(commands),
        check=f"{DROP_IN} as written and sshd -T shows its settings",
        policy=Policy.ABORT,
        action=harden_ssh,
    )
