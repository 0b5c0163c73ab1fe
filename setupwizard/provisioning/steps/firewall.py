"""Step 5: ufw with a lock-out guard.

Allow the SSH port in use and the requested ports, deny other incoming traffic, enable ufw, then
prove that a brand-new SSH connection still gets in. If it does not, undo exactly what this step
changed, through the session that is still open (ufw keeps established connections), and fail.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import CommandFailedError, ConnectError, LockoutPreventedError
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.messages import Msg, msg
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.steps.apt import apt_or_settle, install_command
from setupwizard.provisioning.steps.system import login_command
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.provisioning.validate import parse_port_spec

# ufw's own settings files, in the order ufw reads them (a later line wins), and the rules it keeps: the
# same facts as ``ufw status verbose`` (which reports ENABLED and DEFAULT_INPUT_POLICY from these files),
# read without a second start of ufw (~40 ms each).
SETTINGS_FILES = "/etc/default/ufw /etc/ufw/ufw.conf"
# ufw keeps each added rule as a "### tuple ###" line in these; with none (grep exit 1), ``ufw show added``
# would list none, so it is not started (a fresh install). Matches, or a file missing (exit 2), start it.
RULE_FILES = "/etc/ufw/user.rules /etc/ufw/user6.rules"
STATE = (
    "export LC_ALL=C; "
    f"grep -h -E '^[[:space:]]*(ENABLED|DEFAULT_INPUT_POLICY)=' {SETTINGS_FILES} 2>/dev/null; "
    f"echo '--- added'; grep -qs '^### tuple ###' {RULE_FILES}; [ $? = 1 ] || ufw show added"
)
NO_UFW = "--- no ufw"
# ufw's presence and state in one round trip
PROBE = f"command -v ufw >/dev/null 2>&1 || {{ echo '{NO_UFW}'; exit 0; }}; {STATE}"
# ufw's settings words for the default incoming policy, as ``ufw status`` names them
_POLICIES = {"drop": "deny", "reject": "reject", "accept": "allow"}
# Sets the default incoming policy unless ufw's file already says deny the way ufw writes it (on an
# active firewall, ``ufw default`` reloads every rule: 1.5 s); any other spelling runs it, as before.
DENY_INCOMING = (
    "{ [ \"$(sed -n 's/^[[:space:]]*DEFAULT_INPUT_POLICY=//p' "
    + SETTINGS_FILES
    + ' 2>/dev/null | tail -n 1)" = \'"DROP"\' ] '
    "|| ufw default deny incoming; }"
)


@dataclass(frozen=True)
class FirewallState:
    """What ``ufw status verbose`` and ``ufw show added`` say."""

    active: bool
    incoming: str  # deny | allow | reject | "" when unknown
    rules: tuple[str, ...]  # "allow 22/tcp", as ``ufw show added`` lists them (without "ufw ")


def parse_state(lines: list[str]) -> FirewallState:
    """Parse the output of :data:`STATE` (settings as ufw reads them: last line wins, quotes dropped)."""
    settings: dict[str, str] = {}
    rules: list[str] = []
    in_added = False
    for line in lines:
        text = line.strip()
        if text == "--- added":
            in_added = True
        elif in_added:
            if text.startswith("ufw "):
                rules.append(text[4:])
        elif "=" in text:
            key, _, value = text.partition("=")
            settings[key.lower()] = value.lower().strip("\"'")
    incoming = _POLICIES.get(settings.get("default_input_policy", ""), "")
    return FirewallState(settings.get("enabled") == "yes", incoming, tuple(rules))


def wanted_rules(ssh_port: int, ports: list[str], *, lockout_drill: bool) -> list[str]:
    """The ufw rules to add, as argument strings (each token already validated and quoted)."""
    rules = [f"deny {ssh_port}/tcp" if lockout_drill else f"allow {ssh_port}/tcp"]
    for spec in ports:
        rule = f"allow {shlex.quote(str(parse_port_spec(spec)))}"
        if rule not in rules:
            rules.append(rule)
    return rules


async def read_state(ctx: StepContext) -> FirewallState:
    """Current ufw state (quiet)."""
    return parse_state((await ctx.run_or_fail(STATE, msg("action.read_ufw"), quiet=True)).lines)


def apply_script(rules: list[str]) -> str:
    """Every rule, the default policy and enabling, as one command (stops at the first failure)."""
    commands = [f"ufw {rule}" for rule in rules] + [DENY_INCOMING, "ufw --force enable"]
    return " && ".join(commands)


def already_applied(state: FirewallState, rules: list[str]) -> bool:
    """ufw is active, denies incoming by default and has every wanted rule: nothing to change."""
    return state.active and state.incoming == "deny" and all(rule in state.rules for rule in rules)


async def configure_firewall(ctx: StepContext) -> StepOutcome:
    """Apply the rules, enable ufw, prove a new SSH login works, roll back if it does not.

    Cancel is honoured only before the first change: a firewall left half-way could lock SSH out.
    """
    probe = await ctx.run_or_fail(PROBE, msg("action.read_ufw"), quiet=True)
    if NO_UFW in probe.lines:
        await ctx.tell(msg("firewall.install_ufw"))
        await apt_or_settle(ctx, install_command(["ufw"]), msg("action.install_ufw"), time_limit=1800)
        before = await read_state(ctx)
    else:
        before = parse_state(probe.lines)
    with ctx.remote.uncancellable():
        return await _apply_and_prove(ctx, before)


async def _apply_and_prove(ctx: StepContext, before: FirewallState) -> StepOutcome:
    ssh_port = ctx.ssh_port or ctx.target.port
    rules = wanted_rules(ssh_port, ctx.options.firewall_ports, lockout_drill=ctx.settings.lockout_drill)
    if ctx.settings.lockout_drill:
        await ctx.tell(msg("firewall.drill", port=ssh_port), Level.WARNING)
    changed = not already_applied(before, rules)
    if changed:
        try:
            await ctx.run_or_fail(apply_script(rules), msg("action.configure_ufw"))
        except CommandFailedError:
            await ctx.tell(msg("firewall.apply_failed"), Level.ERROR)
            await _roll_back(ctx, before, await read_state(ctx))
            raise
    await ctx.tell(msg("firewall.proving", port=ssh_port))
    problem = await _new_login_problem(ctx)
    if problem is not None:
        await ctx.tell(msg("firewall.proof_failed", problem=problem), Level.ERROR)
        await _roll_back(ctx, before, await read_state(ctx))
        again = await _new_login_problem(ctx)
        state = msg("firewall.restored") if again is None else msg("firewall.still_locked", problem=again)
        raise LockoutPreventedError(msg("firewall.lockout_prevented", port=ssh_port, state=state))
    summary = ", ".join(rules)
    if not changed:
        return StepOutcome(StepStatus.UNCHANGED, msg("firewall.unchanged", rules=summary))
    return StepOutcome(StepStatus.SUCCEEDED, msg("firewall.enabled", rules=summary), changed=True)


async def _new_login_problem(ctx: StepContext) -> Msg | None:
    """Open a brand-new SSH connection (same credentials, same host key); None if it logs in."""
    try:
        fresh = await open_connection(
            ctx.target,
            ctx.known_hosts,
            connect_timeout=ctx.connect_timeout,
            keepalive_interval=ctx.keepalive_interval,
            expected_fingerprint=ctx.fingerprint,
        )
    except ConnectError as exc:
        return exc.msg
    try:
        done = await fresh.conn.run("true")
        return None if done.exit_status == 0 else msg("error.new_login_cannot_run")
    finally:
        fresh.close()


async def _roll_back(ctx: StepContext, before: FirewallState, after: FirewallState) -> None:
    """Undo this step: delete the rules it added, restore the default policy and the on/off state."""
    if not before.active:
        await ctx.run("ufw --force disable")
    for rule in after.rules:
        if rule not in before.rules:
            args = " ".join(shlex.quote(token) for token in shlex.split(rule))
            await ctx.run(f"ufw --force delete {args}")
    if before.incoming and before.incoming != after.incoming:
        await ctx.run(f"ufw default {shlex.quote(before.incoming)} incoming")
    if before.active:
        await ctx.run("ufw --force reload")


def firewall_step(options: SetupOptions, target: Target, settings: PlanSettings) -> Step:
    """The firewall step; its commands allow the login's port and the chosen ones."""
    rules = wanted_rules(target.port, options.firewall_ports, lockout_drill=settings.lockout_drill)
    return Step(
        id="firewall",
        name="配置防火墙 (ufw)",
        commands=(
            Command(install_command(["ufw"]), msg("plan.note.ufw_install")),
            Command(
                apply_script(rules),
                msg("plan.note.firewall_apply", port=target.port),
            ),
            Command(
                login_command(target, "true"),
                msg("plan.note.firewall_proof"),
            ),
        ),
        check=msg("plan.check.firewall", files=SETTINGS_FILES),
        policy=Policy.ABORT,
        action=configure_firewall,
    )
