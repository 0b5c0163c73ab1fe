"""``python -m bench [--quick] [names...]``: run the benchmarks against fresh testbed hosts (as root).

Names: throughput, latency, connect, scale, peers, profile, fleet_peers, fleet_scale, pickup (all by
default, in that order). A full run
of all of them rewrites bench/results.md; a quick run or a subset writes bench/out/results-*.md unless
``--output`` says otherwise. Each benchmark cleans up its hosts, services, databases and keys, even
when it fails; a failed benchmark is reported in the results and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import (
    connect,
    fleet_peers,
    fleet_scale,
    latency,
    machine,
    peers,
    pickup,
    profile,
    report,
    scale,
    throughput,
)
from bench.config import FULL, QUICK, Sizes
from bench.report import Section
from bench.service import OUT_DIR

BENCHMARKS: dict[str, Callable[[Sizes], Awaitable[Section]]] = {
    "throughput": throughput.run,
    "latency": latency.run,
    "connect": connect.run,
    "scale": scale.run,
    "peers": peers.run,
    "profile": profile.run,
    "fleet_peers": fleet_peers.run,
    "fleet_scale": fleet_scale.run,
    "pickup": pickup.run,
}
RESULTS = Path(__file__).resolve().parent / "results.md"


async def _run_all(names: list[str], sizes: Sizes) -> list[Section]:
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM like Ctrl-C: cancel the run, so every cleanup (hosts, services, databases, keys) runs.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    sections = []
    for name in names:
        print(f"[bench] {name} …", flush=True)
        began = time.monotonic()
        try:
            section = await BENCHMARKS[name](sizes)
        except Exception as exc:
            traceback.print_exc()
            section = Section(title=name, target="–", verdict=f"FAILED: {type(exc).__name__}: {exc}"[:300])
        print(f"[bench] {name}: {section.verdict} ({time.monotonic() - began:.0f} s)", flush=True)
        sections.append(section)
    return sections


def override(sizes: Sizes, assignments: list[str]) -> Sizes:
    """``sizes`` with ``FIELD=VALUE`` assignments applied (tuples as comma-separated values)."""
    changes: dict[str, object] = {}
    for assignment in assignments:
        name, _, text = assignment.partition("=")
        current = getattr(sizes, name)  # AttributeError names an unknown field
        if isinstance(current, tuple):
            changes[name] = tuple(int(part) for part in text.split(","))
        elif isinstance(current, bool):  # bool("False") is True
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{name}: true or false, not {text!r}")
            changes[name] = text.lower() in ("true", "1")
        else:
            changes[name] = type(current)(text)
    return dataclasses.replace(sizes, **changes)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    """Parse arguments, run, write the results file."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small counts: a validation run, not figures")
    parser.add_argument("--output", type=Path, help="results file to write")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a size of bench/config.py, e.g. --set scale_setups=50 (repeatable)",
    )
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    sizes = override(QUICK if args.quick else FULL, args.set)
    if args.output is not None:
        output: Path = args.output
    elif args.quick or args.names:
        output = OUT_DIR / f"results-{'quick-' if args.quick else ''}{'-'.join(names)}.md"
    else:
        output = RESULTS
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (hard, hard)
    )  # 2,000 sockets each side; inherited by the service
    started, load_before = time.time(), machine.load()
    try:
        sections = asyncio.run(_run_all(names, sizes))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("[bench] interrupted: hosts, services, databases and keys cleaned up; no results written")
        return 130
    command = "python -m bench " + shlex.join(argv) if argv else "make bench"
    report.write(
        output,
        report.render(sections, command=command, started=started, load_before=load_before, quick=args.quick),
    )
    print(f"[bench] wrote {output}")
    return 0 if all(not s.verdict.startswith("FAILED") for s in sections) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
