"""Steps 3–4: wait for apt/dpkg to be free, update, optionally upgrade, install packages."""

from __future__ import annotations

import asyncio
import re
import shlex

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import CommandFailedError, StepCancelled
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.messages import Msg, msg, text_msg
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.remote import CommandResult
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.steps.dpkg_settle import settle_packages
from setupwizard.provisioning.target import SetupOptions

APT_ENV = "export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a LC_ALL=C; "
APT_GET = (
    "apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
    "-o Dpkg::Progress-Fancy=0 -o APT::Color=0 -o DPkg::Lock::Timeout=300"
)
PACKAGE_PROCESSES = ("apt", "apt-get", "aptitude", "dpkg", "packagekitd")
POLL_SECONDS = 3.0
"""How often the wait says which package manager it waits for."""
CHECK_SECONDS = 0.25
"""How often the server looks again while one works: the plan goes on within this of the lock's release
(it used to look every ``POLL_SECONDS``, up to 3 s late on a fresh cloud server running apt-daily)."""
# Lists running package-manager processes from /proc (no procps/psmisc needed) every CHECK_SECONDS for up
# to POLL_SECONDS: exit 0 as soon as none works (at once when none does), else exit 1 printing who works.
# unattended-upgrades counts only while it works: its idle "unattended-upgrade-shutdown" helper does not.
BUSY_CHECK = (
    "scan() { busy=''; for p in /proc/[0-9]*; do read -r c 2>/dev/null < \"$p/comm\" || continue; "
    f'case "$c" in {"|".join(PACKAGE_PROCESSES)}) busy="$busy $c";; '
    "unattended-upgr) a=$(tr '\\0' ' ' 2>/dev/null < \"$p/cmdline\"); "
    'case "$a" in *unattended-upgrade-shutdown*) ;; *) busy="$busy unattended-upgrades";; esac;; esac; '
    "done; }; "
    f"n={round(POLL_SECONDS / CHECK_SECONDS)}; "
    f'while scan; [ -n "$busy" ] && [ "$n" -gt 1 ]; do n=$((n - 1)); sleep {CHECK_SECONDS:g}; done; '
    "if [ -n \"$busy\" ]; then echo \"$busy\" | tr ' ' '\\n' | sort -u | tr '\\n' ' '; exit 1; fi"
)
# The stamp apt's own periodic job (and Ubuntu's update hook) touches after a successful update.
UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"
# apt sources and keys: a change to any of them after the stamp means the lists must be fetched again.
APT_SOURCES = (
    "/etc/apt/sources.list /etc/apt/sources.list.d/* /etc/apt/trusted.gpg /etc/apt/trusted.gpg.d/* "
    "/etc/apt/keyrings/* /usr/share/keyrings/*"
)
_AUDIT_END = "--- setupwizard:fresh"
# Package description translations are not needed to install anything: about 40% of a fresh
# Debian 12 update's download (6.1 of 15 MB). The package indexes are fetched as .gz where the archive
# has them (apt falls back to its own order where not): unpacking Packages.xz is most of the server's CPU
# in an update, and .gz's larger download (+38 %) is fetched sooner than xz is unpacked on a link of
# 100 Mbit/s or more. Both are for this one command: the server's own later updates keep its apt settings
# (the trade and its figures: docs/engine.md).
UPDATE_OPTIONS = " -o Acquire::Languages=none -o Acquire::CompressionTypes::Order::=gz"
_UPGRADED = re.compile(r"^(\d+) upgraded, (\d+) newly installed", re.MULTILINE)
# apt-get update's refusal when another update holds the lists lock (exit 100). DPkg::Lock::Timeout
# waits for the dpkg lock only, not for this one, so the step retries itself (LC_ALL=C: English text).
LISTS_LOCK_ERRORS = (
    "E: Could not get lock /var/lib/apt/lists/lock",
    "E: Unable to lock directory /var/lib/apt/lists/",
)


# The commands the steps send, one definition each (the plan preview shows the same strings).
CONFIGURE = APT_ENV + "dpkg --force-confdef --force-confold --configure -a"
UPDATE_COMMAND = APT_ENV + APT_GET + UPDATE_OPTIONS + " update"
TOUCH_STAMP = f"mkdir -p {UPDATE_STAMP.rsplit('/', 1)[0]} && touch {UPDATE_STAMP}"
UPGRADE_COMMAND = APT_ENV + APT_GET + " upgrade"


def install_command(packages: list[str]) -> str:
    """``apt-get install`` of ``packages`` (quoted, ``--`` before the names)."""
    names = " ".join(shlex.quote(p) for p in packages)
    return APT_ENV + APT_GET + f" install -- {names}"


async def _pause(ctx: StepContext, seconds: float) -> None:
    """Sleep ``seconds``; raise :class:`StepCancelled` when the user cancels meanwhile."""
    try:
        await asyncio.wait_for(ctx.cancel.wait(), timeout=seconds)
    except TimeoutError:
        return
    raise StepCancelled()


async def apt_or_settle(ctx: StepContext, command: str, what: Msg, *, time_limit: float) -> CommandResult:
    """``ctx.run_or_fail`` for an apt command that runs dpkg; a cancel meanwhile lets dpkg finish and repairs
    what it left before the step ends cancelled (:mod:`~setupwizard.provisioning.steps.dpkg_settle`)."""
    try:
        return await ctx.run_or_fail(command, what, time_limit=time_limit)
    except StepCancelled:
        raise StepCancelled(await settle_packages(ctx, BUSY_CHECK, CONFIGURE)) from None


def lists_locked(error: CommandFailedError) -> bool:
    """True when apt-get failed only because another process holds the package lists' lock."""
    return error.exit_status == 100 and any(line.startswith(LISTS_LOCK_ERRORS) for line in error.tail)


async def wait_for_apt(ctx: StepContext) -> StepOutcome:
    """Wait until no other apt/dpkg process works, up to the configured timeout; each round of
    :data:`BUSY_CHECK` waits on the server for up to ``POLL_SECONDS``, then the log says who works."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.settings.apt_lock_timeout
    started = loop.time()
    waited = False
    while True:
        result = await ctx.run(BUSY_CHECK, quiet=True)
        if result.exit_status == 0:
            if waited:
                idle = msg("apt_wait.idle_after", seconds=f"{loop.time() - started:.0f}")
                return StepOutcome(StepStatus.SUCCEEDED, idle)
            return StepOutcome(StepStatus.UNCHANGED, msg("apt_wait.idle"))
        who = " ".join(result.lines).strip() or "apt/dpkg"
        if loop.time() >= deadline:
            limit = f"{ctx.settings.apt_lock_timeout:.0f}"
            return StepOutcome(StepStatus.FAILED, msg("apt_wait.timeout", limit=limit, who=who))
        waited = True
        so_far = f"{loop.time() - started:.0f}"
        await ctx.tell(msg("apt_wait.waiting", who=who, seconds=so_far), Level.WARNING)


def lists_fresh_check(max_age: float) -> str:
    """Exit 0 when the package lists exist, the update stamp is younger than ``max_age`` seconds and
    no apt source or key changed since the stamp; otherwise exit 1."""
    return (
        f"s={UPDATE_STAMP}; [ -e $s ] || exit 1; "
        "ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || exit 1; "
        "age=$(( $(date +%s) - $(stat -c %Y $s) )); "
        f'[ "$age" -ge 0 ] && [ "$age" -lt {int(max_age)} ] || exit 1; '
        f'for f in {APT_SOURCES}; do [ -e "$f" ] && [ "$f" -nt $s ] && exit 1; done; exit 0'
    )


def update_check(max_age: float) -> str:
    """``dpkg --audit``, then a marker line, then ``fresh`` or ``stale`` (one round trip)."""
    if max_age <= 0:
        return f"dpkg --audit; echo '{_AUDIT_END}'; echo stale"
    return f"dpkg --audit; echo '{_AUDIT_END}'; ( {lists_fresh_check(max_age)} ) && echo fresh || echo stale"


def update_warnings(lines: list[str]) -> list[str]:
    """apt-get update's ``W:`` lines (a source that failed to download is a warning, exit status 0)."""
    return [line for line in lines if line.startswith("W:")]


async def apt_update(ctx: StepContext) -> StepOutcome:
    """Finish any interrupted dpkg run (e.g. a cancelled setup), then refresh the package lists.

    The update is skipped when the lists were refreshed less than ``apt_lists_max_age`` ago and no
    source changed since (never when upgrading). A ``W:`` line (e.g. ``W: Failed to fetch``) makes
    the step a warning with the reason.
    """
    max_age = 0.0 if ctx.options.upgrade else ctx.settings.apt_lists_max_age
    check = (await ctx.run(update_check(max_age), quiet=True)).lines
    split = check.index(_AUDIT_END) if _AUDIT_END in check else len(check)
    if check[:split]:
        await ctx.tell(msg("apt_update.dpkg_configure"), Level.WARNING)
        await ctx.run_or_fail(CONFIGURE, msg("action.command", command="dpkg --configure -a"))
    if check[split + 1 :] == ["fresh"]:
        fresh = msg("apt_update.fresh", minutes=max(1, round(max_age / 60)))
        return StepOutcome(StepStatus.UNCHANGED, fresh)
    result = await _update_waiting_for_lists_lock(ctx)
    warnings = update_warnings(result.lines)
    if warnings:
        reason = ctx.emitter.redact(warnings[0])
        more = msg("apt_update.more_warnings", count=len(warnings)) if len(warnings) > 1 else text_msg("")
        return StepOutcome(StepStatus.WARNING, msg("apt_update.warning", reason=reason, more=more))
    await ctx.run(TOUCH_STAMP, quiet=True)
    return StepOutcome(StepStatus.SUCCEEDED, msg("apt_update.done"))


async def _update_waiting_for_lists_lock(ctx: StepContext) -> CommandResult:
    """``apt-get update``, run again while another update holds the lists lock (up to the apt lock
    timeout, saying so in the log); any other failure raises at once."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + ctx.settings.apt_lock_timeout
    while True:
        try:
            return await ctx.run_or_fail(
                UPDATE_COMMAND, msg("action.command", command="apt-get update"), time_limit=1800
            )
        except CommandFailedError as exc:
            if not lists_locked(exc) or loop.time() >= deadline:
                raise
        waited = f"{loop.time() - started:.0f}"
        await ctx.tell(msg("apt_update.lists_locked", seconds=waited), Level.WARNING)
        await _pause(ctx, min(POLL_SECONDS, max(0.0, deadline - loop.time())))


async def apt_upgrade(ctx: StepContext) -> StepOutcome:
    """Upgrade installed packages (only when asked)."""
    result = await apt_or_settle(
        ctx, UPGRADE_COMMAND, msg("action.command", command="apt-get upgrade"), time_limit=3600
    )
    match = _UPGRADED.search("\n".join(result.lines))
    if match and match.group(1) == "0" and match.group(2) == "0":
        return StepOutcome(StepStatus.UNCHANGED, msg("apt_upgrade.none"))
    count = match.group(1) if match else "?"
    return StepOutcome(StepStatus.SUCCEEDED, msg("apt_upgrade.done", count=count), changed=True)


def installed_query(packages: list[str]) -> str:
    """A dpkg-query command listing each package with its status (quoted, ``--`` before names)."""
    names = " ".join(shlex.quote(p) for p in packages)
    return f"dpkg-query -W -f='${{Package}} ${{db:Status-Abbrev}}\\n' -- {names} 2>/dev/null; true"


def wanted_packages(options: SetupOptions) -> list[str]:
    """The packages asked for, each once, in the order given."""
    return list(dict.fromkeys(options.packages))


def parse_installed(lines: list[str]) -> set[str]:
    """Names whose dpkg status is ``ii`` (installed) in :func:`installed_query` output."""
    found: set[str] = set()
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("ii"):
            found.add(parts[0].split(":")[0])
    return found


async def install_packages(ctx: StepContext) -> StepOutcome:
    """Install the requested packages that are not installed yet."""
    wanted = wanted_packages(ctx.options)
    if not wanted:
        return StepOutcome(StepStatus.SKIPPED, msg("packages.none"))
    present = parse_installed((await ctx.run(installed_query(wanted), quiet=True)).lines)
    missing = [p for p in wanted if p not in present]
    if not missing:
        return StepOutcome(StepStatus.UNCHANGED, msg("packages.present", packages=", ".join(wanted)))
    installed = ", ".join(sorted(present)) or msg("packages.nothing")
    await ctx.tell(msg("packages.plan", present=installed, missing=", ".join(missing)))
    await apt_or_settle(
        ctx, install_command(missing), msg("action.command", command="apt-get install"), time_limit=3600
    )
    present = parse_installed((await ctx.run(installed_query(wanted), quiet=True)).lines)
    still = [p for p in wanted if p not in present]
    if still:
        return StepOutcome(StepStatus.FAILED, msg("packages.missing_after", packages=", ".join(still)))
    installed_now = msg("packages.installed", packages=", ".join(missing))
    return StepOutcome(StepStatus.SUCCEEDED, installed_now, changed=True)


def wait_step(settings: PlanSettings) -> Step:
    """Wait for other package managers."""
    busy = ", ".join((*PACKAGE_PROCESSES, "unattended-upgrade"))
    return Step(
        id="apt_wait",
        name="等待其他 apt/dpkg 进程结束",
        commands=(
            Command(
                BUSY_CHECK,
                msg(
                    "plan.note.apt_wait",
                    busy=busy,
                    check=f"{CHECK_SECONDS:g}",
                    poll=f"{POLL_SECONDS:.0f}",
                    limit=f"{settings.apt_lock_timeout:.0f}",
                ),
            ),
        ),
        check=msg("plan.check.apt_wait"),
        policy=Policy.ABORT,
        action=wait_for_apt,
    )


def update_step(options: SetupOptions, settings: PlanSettings) -> Step:
    """``apt-get update``, skipped while the lists are fresh (never when upgrading)."""
    max_age = 0.0 if options.upgrade else settings.apt_lists_max_age
    if max_age > 0:
        when = msg("plan.note.apt_update_fresh", stamp=UPDATE_STAMP, minutes=max(1, round(max_age / 60)))
    else:
        when = msg("plan.note.apt_update_always")
    return Step(
        id="apt_update",
        name="更新软件源 (apt-get update)",
        commands=(
            Command(CONFIGURE, msg("plan.note.dpkg_configure")),
            Command(UPDATE_COMMAND, when),
            Command(TOUCH_STAMP, msg("plan.note.apt_stamp")),
        ),
        check=msg("plan.check.apt_update", stamp=UPDATE_STAMP) if max_age > 0 else None,
        policy=Policy.ABORT,
        action=apt_update,
    )


def upgrade_step() -> Step:
    """``apt-get upgrade`` (a failure warns, the plan goes on)."""
    return Step(
        id="apt_upgrade",
        name="升级已安装的软件包 (apt-get upgrade)",
        commands=(Command(UPGRADE_COMMAND),),
        check=msg("plan.check.apt_upgrade"),
        policy=Policy.WARN,
        action=apt_upgrade,
    )


def install_step(options: SetupOptions) -> Step:
    """Install the chosen packages that are missing."""
    wanted = wanted_packages(options)
    return Step(
        id="packages",
        name="安装软件包",
        commands=(
            Command(
                install_command(wanted),
                msg("plan.note.packages"),
            ),
        ),
        check=msg("plan.check.packages", query=installed_query(wanted)),
        policy=Policy.ABORT,
        action=install_packages,
    )
