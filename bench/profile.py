"""The profile: ``py-spy record`` of the service while one setup prints 100,000 lines.

py-spy samples the service process (all threads, ``--nonblocking`` so it does not pause it) into a
collapsed-stack file under bench/out/ (open it in speedscope.app or feed it to flamegraph.pl). The
results summarise where the samples are: by the package of the innermost frame, and the setupwizard
functions that are on the most stacks.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from bench.config import Sizes
from bench.hosts import endpoints, fresh_hosts
from bench.report import Section
from bench.service import OUT_DIR, running_service
from bench.throughput import timed_setup

PY_SPY = Path(sys.executable).with_name("py-spy")
CATEGORIES = (
    ("storing: SQLAlchemy", ("sqlalchemy",)),
    ("storing: aiosqlite / sqlite3", ("aiosqlite", "sqlite3")),
    ("WebSocket: compression", ("permessage_deflate", "zlib")),
    ("WebSocket: websockets / uvicorn / starlette", ("websockets", "uvicorn", "starlette")),
    ("JSON", ("json",)),
    ("SSH: asyncssh", ("asyncssh",)),
    ("setupwizard engine (provisioning)", ("setupwizard/provisioning",)),
    ("setupwizard live delivery", ("setupwizard/live",)),
    ("setupwizard session (setup)", ("setupwizard/setup",)),
    ("Redis client", ("redis",)),
    ("asyncio event loop", ("asyncio", "uvloop")),
)
TOP = 12


def _file(frame: str) -> str:
    start = frame.rfind("(")
    return frame[start + 1 :] if start >= 0 else frame


def _function(frame: str) -> str:
    """``name (package/module.py)`` without the line number."""
    name = frame.split(" (")[0]
    path = _file(frame).rstrip(")").rsplit(":", 1)[0].split("setupwizard/", 1)[-1]
    return f"{name} ({path})"


def category(frame: str) -> str:
    """The category of a frame by its file path."""
    path = _file(frame)
    for name, needles in CATEGORIES:
        if any(needle in path for needle in needles):
            return name
    return "other"


def summarise(collapsed: Path) -> tuple[int, list[list[str]], list[list[str]]]:
    """(samples, leaf-category table, inclusive setupwizard-function table) from a collapsed-stack file."""
    by_category: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        by_category[category(frames[-1])] += count
        for frame in {_function(f) for f in frames if "setupwizard/" in f and "setupwizard/cli/" not in f}:
            inclusive[frame] += count
    leaf = [["innermost frame in", "share of samples"]]
    leaf += [[name, f"{100 * n / total:.0f}%"] for name, n in by_category.most_common()]
    funcs = [["setupwizard function (on the stack)", "share of samples"]]
    funcs += [[f"`{name}`", f"{100 * n / total:.0f}%"] for name, n in inclusive.most_common(TOP)]
    return total, leaf, funcs


async def run(sizes: Sizes) -> Section:
    """Record the service through one setup of ``profile_lines`` lines."""
    lines = sizes.profile_lines
    section = Section(
        title=f"profile of the service during a {lines:,}-line run", target="(where the time goes)"
    )
    if not PY_SPY.exists():
        section.verdict = "not measured: py-spy not installed (make bench installs them)"
        return section
    backend = sizes.profile_backend
    name = "profile.collapsed.txt" if backend == "sqlite" else f"profile-{backend}.collapsed.txt"
    output = OUT_DIR / name
    async with AsyncExitStack() as stack:
        hosts = await stack.enter_async_context(fresh_hosts(1))
        endpoint = endpoints(hosts, 1)[0]
        service = await stack.enter_async_context(running_service("profile", backend))
        await timed_setup(service, endpoint, "true", 0, sizes.session_timeout)  # warm-up
        command = [str(PY_SPY), "record", "--pid", str(service.pid), "--format", "raw", "--nonblocking",
                   "--rate", str(sizes.profile_rate), "--output", str(output)]  # fmt: skip
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            await asyncio.sleep(1.0)
            run_result = await timed_setup(service, endpoint, f"seq 1 {lines}", lines, sizes.session_timeout)
        finally:
            spy.send_signal(signal.SIGINT)
            try:
                _, err = await asyncio.to_thread(spy.communicate, None, 60)
            except subprocess.TimeoutExpired:
                spy.kill()
                _, err = await asyncio.to_thread(spy.communicate)
        section.commands = [
            service.command(),
            " ".join(command)
            .replace(str(service.pid), "<service pid>")
            .replace(str(OUT_DIR.parent.parent) + "/", ""),
            f"one setup, script `seq 1 {lines}`, WebSocket connected, {backend} backend; "
            "SIGINT to py-spy after the complete frame",
        ]
    if not output.exists():
        section.verdict = f"FAILED: py-spy wrote nothing: {err.decode(errors='replace')[-300:]}"
        return section
    total, leaf, funcs = summarise(output)
    section.tables += [leaf, funcs]
    section.notes.append(
        f"{total:,} samples at {sizes.profile_rate} Hz; the setup took {run_result['seconds']:.1f} s "
        f"(script step {run_result['script_seconds']:.1f} s). Raw stacks: bench/out/{output.name} "
        "(open in https://www.speedscope.app)."
    )
    section.verdict = "recorded"
    return section
