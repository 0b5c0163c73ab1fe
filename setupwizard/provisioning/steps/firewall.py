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
from setupwizard.provisioning.plan import Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.steps.apt import APT_ENV, APT_GET
from setupwizard.provisioning.validate import parse_port_spec

STATE = "export LC_ALL=C; ufw status verbose; echo '--- added'; ufw show added"


@dataclass(frozen=True)
class FirewallState:
    """What ``ufw status verbose`` and ``ufw show added`` say."""

    active: bool
    incoming: str  # deny | allow | reject | "" when unknown
    rules: tuple[str, ...]  # "allow 22/tcp", as ``ufw show added`` lists them (without "ufw ")


def parse_state(lines: list[str]) -> FirewallState:
    """Parse the output of :data:`STATE`."""
    active = False
    incoming = ""
    rules: list[str] = []
    in_added = False
    for line in lines:
        text = line.strip()
        if text == "--- added":
            in_added = True
        elif in_added:
            if text.startswith("ufw "):
                rules.append(text[4:])
        elif text.startswith("Status:"):
            active = text.split(":", 1)[1].strip() == "active"
        elif text.startswith("Default:"):
            for part in text.split(":", 1)[1].split(","):
                words = part.split()
                if len(words) >= 2 and words[1] == "(incoming)":
                    incoming = words[0]
    return FirewallState(active, incoming, tuple(rules))


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
    return parse_state((await ctx.must(STATE, "读取 ufw 状态", quiet=True)).lines)


async def configure_firewall(ctx: StepContext) -> StepOutcome:
    """Apply the rules, enable ufw, prove a new SSH login works, roll back if it does not.

    Cancel is honoured only before the first change: a firewall left half-way could lock SSH out.
    """
    if not (await ctx.run("command -v ufw", quiet=True)).ok:
        await ctx.say("ufw 未安装，先安装 ufw")
        await ctx.must(APT_ENV + APT_GET + " install -- ufw", "安装 ufw ", time_limit=1800)
    with ctx.remote.uncancellable():
        return await _apply_and_prove(ctx)


async def _apply_and_prove(ctx: StepContext) -> StepOutcome:
    ssh_port = ctx.ssh_port or ctx.target.port
    before = await read_state(ctx)
    rules = wanted_rules(ssh_port, ctx.options.firewall_ports, lockout_drill=ctx.settings.lockout_drill)
    if ctx.settings.lockout_drill:
        await ctx.say(f"演练: 故意拒绝 SSH 端口 {ssh_port}，以验证防锁死保护", Level.WARNING)
    try:
        for rule in rules:
            await ctx.must(f"ufw {rule}", f"ufw {rule} ")
        await ctx.must("ufw default deny incoming", "ufw default deny incoming ")
        await ctx.must("ufw --force enable", "ufw enable ")
    except CommandFailedError:
        await ctx.say("防火墙配置失败，正在撤销本步骤的更改 …", Level.ERROR)
        await _roll_back(ctx, before, await read_state(ctx))
        raise
    after = await read_state(ctx)
    changed = after != before
    await ctx.say(f"正在用新的 SSH 连接验证端口 {ssh_port} 仍可登录 …")
    problem = await _new_login_problem(ctx)
    if problem is not None:
        await ctx.say(f"新的 SSH 连接失败（{problem}），正在回滚防火墙 …", Level.ERROR)
        await _roll_back(ctx, before, after)
        again = await _new_login_problem(ctx)
        state = "回滚后新的 SSH 连接已恢复" if again is None else f"回滚后仍无法新建连接: {again}"
        raise LockoutPreventedError(
            f"启用防火墙后无法建立新的 SSH 连接（端口 {ssh_port}），已通过现有连接回滚防火墙设置；{state}。"
            "请检查端口设置和云厂商的安全组。"
        )
    summary = ", ".join(rules)
    if not changed:
        return StepOutcome(StepStatus.UNCHANGED, f"防火墙已启用，规则已存在，无需更改: {summary}")
    return StepOutcome(StepStatus.SUCCEEDED, f"防火墙已启用: {summary}；默认拒绝入站", changed=True)


async def _new_login_problem(ctx: StepContext) -> str | None:
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
        return str(exc)
    try:
        done = await fresh.conn.run("true")
        return None if done.exit_status == 0 else "新连接无法运行命令"
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


FIREWALL = Step(
    id="firewall",
    name="配置防火墙 (ufw)",
    commands=(
        "ufw allow SSH_PORT/tcp",
        "ufw allow PORT  # each requested port",
        "ufw default deny incoming",
        "ufw --force enable",
        "ssh USER@HOST -p PORT true  # a brand-new connection must still get in",
    ),
    check="ufw status verbose / ufw show added unchanged",
    policy=Policy.ABORT,
    action=configure_firewall,
)
