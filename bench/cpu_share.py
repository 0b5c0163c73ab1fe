"""A small CPU share for a benchmark's testbed hosts, so they stand for servers of their own.

In a deployment the servers of a fleet are other machines: their ``apt-get`` and ``dpkg`` never take the
service's CPU. Here the testbed's hosts run on the service's 2 cores, and a 50-host install keeps ~30
processes runnable, so each process a line crosses (the worker, Redis, ``serve``, the watcher) waits in that
run queue at every hop.

``nice`` does not change that: with ``kernel.sched_autogroup_enabled`` (on here, as on most desktops and many
servers), every session (``setsid``) is a scheduling group of its own and competes with the others at its
group's weight, whatever its processes' nice values. sshd starts a session per connection, so each of the
fleet's SSH sessions is a group with the full default weight. A control group with a small ``cpu.shares``
(cgroup v1's cpu controller, as on this machine) or ``cpu.weight`` (pure cgroup v2) does: its processes, and
everything they start later, share that one small weight. Autogroups apply only in the root group.

The group is the benchmark's own (``setupwizard-bench-hosts-<pid>``); on exit the processes still in it go
back to the root group and it is removed. A group left by a killed run is removed by the next one once empty.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from setupwizard.testbed.host import TestHost

V1_ROOT = Path("/sys/fs/cgroup/cpu")  # the cpu controller of a hybrid (v1) hierarchy
V2_ROOT = Path("/sys/fs/cgroup")
PREFIX = "setupwizard-bench-hosts-"
V1_DEFAULT = 1024  # cpu.shares of a group (and of an autogroup at nice 0)
V2_DEFAULT = 100  # cpu.weight


def _root() -> tuple[Path, str, int]:
    """(the hierarchy's root, the weight file, its default) on this machine."""
    if (V1_ROOT / "cpu.shares").exists():
        return V1_ROOT, "cpu.shares", V1_DEFAULT
    controllers = V2_ROOT / "cgroup.subtree_control"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT, "cpu.weight", V2_DEFAULT
    raise RuntimeError("no cpu controller: neither /sys/fs/cgroup/cpu (v1) nor cpu in the v2 subtree_control")


def weight_for(fraction: float, default: int) -> int:
    """The group weight worth ``fraction`` of one default-weight group (at least 2, the v1 minimum)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    return max(2, round(default * fraction))


def namespace_pids(init_pid: int) -> list[int]:
    """Every process (as this machine numbers it) in the PID namespace of ``init_pid``."""
    namespace = os.readlink(f"/proc/{init_pid}/ns/pid")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                found.append(int(entry))
    return found


def _move(pids: Iterable[int], procs: Path) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, OSError):  # it ended meanwhile
            procs.write_text(str(pid))


def _move_hosts(hosts: Iterable[TestHost], group: Path) -> None:
    for host in hosts:
        _move(namespace_pids(host.init_pid()), group / "cgroup.procs")


@contextlib.contextmanager
def _own_group(root: Path, prefix: str) -> Iterator[Path]:
    """A new group ``<prefix><pid>`` under ``root`` (groups left by killed runs removed first, once empty);
    on exit the processes still in it go back to ``root`` and it is removed."""
    for stale in root.glob(f"{prefix}*"):
        with contextlib.suppress(OSError):  # not empty: a run still going
            stale.rmdir()
    group = root / f"{prefix}{os.getpid()}"
    group.mkdir()
    try:
        yield group
    finally:
        with contextlib.suppress(OSError):
            left = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            _move(left, root / "cgroup.procs")
        with contextlib.suppress(OSError):
            group.rmdir()


@contextlib.contextmanager
def small_cpu_share(hosts: Iterable[TestHost], fraction: float) -> Iterator[int]:
    """Every process of ``hosts`` (their sshd listeners, so every session they start later too) in one
    group worth ``fraction`` of a default group; yields the weight written."""
    root, weight_file, default = _root()
    weight = weight_for(fraction, default)
    with _own_group(root, PREFIX) as group:
        (group / weight_file).write_text(str(weight))
        _move_hosts(hosts, group)
        yield weight


CPUACCT_V1_ROOT = Path("/sys/fs/cgroup/cpuacct")  # the cpuacct controller of a hybrid (v1) hierarchy
METER_PREFIX = "setupwizard-bench-meter-"


def _meter_root() -> tuple[Path, Callable[[Path], float]]:
    """(the hierarchy's root, a reader of a group's CPU seconds) on this machine."""
    if (CPUACCT_V1_ROOT / "cpuacct.usage").exists():
        return CPUACCT_V1_ROOT, lambda group: int((group / "cpuacct.usage").read_text()) / 1e9
    if (V2_ROOT / "cgroup.controllers").exists():  # cpu.stat's usage_usec exists in every v2 group
        return V2_ROOT, lambda group: usage_usec((group / "cpu.stat").read_text()) / 1e6
    raise RuntimeError("no CPU accounting: neither /sys/fs/cgroup/cpuacct (v1) nor a cgroup v2 hierarchy")


def usage_usec(stat: str) -> int:
    """The ``usage_usec`` field of a cgroup v2 ``cpu.stat`` (user + system microseconds)."""
    for line in stat.splitlines():
        name, _, value = line.partition(" ")
        if name == "usage_usec":
            return int(value)
    raise RuntimeError(f"no usage_usec in cpu.stat: {stat!r}")


@contextlib.contextmanager
def cpu_meter(hosts: Iterable[TestHost]) -> Iterator[Callable[[], float]]:
    """Every process of ``hosts`` (and every one they start later) in one accounting group of our own;
    yields a function that gives the CPU seconds (user + system) they used since.

    On cgroup v1 the accounting hierarchy is not the one :func:`small_cpu_share` weights, so both can hold the
    same hosts; on pure cgroup v2 one group does both, and the later move wins: use one or the other there.
    """
    root, read = _meter_root()
    with _own_group(root, METER_PREFIX) as group:
        _move_hosts(hosts, group)
        start = read(group)
        yield lambda: read(group) - start
