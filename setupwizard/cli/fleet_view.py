"""What a many-host run shows: a live Rich table on a terminal, plain lines otherwise, then a recap.

The table has a row per host: its status mark (✓ ⚠ ✗, ▶ running, · queued, – skipped), step n/N, the
current step and the duration. Without a terminal (a pipe, CI, cron) each change is one plain line, so a log
reads in order. The recap is shaped like Ansible's PLAY RECAP: one line per host with its step counts, its
status, its duration and its log file, then the totals.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from setupwizard.cli.fleet_run import FleetHost, HostStatus, outcome_text
from setupwizard.provisioning.messages import Lang
from setupwizard.provisioning.result import StepStatus

MARKS = {
    HostStatus.QUEUED: ("·", "dim"),
    HostStatus.RUNNING: ("▶", "cyan"),
    HostStatus.SUCCEEDED: ("✓", "green"),
    HostStatus.WARNING: ("⚠", "yellow"),
    HostStatus.FAILED: ("✗", "red"),
    HostStatus.CANCELLED: ("✗", "yellow"),
    HostStatus.SKIPPED: ("–", "dim"),
}


PRIORITY = (
    HostStatus.FAILED,
    HostStatus.CANCELLED,
    HostStatus.RUNNING,
    HostStatus.WARNING,
    HostStatus.QUEUED,
    HostStatus.SUCCEEDED,
    HostStatus.SKIPPED,
)


def duration_text(seconds: float | None) -> str:
    """``12.3s``, ``4m05s``; ``-`` when it never started."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def step_text(host: FleetHost) -> str:
    """``3/6`` while it runs or after; empty before it knew its steps."""
    return f"{host.step_index}/{host.step_total}" if host.step_total else ""


def counts_line(hosts: Sequence[FleetHost]) -> str:
    """``2 succeeded, 1 running, 3 queued`` (only the statuses present, in the enum's order)."""
    counts = {status: sum(1 for h in hosts if h.status is status) for status in HostStatus}
    return ", ".join(f"{n} {status.value}" for status, n in counts.items() if n)


def rows_to_show(hosts: Sequence[FleetHost], limit: int | None) -> list[FleetHost]:
    """All hosts, or when more than ``limit``: the failed first, then running, warned, queued, succeeded,
    skipped ones, up to ``limit``, kept in the run's order (so a big run's table fits the terminal)."""
    if limit is None or len(hosts) <= limit:
        return list(hosts)
    ranked = sorted(range(len(hosts)), key=lambda i: (PRIORITY.index(hosts[i].status), i))
    return [hosts[i] for i in sorted(ranked[: max(limit, 1)])]


def fleet_table(hosts: Sequence[FleetHost], max_rows: int | None = None) -> RenderableType:
    """The live table: a row per host (at most ``max_rows``), then the counts."""
    table = Table(box=None, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("host", no_wrap=True)
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("current step", overflow="ellipsis", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    shown = rows_to_show(hosts, max_rows)
    for host in shown:
        mark, style = MARKS[host.status]
        current = host.step if host.status is HostStatus.RUNNING else ""
        table.add_row(
            Text(mark, style=style),
            host.name,
            step_text(host),
            current,
            Text(host.status.value, style=style),
            duration_text(host.duration),
        )
    hidden = f" ({len(hosts) - len(shown)} more not shown)" if len(shown) < len(hosts) else ""
    return Group(table, Text(counts_line(hosts) + hidden, style="bold"))


def recap_lines(hosts: Sequence[FleetHost], elapsed: float, lang: Lang = "zh") -> list[str]:
    """Ansible's PLAY RECAP, for setup steps: ``name : ok=5 changed=2 warnings=0 failed=0 skipped=1``, its
    status, duration and log file; then the totals, and why each host that did not succeed ended so."""
    width = max((len(h.name) for h in hosts), default=0)
    lines = ["RECAP " + "*" * 60]
    for host in hosts:
        steps = host.result.steps if host.result is not None else []
        ok = sum(
            1 for s in steps if s.status in (StepStatus.SUCCEEDED, StepStatus.UNCHANGED, StepStatus.WARNING)
        )
        changed = sum(1 for s in steps if s.changed)
        warnings = sum(1 for s in steps if s.status is StepStatus.WARNING)
        failed = sum(1 for s in steps if s.status in (StepStatus.FAILED, StepStatus.CANCELLED))
        skipped = sum(1 for s in steps if s.status in (StepStatus.SKIPPED, StepStatus.PENDING))
        mark = MARKS[host.status][0]
        log = str(host.log_path) if host.started is not None else "no log: never started"
        lines.append(
            f"{host.name:<{width}} : ok={ok:<3} changed={changed:<3} warnings={warnings:<3} "
            f"failed={failed:<3} skipped={skipped:<3} {mark} {host.status.value:<9} "
            f"{duration_text(host.duration):>7}  {log}"
        )
    lines.append(f"{len(hosts)} hosts: {counts_line(hosts)} in {duration_text(elapsed)}")
    for host in hosts:
        if host.result is not None and not host.status.ok:
            lines.append(f"{MARKS[host.status][0]} {host.name}: {outcome_text(host.result, lang)}")
    return lines


class FleetView:
    """The run's terminal output. On a terminal a live table redrawn a few times a second; otherwise a
    plain line per change."""

    def __init__(self, hosts: Sequence[FleetHost], console: Console, lang: Lang = "zh") -> None:
        self.hosts = hosts
        self.console = console
        self.lang = lang
        self.live_table = console.is_terminal

    @contextmanager
    def live(self) -> Iterator[None]:
        """Show the live table for the duration of the block (nothing without a terminal)."""
        if not self.live_table:
            yield
            return

        def table() -> RenderableType:
            return fleet_table(self.hosts, max(self.console.size.height - 3, 1))  # header and counts

        with Live(get_renderable=table, console=self.console, refresh_per_second=4):
            yield

    def changed(self, host: FleetHost) -> None:
        """``host`` started, moved to another step or ended: one plain line without a terminal."""
        if self.live_table:
            return  # the table is redrawn on its own
        stamp = time.strftime("%H:%M:%S")
        mark = MARKS[host.status][0]
        if host.status is HostStatus.RUNNING:
            where = f"[{step_text(host)}] {host.step}" if host.step else "started"
            self.console.print(f"{stamp} {host.name}: {where}", highlight=False, soft_wrap=True)
        else:
            took = f" ({duration_text(host.duration)})" if host.started is not None else ""
            self.console.print(f"{stamp} {host.name}: {mark} {host.status.value}{took}", highlight=False)

    def recap(self, elapsed: float) -> None:
        """Print the recap after the run."""
        self.console.print()
        for line in recap_lines(self.hosts, elapsed, self.lang):
            self.console.print(line, highlight=False, soft_wrap=True)
