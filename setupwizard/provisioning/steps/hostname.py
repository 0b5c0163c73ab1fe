"""Optional steps: the host name (with its ``127.0.1.1`` line in /etc/hosts) and the time zone.

Both use systemd's tools (``hostnamectl``, ``timedatectl``) when systemd runs, and the plain files
otherwise (a container without systemd). Each first reads the current state and changes nothing when
it already matches.
"""

from __future__ import annotations

import re
import shlex

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus

_SECTION = "--- setupwizard:"
HOSTS_LINE = re.compile(r"^127\.0\.1\.1[ \t]")
HAS_SYSTEMD = "[ -d /run/systemd/system ] && command -v"
HOSTNAME_STATE = (
    f'echo "{_SECTION}static"; hostnamectl --static 2>/dev/null || cat /etc/hostname; '
    f'echo "{_SECTION}transient"; hostname; '
    f"echo \"{_SECTION}hosts\"; grep -E '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; true"
)


def sections(lines: list[str]) -> dict[str, list[str]]:
    """Split output marked with ``--- setupwizard:NAME`` lines into named parts."""
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith(_SECTION):
            current = parts.setdefault(line[len(_SECTION) :].strip(), [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return parts


def host_names(name: str) -> list[str]:
    """The names the ``127.0.1.1`` line carries: the full name, then the short one if it differs."""
    short = name.split(".", 1)[0]
    return [name] if short == name else [name, short]


def hosts_entry(name: str) -> str:
    """The ``127.0.1.1`` line of /etc/hosts for ``name`` (as Debian's installer writes it)."""
    return "127.0.1.1\t" + " ".join(host_names(name))


def hostname_in_place(lines: list[str], name: str) -> bool:
    """The static and running host names are ``name`` and /etc/hosts has exactly its one 127.0.1.1 line."""
    parts = sections(lines)
    hosts = parts.get("hosts", [])
    return (
        parts.get("static") == [name]
        and parts.get("transient") == [name]
        and len(hosts) == 1
        and hosts[0].split()[1:] == host_names(name)
    )


def set_hostname_script(name: str) -> str:
    """Rewrite the 127.0.1.1 line in place (first, so sudo resolves the new name), then set the name.

    /etc/hosts is rewritten through ``cat >`` rather than ``sed -i``: in a container it may be a bind
    mount, which cannot be replaced by a new file.
    """
    entry = shlex.quote(hosts_entry(name))
    quoted = shlex.quote(name)
    return (
        "set -e; "
        f"new=$(awk -v e={entry} 'BEGIN{{d=0}} /^127\\.0\\.1\\.1[ \\t]/ {{ if (!d) print e; d=1; next }} "
        "{ print } END { if (!d) print e }' /etc/hosts); "
        "printf '%s\\n' \"$new\" > /etc/hosts; "
        f"if {HAS_SYSTEMD} hostnamectl >/dev/null; then hostnamectl set-hostname {quoted}; "
        f"else printf '%s\\n' {quoted} > /etc/hostname; hostname {quoted}; fi"
    )


async def set_hostname(ctx: StepContext) -> StepOutcome:
    """Set the host name and its /etc/hosts line unless both are already right."""
    name = ctx.options.hostname or ""
    before = await ctx.run_or_fail(HOSTNAME_STATE, msg("action.read_hostname"), quiet=True)
    if hostname_in_place(before.lines, name):
        return StepOutcome(StepStatus.UNCHANGED, msg("hostname.unchanged", name=name))
    await ctx.run_or_fail(set_hostname_script(name), msg("action.set_hostname"))
    after = await ctx.run_or_fail(HOSTNAME_STATE, msg("action.read_hostname"), quiet=True)
    if not hostname_in_place(after.lines, name):
        return StepOutcome(StepStatus.FAILED, msg("hostname.not_applied", name=name))
    return StepOutcome(StepStatus.SUCCEEDED, msg("hostname.done", name=name), changed=True)


def timezone_state(zone: str) -> str:
    """Print the current zone, then ``known`` or ``unknown`` for ``zone`` (the server's own list)."""
    quoted = shlex.quote(zone)
    return (
        f"if {HAS_SYSTEMD} timedatectl >/dev/null; then "
        "timedatectl show -p Timezone --value; "
        f"timedatectl list-timezones | grep -qxF -- {quoted} && echo known || echo unknown; "
        "else cat /etc/timezone 2>/dev/null || echo '?'; "
        f"[ -f /usr/share/zoneinfo/{quoted} ] && echo known || echo unknown; fi"
    )


def set_timezone_script(zone: str) -> str:
    """``timedatectl set-timezone``, or the /etc/localtime link and /etc/timezone without systemd."""
    quoted = shlex.quote(zone)
    return (
        f"if {HAS_SYSTEMD} timedatectl >/dev/null; then timedatectl set-timezone {quoted}; "
        f"else ln -sf /usr/share/zoneinfo/{quoted} /etc/localtime && "
        f"printf '%s\\n' {quoted} > /etc/timezone; fi"
    )


async def set_timezone(ctx: StepContext) -> StepOutcome:
    """Set the time zone unless it is set already; refuse a zone the server does not know."""
    zone = ctx.options.timezone or ""
    state = [
        line.strip()
        for line in (
            await ctx.run_or_fail(timezone_state(zone), msg("action.read_timezone"), quiet=True)
        ).lines
    ]
    if state[-1:] != ["known"]:
        return StepOutcome(StepStatus.FAILED, msg("timezone.unknown", zone=zone))
    if state[:1] == [zone]:
        return StepOutcome(StepStatus.UNCHANGED, msg("timezone.unchanged", zone=zone))
    await ctx.run_or_fail(set_timezone_script(zone), msg("action.set_timezone"))
    after = [
        line.strip()
        for line in (
            await ctx.run_or_fail(timezone_state(zone), msg("action.read_timezone"), quiet=True)
        ).lines
    ]
    if after[:1] != [zone]:
        return StepOutcome(StepStatus.FAILED, msg("timezone.not_applied", zone=zone))
    return StepOutcome(StepStatus.SUCCEEDED, msg("timezone.done", zone=zone), changed=True)


def hostname_step(name: str) -> Step:
    """The hostname step for ``name`` (its command is the one the step sends)."""
    return Step(
        id="hostname",
        name="设置主机名",
        commands=(
            Command(
                set_hostname_script(name),
                msg("plan.note.hostname", entry=repr(hosts_entry(name))),
            ),
        ),
        check=msg("plan.check.hostname", name=name),
        policy=Policy.ABORT,
        action=set_hostname,
    )


def timezone_step(zone: str) -> Step:
    """The time zone step for ``zone``."""
    return Step(
        id="timezone",
        name="设置时区",
        commands=(
            Command(
                set_timezone_script(zone),
                msg("plan.note.timezone", zone=zone),
            ),
        ),
        check=msg("plan.check.timezone", zone=zone),
        policy=Policy.ABORT,
        action=set_timezone,
    )
