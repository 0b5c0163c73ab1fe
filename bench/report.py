"""bench/results.md: the machine, and per benchmark its commands, figures, target and verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import machine

Table = list[list[str]]


@dataclass
class Section:
    """One benchmark's part of the results."""

    title: str
    target: str
    verdict: str = "not measured"
    commands: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verdict(met: bool) -> str:
    """ "met" / "MISSED"."""
    return "met" if met else "MISSED"


def _table(rows: Table) -> list[str]:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return out


def render(sections: list[Section], *, command: str, started: float, load_before: str, quick: bool) -> str:
    """The whole results file."""
    lines = ["# Benchmark results", ""]
    if quick:
        lines += [
            "**Quick validation run (`--quick`): small counts, for checking the harness, "
            "not figures to quote.**",
            "",
        ]
    lines += [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
        f"{(time.time() - started) / 60:.1f} min, with `{command}` (as root: the testbed needs it).",
        "",
        "Reproduce: `sudo make bench` (all, rewrites this file), or "
        "`sudo .venv/bin/python -m bench [--quick] [throughput latency connect scale peers profile "
        "fleet_peers fleet_scale pickup]`. "
        "Needs the testbed (docs/testbed.md), PostgreSQL and Redis, and the `bench` extra "
        "(`make bench` installs it from uv.lock: ansible-core, pyinfra, py-spy).",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in machine.describe()]
    lines += [f"| load average before / after | {load_before} → {machine.load()} |", ""]
    lines += ["| # | benchmark | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {i} | {s.title} | {s.target} | {s.verdict} |" for i, s in enumerate(sections, 1)]
    for index, section in enumerate(sections, 1):
        lines += [
            "",
            f"## {index}. {section.title}",
            "",
            f"Target: {section.target}. **{section.verdict}**",
            "",
        ]
        if section.commands:
            lines += ["Commands:", "", "```sh", *section.commands, "```", ""]
        for table in section.tables:
            lines += [*_table(table), ""]
        lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines).rstrip() + "\n"


def write(path: Path, text: str) -> None:
    """Write the results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
