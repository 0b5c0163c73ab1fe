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
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.steps.apt import (
    apt_or_settle,
    install_command,
    installed_query,
    parse_installed,
)

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


BACKUP = f"{DROP_IN}.setupwizard-old"
# Keep the earlier drop-in beside it, then write ours in one move.
WRITE = (
    f"mkdir -p /etc/fail2ban/jail.d && rm -f {BACKUP} && "
    f"{{ [ ! -e {DROP_IN} ] || cp -p {DROP_IN} {BACKUP}; }} && "
    f"printf '%s' {shlex.quote(drop_in())} > {DROP_IN}.tmp && mv {DROP_IN}.tmp {DROP_IN}"
)
RESTART = "systemctl enable fail2ban && systemctl restart fail2ban"
JOURNAL = "journalctl -u fail2ban -n 15 --no-pager -o cat"
ROLL_BACK = (
    f"if [ -e {BACKUP} ]; then mv {BACKUP} {DROP_IN}; else rm -f {DROP_IN}; fi; "
    "systemctl restart fail2ban; true"
)


async def wait_for_jail(ctx: StepContext) -> bool:
    """Poll ``fail2ban-client status sshd`` until it answers (True) or the tries run out."""
    for _ in range(READY_TRIES):
        if (await ctx.run(f"{STATUS} >/dev/null 2>&1", quiet=True)).exit_status == 0:
            return True
        await asyncio.sleep(0.5)
    return False


async def configure_fail2ban(ctx: StepContext) -> StepOutcome:
    """Install fail2ban, write the drop-in, (re)start it and prove the sshd jail runs."""
    present = parse_installed((await ctx.run(installed_query(list(PACKAGES)), quiet=True)).lines)
    missing = [p for p in PACKAGES if p not in present]
    if not missing:
        content, running = parse_state((await ctx.run(state_script(), quiet=True)).lines)
        if content == drop_in() and running:
            return StepOutcome(StepStatus.UNCHANGED, msg("fail2ban.unchanged"))
    else:
        await apt_or_settle(
            ctx, install_command(missing), msg("action.command", command="apt-get install"), time_limit=1800
        )
    await ctx.run_or_fail(WRITE, msg("action.write_fail2ban"))
    await ctx.run_or_fail(RESTART, msg("action.start_fail2ban"))
    if await wait_for_jail(ctx):
        await ctx.run(f"rm -f {BACKUP}", quiet=True)
        await ctx.run_or_fail(STATUS, msg("action.command", command="fail2ban-client status sshd"))
        return StepOutcome(StepStatus.SUCCEEDED, msg("fail2ban.done"), changed=True)
    await ctx.run(JOURNAL)
    await ctx.run(ROLL_BACK, quiet=True)
    return StepOutcome(StepStatus.FAILED, msg("fail2ban.not_running"))


def fail2ban_step() -> Step:
    """The fail2ban step."""
    return Step(
        id="fail2ban",
        name="配置 fail2ban (sshd)",
        commands=(
            Command(install_command(list(PACKAGES)), msg("plan.note.fail2ban_install")),
            Command(WRITE, msg("plan.note.fail2ban_write")),
            Command(RESTART),
            Command(STATUS, msg("plan.note.fail2ban_status", seconds=READY_TRIES // 2)),
            Command(
                ROLL_BACK,
                msg("plan.note.fail2ban_rollback", journal=JOURNAL),
            ),
        ),
        check=msg("plan.check.fail2ban", drop_in=DROP_IN, status=STATUS),
        policy=Policy.ABORT,
        action=configure_fail2ban,
    )
