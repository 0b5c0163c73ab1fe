"""A control group of its own per systemd-flavour host, so each nspawn container is kept apart and
everything in it can be found and killed, even after the process that started it was killed.

systemd-nspawn with ``--keep-unit`` runs the container in the cgroup of the process that starts it (it
adds ``payload``/``supervisor`` below it). Two containers started from the same cgroup would share
them, so the launcher moves itself into ``<hierarchy>/setupwizard-testbed/<host name>`` first. On a
machine without systemd (hybrid cgroups, as here) that is in the ``name=systemd`` hierarchy and in the
unified one; on a pure cgroup v2 machine in ``/sys/fs/cgroup``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "setupwizard-testbed"


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """The cgroup hierarchies a host's group is made in (those that exist on this machine)."""
    if (root / "cgroup.controllers").exists():  # pure cgroup v2
        return [root]
    return [root / name for name in ("systemd", "unified") if (root / name / "cgroup.procs").exists()]


def host_groups(name: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """The cgroup directories of host ``name`` (existing or not)."""
    return [hierarchy / GROUP / name for hierarchy in hierarchies(root)]


def create(name: str) -> list[Path]:
    """Create host ``name``'s cgroups; the launcher moves itself into them (``cgroup.procs``)."""
    groups = host_groups(name)
    for group in groups:
        group.mkdir(parents=True, exist_ok=True)
    return groups


def names(root: Path = CGROUP_ROOT) -> set[str]:
    """Names of hosts that have a cgroup (to find hosts whose record was lost)."""
    found: set[str] = set()
    for hierarchy in hierarchies(root):
        parent = hierarchy / GROUP
        if parent.is_dir():
            found |= {p.name for p in parent.iterdir() if p.is_dir()}
    return found


def _pids(group: Path) -> set[int]:
    pids: set[int] = set()
    for procs in group.rglob("cgroup.procs"):
        try:
            pids |= {int(line) for line in procs.read_text().split()}
        except (OSError, ValueError):
            continue
    return pids


def kill_and_remove(name: str, timeout: float = 10.0) -> None:
    """SIGKILL every process in host ``name``'s cgroups (they are all the testbed's), then remove them."""
    groups = [group for group in host_groups(name) if group.is_dir()]
    deadline = time.monotonic() + timeout
    while True:
        pids = set().union(*(_pids(group) for group in groups)) if groups else set()
        if not pids or time.monotonic() > deadline:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    for group in groups:
        # Deepest first: a cgroup can be removed once it has no processes and no children.
        for directory in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                directory.rmdir()
            except OSError:
                pass
        try:
            group.rmdir()
        except OSError:
            pass
