"""apt steps on a real host: waiting for another package manager, recovering an interrupted dpkg,
skipping an update of fresh lists, and update warnings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from setupwizard.provisioning import (
    DEFAULT_PACKAGES,
    EventType,
    Level,
    MemoryKnownHosts,
    SessionEvent,
    SetupOptions,
    StepStatus,
)
from setupwizard.provisioning.plan import PlanSettings
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.steps.apt import APT_ENV, APT_GET, UPDATE_COMMAND
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login


def start_busy(host: TestHost, name: str, seconds: int) -> None:
    """Run ``sleep`` under another program's name in the background on the host."""
    command = (
        f"install -d /tmp/fakebin && cp /bin/sleep /tmp/fakebin/{name} && "
        f"setsid -f /tmp/fakebin/{name} {seconds} >/dev/null 2>&1 < /dev/null"
    )
    assert host.run_root(command).returncode == 0


async def test_setup_waits_visibly_for_unattended_upgrades_then_continues(test_host: TestHost) -> None:
    start_busy(test_host, "unattended-upgrade", 8)
    rec = Recorder()
    result = await run_setup(
        login(test_host, "root"),
        SetupOptions(packages=["ufw"]),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(apt_lock_timeout=120),
    )
    assert result.success, rec.dump()
    waiting = [e for e in rec.events if e.type is EventType.INFO and e.step_id == "apt_wait"]
    assert waiting and all(e.level is Level.WARNING for e in waiting)
    assert "unattended-upgrades" in waiting[0].message
    wait_step = next(s for s in result.steps if s.id == "apt_wait")
    assert wait_step.status is StepStatus.SUCCEEDED and "已空闲" in wait_step.message


async def test_the_plan_goes_on_once_the_other_package_manager_ends(
    make_test_host: Callable[[], TestHost],
) -> None:
    """The wait lasts exactly as long as the other package manager works: it is ended by the test once the
    wait has said whom it waits for, never by a timer, so a slow machine cannot change the outcome. How
    soon the plan goes on after the release (``CHECK_SECONDS``) is speed: bench/results.md, benchmark 5."""
    host = make_test_host()  # its own: nothing left running by an earlier test adds to the wait
    start_busy(host, "apt-get", 600)
    released: list[int] = []

    async def release_once_waiting(event: SessionEvent) -> None:
        if event.code == "apt_wait.waiting" and not released:
            ended = await asyncio.to_thread(host.run_root, "pkill -x apt-get")
            released.append(ended.returncode)

    rec = Recorder(on_event=release_once_waiting)
    try:
        result = await run_setup(
            login(host, "root"),
            SetupOptions(packages=[], firewall=False),
            rec.emitter,
            MemoryKnownHosts(),
            settings=PlanSettings(apt_lock_timeout=120),
        )
    finally:
        host.run_root("pkill -f /tmp/fakebin/apt-get; true")
    assert released == [0], rec.dump()  # it waited, said so, and the busy apt-get was running until then
    assert result.success, rec.dump()
    wait_step = next(s for s in result.steps if s.id == "apt_wait")
    assert wait_step.status is StepStatus.SUCCEEDED, rec.dump()
    waiting = [e for e in rec.events if e.code == "apt_wait.waiting"]
    assert waiting and all("apt-get" in e.message for e in waiting), rec.dump()


async def test_the_wait_has_a_timeout(test_host: TestHost) -> None:
    start_busy(test_host, "dpkg", 60)
    rec = Recorder()
    try:
        result = await run_setup(
            login(test_host, "root"),
            SetupOptions(packages=["tree"]),
            rec.emitter,
            MemoryKnownHosts(),
            settings=PlanSettings(apt_lock_timeout=4),
        )
    finally:
        test_host.run_root("pkill -f /tmp/fakebin/dpkg; true")
    assert result.status == "failed"
    wait_step = next(s for s in result.steps if s.id == "apt_wait")
    assert (
        wait_step.status is StepStatus.FAILED and "超时" in wait_step.message and "dpkg" in wait_step.message
    )
    assert test_host.run_root("command -v tree").returncode != 0


async def test_an_interrupted_dpkg_run_is_finished_first(test_host: TestHost) -> None:
    prepare = (
        "cd /tmp && apt-get update -qq && apt-get download -qq tree && dpkg --unpack tree_*.deb "
        "&& rm -f tree_*.deb && dpkg --audit | grep -q tree"
    )
    assert test_host.run_root(prepare).returncode == 0  # tree unpacked, never configured
    rec = Recorder()
    result = await run_setup(
        login(test_host, "root"),
        SetupOptions(packages=["tree"]),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(),
    )
    assert result.success, rec.dump()
    assert any("dpkg --configure -a" in m for m in rec.messages(EventType.INFO))
    assert test_host.run_root("dpkg --audit").stdout.strip() == ""
    status = test_host.run_root("dpkg-query -W -f='${db:Status-Abbrev}' tree").stdout
    assert status.startswith("ii")


async def test_default_packages_and_upgrade_install_without_any_prompt(test_host: TestHost) -> None:
    rec = Recorder()
    result = await run_setup(
        login(test_host, "sudo_nopasswd"),
        SetupOptions(upgrade=True),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(),
    )
    assert result.success, rec.dump()
    upgrade = next(s for s in result.steps if s.id == "apt_upgrade")
    assert upgrade.status in (StepStatus.SUCCEEDED, StepStatus.UNCHANGED)
    for package in DEFAULT_PACKAGES:
        status = test_host.run_root(f"dpkg-query -W -f='${{db:Status-Abbrev}}' {package}").stdout
        assert status.startswith("ii"), package


STAMP = "/var/lib/apt/periodic/update-success-stamp"


def _apt_update_step(rec: Recorder) -> list[str]:
    return [e.message for e in rec.events if e.step_id == "apt_update" and e.type is EventType.LOG]


async def test_fresh_lists_skip_apt_get_update_until_a_source_changes(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    known = MemoryKnownHosts()
    runs: list[tuple[Recorder, StepStatus, str]] = []
    for change in ("", "", "touch -d '+1 minute' /etc/apt/sources.list.d/added-later.list"):
        if change:
            assert host.run_root(change).returncode == 0
        rec = Recorder()
        result = await run_setup(
            login(host, "root"), SetupOptions(packages=["ufw"]), rec.emitter, known, settings=PlanSettings()
        )
        assert result.success, rec.dump()
        step = next(s for s in result.steps if s.id == "apt_update")
        runs.append((rec, step.status, step.message))
    (first, s1, _), (second, s2, m2), (third, s3, _) = runs
    assert s1 is StepStatus.SUCCEEDED and any(line.startswith("Get:") for line in _apt_update_step(first))
    assert s2 is StepStatus.UNCHANGED and "跳过 apt-get update" in m2 and _apt_update_step(second) == []
    assert s3 is StepStatus.SUCCEEDED and _apt_update_step(third)  # a source changed: fetched again
    assert host.run_root(f"test -e {STAMP}").returncode == 0


async def test_apt_get_update_warnings_end_the_step_as_a_warning(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    broken = (
        "echo 'deb [trusted=yes] http://198.18.0.1:9/debian bookworm main' "
        "> /etc/apt/sources.list.d/broken.list && "
        "echo 'Acquire::http::Proxy::198.18.0.1 \"DIRECT\";' > /etc/apt/apt.conf.d/99broken-direct"
    )
    assert host.run_root(broken).returncode == 0
    rec = Recorder()
    result = await run_setup(
        login(host, "root"),
        SetupOptions(packages=["ufw"]),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(),
    )
    assert result.success and result.status == "succeeded", rec.dump()
    step = next(s for s in result.steps if s.id == "apt_update")
    assert step.status is StepStatus.WARNING and "W: Failed to fetch" in step.message
    end = rec.step_events("apt_update")[-1]
    assert end.level is Level.WARNING and end.message.startswith("⚠ ") and end.code == "step.end"
    assert rec.events[-1].level is Level.WARNING and "1 个警告" in rec.events[-1].message
    assert host.run_root(f"test -e {STAMP}").returncode != 0  # a partial update is not "fresh"


def hold_lists_lock(host: TestHost, seconds: int) -> None:
    """Hold apt's lists lock (an fcntl lock, as apt-get takes it) from a process apt_wait does not know."""
    holder = (
        "import fcntl, os, time; "
        "fd = os.open('/var/lib/apt/lists/lock', os.O_RDWR | os.O_CREAT, 0o640); "
        "fcntl.lockf(fd, fcntl.LOCK_EX); open('/tmp/lists-locked', 'w').write(str(os.getpid())); "
        f"time.sleep({seconds})"
    )
    command = f'rm -f /tmp/lists-locked; setsid -f python3 -c "{holder}" >/dev/null 2>&1 < /dev/null'
    assert host.run_root(command).returncode == 0
    ready = "for i in $(seq 50); do [ -s /tmp/lists-locked ] && exit 0; sleep 0.1; done; exit 1"
    assert host.run_root(ready).returncode == 0


async def test_apt_get_update_waits_while_another_update_holds_the_lists_lock(test_host: TestHost) -> None:
    hold_lists_lock(test_host, 8)
    rec = Recorder()
    result = await run_setup(
        login(test_host, "root"),
        SetupOptions(packages=["ufw"]),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(apt_lock_timeout=120, apt_lists_max_age=0),
    )
    assert result.success, rec.dump()
    waits = [e for e in rec.events if e.step_id == "apt_update" and e.code == "apt_update.lists_locked"]
    assert waits and all(e.level is Level.WARNING for e in waits), rec.dump()
    assert any("/var/lib/apt/lists" in line for line in _apt_update_step(rec))  # apt's own refusal, shown
    step = next(s for s in result.steps if s.id == "apt_update")
    assert step.status is StepStatus.SUCCEEDED


async def test_the_lists_lock_wait_ends_at_the_apt_lock_timeout(test_host: TestHost) -> None:
    hold_lists_lock(test_host, 60)
    rec = Recorder()
    try:
        result = await run_setup(
            login(test_host, "root"),
            SetupOptions(packages=["ufw"]),
            rec.emitter,
            MemoryKnownHosts(),
            settings=PlanSettings(apt_lock_timeout=4, apt_lists_max_age=0),
        )
    finally:
        test_host.run_root("kill $(cat /tmp/lists-locked); true")
    assert result.status == "failed"
    step = next(s for s in result.steps if s.id == "apt_update")
    assert step.status is StepStatus.FAILED and "apt-get update" in step.message, rec.dump()
    assert [e for e in rec.events if e.code == "apt_update.lists_locked"], rec.dump()


def _index_uris(host: TestHost, update_command: str) -> list[str]:
    """The package index addresses ``update_command`` would fetch (apt-get's ``--print-uris``)."""
    result = host.run_root(update_command.replace(" update", " --print-uris update"))
    assert result.returncode == 0, result.stderr
    return [line.split("'")[1] for line in result.stdout.splitlines() if "/Packages" in line]


async def test_the_update_fetches_gzip_indexes_and_stores_the_lists_unpacked(
    make_test_host: Callable[[], TestHost],
) -> None:
    """The update prefers ``Packages.gz`` (cheaper to unpack than apt's default ``.xz``, docs/engine.md), only
    for its own command: the lists are stored as a plain update stores them, and the server's apt keeps xz."""
    host = make_test_host()
    default = _index_uris(host, APT_ENV + APT_GET + " update")
    assert default and all(uri.endswith("Packages.xz") for uri in default), default
    ours = _index_uris(host, UPDATE_COMMAND)
    assert ours and all(uri.endswith("Packages.gz") for uri in ours), ours
    rec = Recorder()
    result = await run_setup(
        login(host, "root"), SetupOptions(packages=[], firewall=False), rec.emitter, MemoryKnownHosts()
    )
    assert result.success, rec.dump()
    assert any("Packages" in line and line.startswith("Get:") for line in _apt_update_step(rec)), rec.dump()
    lists = host.run_root("ls /var/lib/apt/lists/").stdout.split()
    assert any(name.endswith("_Packages") for name in lists), lists
    assert not any(name.endswith((".gz", ".xz")) for name in lists), lists
