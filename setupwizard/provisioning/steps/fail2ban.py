"""Optional step: fail2ban for sshd that really runs on a journald-only server.

A fresh Debian 12 cloud image logs to journald only (no rsyslog): there ``apt-get install fail2ban``
leaves the service *failed* ("Have not found any log file for sshd jail"), because the sshd jail
looks for /var/log/auth.log. Its ban action is iptables, which such an image does not have either.
Debian 13 ships a ``defaults-debian.conf`` that reads the journal and bans with nftables. This step
writes the same settings in a drop-in of its own on both, restarts fail2ban, and proves the jail runs
with ``fail2ban-client status sshd``. If fail2ban does not come up with the drop-in, the drop-in is
taken back out (the earlier one restored) and the step fails with fail2ban's own last log lines.
"""

from __future__ import annotations

import asyncio
import shlex

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.plan import Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.steps.apt import APT_ENV, APT_GET, installed_query, parse_installed

DROP_IN = "/etc/fail2ban/jail.d/setupwizard-sshd.local"
PACKAGES = ("fail2ban", "python3-systemd", "nftables")
STATUS = "fail2ban-client status sshd"
READY_TRIES = 40  # × 0.5 s: the server socket appears a moment after systemd says "started"
_MARK = "--- setupwizard:"


def drop_in() -> str:
    """The jail settings: journald as the log, nftables to ban.

    A banned address is dropped on every port (``type=allports``), so the text names no port: it stays
    the same when SSH hardening moves sshd, and a re-run after the move finds it unchanged.
    """
    return (
        "# Written by Setup Wizard: the sshd jail on a journald-only system.\n"
        "[sshd]\n"
        "enabled = true\n"
        "backend = systemd\n"
        "banaction = nftables[type=allports]\n"
        "banaction_allports = nftables[type=allports]\n"
    )


def state_script() -> str:
    """The drop-in's content, then whether fail2ban is active and its sshd jail answers."""
    return (
        f"cat {DROP_IN} 2>/dev/null; echo '{_MARK}active'; systemctl is-active fail2ban 2>/dev/null; "
        f"echo '{_MARK}jail'; {STATUS} >/dev/null 2>&1 && echo up || echo down"
    )


def parse_state(lines: list[str]) -> tuple[str, bool]:
    """``(drop-in text, fail2ban active with the sshd jail up)`` from :func:`state_script`'s output."""
    content: list[str] = []
    rest: dict[str, list[str]] = {}
    current: list[str] = content
    for line in lines:
        if line.startswith(_MARK):
            current = rest.setdefault(line[len(_MARK) :], [])
        else:
            current.append(line)
    text = "".join(line + "\n" for line in content)
    running = rest.get("active", [""])[:1] == ["active"] and rest.get("jail") == ["up"]
    return text, running


async def wait_for_jail(ctx: StepContext) -> bool:
    """Poll ``fail2ban-client status sshd`` until it answers (True) or the tries run out."""
    for _ in range(READY_TRIES):
        if (await ctx.run(f"{STATUS} >/dev/null 2>&1", quiet=True)).exit_status == 0:
            return True
        await asyncio.sleep(0.5)
    return False


async def configure_fail2ban(ctx: StepContext) -> StepOutcome:
    """Install fail2ban, write the drop-in, (re)start it and prove the sshd jail runs."""
    wanted = drop_in()
    present = parse_installed((await ctx.run(installed_query(list(PACKAGES)), quiet=True)).lines)
    missing = [p for p in PACKAGES if p not in present]
    if not missing:
        content, running = parse_state((await ctx.run(state_script(), quiet=True)).lines)
        if content == wanted and running:
            return StepOutcome(StepStatus.UNCHANGED, msg("fail2ban.unchanged"))
    else:
        names = " ".join(shlex.quote(p) for p in missing)
        await ctx.must(APT_ENV + APT_GET + f" install -- {names}", "apt-get install ", time_limit=1800)
    backup = f"{DROP_IN}.setupwizard-old"
    await ctx.must(
        f"mkdir -p /etc/fail2ban/jail.d && rm -f {backup} && "
        f"{{ [ ! -e {DROP_IN} ] || cp -p {DROP_IN} {backup}; }} && "
        f"printf '%s' {shlex.quote(wanted)} > {DROP_IN}.tmp && mv {DROP_IN}.tmp {DROP_IN}",
        "写入 fail2ban 配置 ",
    )
    await ctx.must("systemctl enable fail2ban && systemctl restart fail2ban", "启动 fail2ban ")
    if await wait_for_jail(ctx):
        await ctx.run(f"rm -f {backup}", quiet=True)
        await ctx.must(STATUS, "fail2ban-client status sshd ")
        return StepOutcome(StepStatus.SUCCEEDED, msg("fail2ban.done"), changed=True)
    await ctx.run("journalctl -u fail2ban -n 15 --no-pager -o cat")
    await ctx.run(
        f"if [ -e {backup} ]; then mv {backup} {DROP_IN}; else rm -f {DROP_IN}; fi; "
        "systemctl restart fail2ban; true",
        quiet=True,
    )
    return StepOutcome(StepStatus.FAILED, msg("fail2ban.not_running"))


def fail2ban_step() -> Step:
    """The fail2ban step."""
    return Step(
        id="fail2ban",
        name="配置 fail2ban (sshd)",
        commands=(
            f"{APT_GET} install -- {' '.join(PACKAGES)}  # only the missing ones",
            f"write {DROP_IN}: [sshd] enabled = true, backend = systemd, banaction = nftables[type=allports]",
            "systemctl enable fail2ban && systemctl restart fail2ban",
            f"{STATUS}  # the jail must answer; otherwise the drop-in is taken back out",
        ),
        check=f"packages installed, {DROP_IN} as written, fail2ban active and `{STATUS}` answers",
        policy=Policy.ABORT,
        action=configure_fail2ban,
    )
