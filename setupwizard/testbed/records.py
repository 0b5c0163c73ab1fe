"""Which test hosts exist and who owns them, safe across concurrent processes.

Each host has a directory ``HOSTS_DIR/<name>`` with ``owner.json``. A host whose owner process is gone
(a crashed pytest run, a killed ``testbed up``) is stale and is cleaned up by the next allocation.
Processes are identified by pid *and* start time, so a reused pid never looks like the old owner.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from setupwizard.testbed.locks import file_lock
from setupwizard.testbed.paths import HOSTS_DIR, MAX_HOSTS, STATE_DIR, host_name

LOCK_FILE = STATE_DIR / "hosts.lock"


@dataclass(frozen=True)
class ProcessRef:
    """A process, by pid and kernel start time (clock ticks since boot)."""

    pid: int
    start: int

    @staticmethod
    def of(pid: int) -> ProcessRef | None:
        """The running process ``pid``, or None when there is none."""
        start = process_start(pid)
        return None if start is None else ProcessRef(pid, start)

    def alive(self) -> bool:
        """True while this very process (not a later one with the same pid) runs."""
        return process_start(self.pid) == self.start


def process_start(pid: int) -> int | None:
    """Start time of ``pid`` from /proc, or None when it does not exist (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


@dataclass(frozen=True)
class HostRecord:
    """What ``owner.json`` says about one host."""

    slot: int
    owner: ProcessRef
    launcher: ProcessRef | None
    persistent: bool = False  # started by ``setupwizard testbed up``: owned by its own launcher
    image: str = ""  # the image directory used as the overlay lower dir (kept while in use)
    flavour: str = "quick"  # quick: chroot + small init; systemd: systemd under systemd-nspawn
    release: str = "bookworm"
    init: ProcessRef | None = None  # the host's PID 1 as the machine sees it (systemd flavour)

    @property
    def name(self) -> str:
        return host_name(self.slot)

    def stale(self) -> bool:
        """True when nobody owns this host any more."""
        if self.persistent:
            return self.launcher is None or not self.launcher.alive()
        return not self.owner.alive()


def host_dir(name: str) -> Path:
    """State directory of host ``name``."""
    return HOSTS_DIR / name


def write_record(record: HostRecord) -> None:
    """Write ``owner.json`` atomically."""
    path = host_dir(record.name) / "owner.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.rename(path)


def read_record(name: str) -> HostRecord | None:
    """The record of host ``name``, or None when it has none (yet) or it is unreadable."""
    try:
        data = json.loads((host_dir(name) / "owner.json").read_text())
        launcher = data.get("launcher")
        init = data.get("init")
        return HostRecord(
            slot=int(data["slot"]),
            owner=ProcessRef(**data["owner"]),
            launcher=None if launcher is None else ProcessRef(**launcher),
            persistent=bool(data.get("persistent", False)),
            image=str(data.get("image", "")),
            flavour=str(data.get("flavour", "quick")),
            release=str(data.get("release", "bookworm")),
            init=None if init is None else ProcessRef(**init),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def all_records() -> list[HostRecord]:
    """Records of every host directory, in slot order."""
    if not HOSTS_DIR.is_dir():
        return []
    records = [read_record(p.name) for p in HOSTS_DIR.iterdir() if p.is_dir()]
    return sorted((r for r in records if r is not None), key=lambda r: r.slot)


_held = threading.local()


@contextmanager
def hosts_locked() -> Iterator[None]:
    """Hold the exclusive lock on the host table (allocation and cleanup).

    Re-entrant within a thread: ``destroy`` takes it, and is also called by cleanups that hold it.
    """
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    HOSTS_DIR.mkdir(parents=True, exist_ok=True)
    with file_lock(LOCK_FILE):
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0


def claim_free_slot(taken: set[int]) -> HostRecord:
    """Claim the lowest slot not in ``taken`` for this process (call with ``hosts_locked``)."""
    me = ProcessRef.of(os.getpid())
    assert me is not None
    for slot in range(MAX_HOSTS):
        if slot in taken:
            continue
        record = HostRecord(slot=slot, owner=me, launcher=None)
        directory = host_dir(record.name)
        for sub in ("upper", "work", "root"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        write_record(record)
        return record
    raise RuntimeError(f"all {MAX_HOSTS} testbed host slots are in use")
