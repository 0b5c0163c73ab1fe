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
from dataclasses import dataclass
from typing import NoReturn

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import (
    AuthenticationFailedError,
    ConnectError,
    ConnectionLostError,
    HostKeyChangedError,
    LockoutPreventedError,
    LoginNotConfirmedError,
    StepCancelled,
)
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.messages import Msg, msg
from setupwizard.provisioning.plan import StepOutcome
from setupwizard.provisioning.preflight import admin_proof_key, person_proves
from setupwizard.provisioning.preflight import same_key as preflight_same_key
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.steps.confirm_login import Confirmation, revert_window, wait_for_person
from setupwizard.provisioning.steps.sshd_commands import (
    BACKUP,
    DISARM,
    DROP_IN,
    RELOAD_COMMAND,
    RESTART_MARK,
    RESTORE,
    ROLLBACK_RELOAD,
    arm_revert,
    drop_in,
    port_rule,
    write_command,
)
from setupwizard.provisioning.target import SshHardening, Target
from setupwizard.provisioning.validate import parse_port_spec

_MARK = "--- setupwizard:"
PROOF_TRIES = 5


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
    f"echo '{_MARK}ufw'; ufw status 2>/dev/null | head -n 1; "
    f"echo '{_MARK}rules'; ufw show added 2>/dev/null; true"
)


@dataclass(frozen=True)
class SshdState:
    """The drop-in's text, sshd's effective settings, socket activation, whether ufw is active and the
    rules added to it (``allow 22/tcp``, as ``ufw show added`` lists them without ``ufw ``)."""

    drop_in: str
    effective: dict[str, list[str]]
    socket_activated: bool
    ufw_active: bool
    ufw_rules: tuple[str, ...] = ()


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
        ufw_rules=tuple(
            line.strip()[4:] for line in parts.get("rules", []) if line.strip().startswith("ufw ")
        ),
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
    held = admin_proof_key(target, admin) if admin is not None else None
    if admin is not None and held is not None:
        return Target(target.host, admin.username, port=port, private_key=held[0], passphrase=held[1])
    if admin is not None and admin.public_key and admin.agent_path:  # the CLI's ssh-agent holds the key
        return Target(
            target.host,
            admin.username,
            port=port,
            agent_path=admin.agent_path,
            agent_public_key=admin.public_key,
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
    return preflight_same_key(target.private_key, target.passphrase, public_key)


def root_proof(ctx: StepContext, login: Target) -> tuple[str, str | None] | None:
    """How the proof login shows it becomes root: the admin user's ``sudo -n true`` (NOPASSWD) or
    ``sudo -S`` with the sudo password set on this run (on stdin, no PTY); None for other logins."""
    admin = ctx.options.admin
    if admin is None or login.username != admin.username:
        return None
    if admin.nopasswd:
        return "sudo -n true", None
    if admin.sudo_password is not None:
        return "sudo -k -S -p '' true", admin.sudo_password + "\n"
    return None


async def try_login(
    ctx: StepContext, target: Target, as_root: tuple[str, str | None] | None = None
) -> str | None:
    """A brand-new SSH login with ``target`` (same host key); None when it runs a command (and, with
    ``as_root``, that command: the way to root this login has)."""
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
            if done.exit_status != 0:
                return "true"
            if as_root is not None:
                command, feed = as_root
                done = await fresh.conn.run(command, input=feed, encoding="utf-8", errors="replace")
                if done.exit_status != 0:
                    return f"{command}: exit status {done.exit_status}"
            return None
        finally:
            fresh.close()
    return problem


async def reload_sshd(ctx: StepContext) -> None:
    """Check the configuration, reload sshd and wait until it listens with it."""
    await ctx.run_or_fail("sshd -t", msg("action.command", command="sshd -t"))
    await ctx.run_or_fail(RELOAD_COMMAND, msg("action.command", command="systemctl reload ssh"))


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
    person = person_proves(ctx.target, ctx.options) if login is None else None
    if login is None and person is not None:  # confirm-or-revert: the person logs in themselves
        login = Target(ctx.target.host, person, port=hardening.port or ctx.ssh_port or ctx.target.port)
    if login is None:
        return StepOutcome(StepStatus.FAILED, msg("hardening.no_key_login"))
    with ctx.remote.uncancellable():
        return await _apply_and_prove(ctx, hardening, state, login, by_person=person is not None)


async def _apply_and_prove(
    ctx: StepContext, hardening: SshHardening, state: SshdState, login: Target, *, by_person: bool = False
) -> StepOutcome:
    added_rule = None
    if hardening.port is not None and state.ufw_active and port_rule(hardening.port) not in state.ufw_rules:
        added_rule = port_rule(hardening.port)  # a rule that was there already stays on rollback
        await ctx.run_or_fail(f"ufw {added_rule}", msg("action.command", command="ufw allow"))
    armed = ctx.facts is not None and ctx.facts.systemd is True
    if armed:
        await ctx.run_or_fail(
            arm_revert(revert_window(ctx) if by_person else ctx.settings.ssh_revert_after, added_rule),
            msg("action.command", command="systemd-run"),
            quiet=True,
        )
    await ctx.run_or_fail(write_command(hardening), msg("action.write_sshd"))
    problem: str | None
    confirmed: Confirmation | None = None
    as_root = None if by_person else root_proof(ctx, login)
    where = f"{login.username}@{ctx.target.host}:{login.port}"
    try:
        await reload_sshd(ctx)
        if by_person:
            root_off = hardening.permit_root_login == "no" or login.username != "root"
            confirmed = await wait_for_person(ctx, login, needs_root=root_off)
            problem = None if confirmed is Confirmation.CONFIRMED else str(confirmed)
        else:
            await ctx.tell(msg("hardening.proving", where=where))
            problem = await try_login(ctx, login, as_root)
    except (ConnectError, ConnectionLostError):
        raise  # the server's revert timer stays armed and rolls back on its own
    except Exception as exc:  # sshd -t or the reload failed: undo below, then report it
        problem = str(exc)
    if armed:
        await ctx.run(DISARM, quiet=True)  # proven, or rolled back below over this connection
    if problem is None:
        if confirmed is Confirmation.CONFIRMED:
            await ctx.tell(msg("hardening.confirmed", where=where), Level.SUCCESS)
        if as_root is not None:
            await ctx.tell(msg("hardening.root_proven", user=login.username))
        await ctx.run(f"rm -f {BACKUP}", quiet=True)
        await close_old_port(ctx, hardening, state)
        ctx.login_after = login_summary(ctx, hardening, login, by_person=by_person)
        done = done_message(ctx, hardening, login, by_person=by_person)
        return StepOutcome(StepStatus.SUCCEEDED, done, changed=True)
    if confirmed is None:
        await ctx.tell(msg("hardening.proof_failed", problem=problem), Level.ERROR)
    await roll_back(ctx, added_rule, problem, confirmed)


async def roll_back(
    ctx: StepContext, added_rule: str | None, problem: str, confirmed: Confirmation | None = None
) -> NoReturn:
    """Put the earlier drop-in back, bring sshd up with it (restarted if it died), delete only the ufw
    rule this step added, then prove the old way in with a brand-new login; raise saying how it ended
    (a confirm-or-revert that was cancelled, or not confirmed in time, says so)."""
    await ctx.run(RESTORE)
    restarted = await ctx.run_or_fail(ROLLBACK_RELOAD, msg("action.command", command="systemctl restart ssh"))
    if RESTART_MARK in restarted.lines:
        await ctx.tell(msg("hardening.sshd_restarted"), Level.WARNING)
    if added_rule is not None:
        await ctx.run(f"ufw --force delete {added_rule}")
    again = await try_login(ctx, ctx.target)
    state = (
        msg("hardening.restored_proven", port=ctx.target.port)
        if again is None
        else msg("hardening.restored_unproven", port=ctx.target.port, problem=again)
    )
    await ctx.tell(state, Level.INFO if again is None else Level.ERROR)
    if confirmed is Confirmation.CANCELLED:
        raise StepCancelled(msg("hardening.confirm_cancelled", state=state))
    if confirmed is Confirmation.TIMED_OUT:
        raise LoginNotConfirmedError(msg("hardening.reverted_unconfirmed", state=state))
    raise LockoutPreventedError(msg("hardening.rolled_back", problem=problem, state=state))


async def close_old_port(ctx: StepContext, hardening: SshHardening, state: SshdState) -> None:
    """Once the new port is proven, delete the old port's ``allow PORT/tcp`` unless the person asked
    for that port in ``firewall_ports`` (the firewall step of this run may have added it)."""
    old = ctx.ssh_port or ctx.target.port
    if hardening.port is None or hardening.port == old or not state.ufw_active:
        return
    asked = {str(parse_port_spec(spec)) for spec in ctx.options.firewall_ports}
    if asked & {str(old), f"{old}/tcp"}:
        return
    rules = parse_state((await ctx.run(STATE, quiet=True)).lines).ufw_rules
    if port_rule(old) in rules:
        await ctx.run_or_fail(
            f"ufw --force delete {port_rule(old)}", msg("action.command", command="ufw delete")
        )
        await ctx.tell(msg("hardening.old_port_closed", port=old))


def login_summary(
    ctx: StepContext, hardening: SshHardening, login: Target | None, *, by_person: bool = False
) -> dict[str, object]:
    """How to log in from now on (for the saved server entry): user, port, key or password (the person's
    own key, when they confirmed the login themselves)."""
    port = hardening.port or ctx.ssh_port or ctx.target.port
    if login is None:
        login = proof_login(ctx, hardening) or ctx.target
    return {
        "username": login.username,
        "port": port,
        "auth": "key" if login.private_key or login.agent_path or by_person else "password",
        "generated_key": bool(ctx.generated_private_key) and login.private_key == ctx.generated_private_key,
    }


def done_message(ctx: StepContext, hardening: SshHardening, login: Target, *, by_person: bool = False) -> Msg:
    """「root 登录已关闭，请使用 deploy@host:2222 和密钥登录」 and the like."""
    root = msg("hardening.root_off" if hardening.permit_root_login == "no" else "hardening.root_key_only")
    keyed = login.private_key or login.agent_path or by_person
    how = msg("hardening.with_key" if keyed else "hardening.with_password")
    return msg("hardening.done", root=root, where=f"{login.username}@{ctx.target.host}:{login.port}", how=how)
