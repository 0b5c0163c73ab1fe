"""Faults on the server being set up: its disk full during apt, the apt/dpkg lock held by another process
for a long time, and needrestart installed in interactive mode. None may hang the run; each ends in a
state that says what happened, with every line printed before kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from setupwizard.provisioning import EventType, MemoryKnownHosts, SetupOptions, StepStatus
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.web.live import Login, ProcessServer

from .outcome import Outcome
from .watch import describe, lines_lost, stored_session, watch_setup

# Holds the real dpkg front-end lock (fcntl, as apt and dpkg do) under the process name "apt-get" (perl sets
# the kernel's process name from $0), then sleeps. struct flock on x86-64: short, short, pad, off_t, off_t,
# pid_t, pad.
LOCK_HOLDER = (
    'setsid perl -e \'$0 = "apt-get"; use Fcntl; '
    'open(my $f, ">>", "/var/lib/dpkg/lock-frontend") or die "open: $!"; '
    'my $lk = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $lk) or die "lock: $!"; '
    "sleep $ARGV[0]' {seconds} </dev/null >/tmp/lock-holder.log 2>&1 &"
)


def body(host: TestHost, **extra: Any) -> dict[str, Any]:
    return {"host": host.address, "username": "root", "password": host.root.password} | extra


async def test_disk_full_during_apt_fails_the_install_step_with_apt_s_words(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    host = fresh_host()
    # a 1 MB file system over apt's download cache, inside the host's own mount namespace only
    full = host.run_root(
        "mount -t tmpfs -o size=1m tmpfs /var/cache/apt/archives && mkdir -p /var/cache/apt/archives/partial"
    )
    assert full.returncode == 0, full.stderr
    watched = await watch_setup(service, owner, body(host, packages=["vim"]))
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored)
    result = stored.detail.get("result") or {}
    failed_step: dict[str, Any] = next(
        (s for s in result.get("steps", []) if s.get("status") == "failed"), {}
    )
    ok = stored.status == "failed" and failed_step.get("id") == "packages" and lost == 0
    Outcome(
        "server.01-disk-full",
        "disk full on the server during apt (1 MB tmpfs over /var/cache/apt/archives), installing vim",
        "session failed at the install step, apt's own reason shown; nothing lost",
        describe(stored, watched),
        lost,
        0,
        ok,
    ).write()
    assert stored.status == "failed", stored.message
    assert failed_step.get("id") == "packages", result.get("steps")
    assert "space" in stored.text()
    assert lost == 0


async def test_apt_lock_held_for_a_while_is_waited_for_and_the_run_goes_on(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    host = fresh_host()
    assert host.run_root(LOCK_HOLDER.format(seconds=20)).returncode == 0
    await asyncio.sleep(0.5)
    assert "apt-get" in host.run_root("cat /proc/[0-9]*/comm").stdout
    watched = await watch_setup(service, owner, body(host, packages=["ufw"]))
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored)
    waited = [e for e in stored.detail["events"] if "apt-get（已等待" in str(e.get("message"))]
    ok = stored.status == "succeeded" and bool(waited) and lost == 0
    Outcome(
        "server.02-apt-lock-released",
        "the dpkg lock held by another apt-get for 20 s",
        "run waits, says who holds the lock, then goes on and succeeds",
        f"{describe(stored, watched)}; {len(waited)} waiting notices",
        lost,
        0,
        ok,
    ).write()
    assert waited, [(e.get("code"), e["message"]) for e in stored.detail["events"] if "apt" in e["message"]]
    assert stored.status == "succeeded", stored.message
    assert lost == 0


async def test_apt_lock_held_too_long_fails_after_the_configured_timeout(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    assert host.run_root(LOCK_HOLDER.format(seconds=600)).returncode == 0
    rec = Recorder()
    result = await run_setup(
        login(host, "root"),
        SetupOptions(packages=["ufw"]),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(apt_lock_timeout=4),
    )
    step = next((s for s in result.steps if s.status is StepStatus.FAILED), None)
    final = rec.events[-1]
    named = step is not None and step.id == "apt_wait" and "apt-get" in step.message
    ok = result.status == "failed" and named
    Outcome(
        "server.03-apt-lock-timeout",
        "the dpkg lock held by another apt-get for longer than the apt lock timeout (engine, timeout 4 s)",
        "session failed at the wait-for-apt step naming the holder; nothing hangs",
        f"{result.status}: {final.message}",
        0,
        0,
        ok,
    ).write()
    rec.assert_well_formed()
    assert step is not None and step.id == "apt_wait", [s.id for s in result.steps]
    assert result.status == "failed" and "apt-get" in step.message
    assert final.type is EventType.COMPLETE


async def test_needrestart_in_interactive_mode_does_not_hang_the_run(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    host = fresh_host()
    installed = host.run_root(
        "DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null && "
        "DEBIAN_FRONTEND=noninteractive apt-get -q -y install needrestart >/dev/null && "
        "mkdir -p /etc/needrestart/conf.d && "
        "echo \"\\$nrconf{restart} = 'i';\" > /etc/needrestart/conf.d/zz-interactive.conf",
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    watched = await watch_setup(service, owner, body(host, packages=["ufw", "curl"]))
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored)
    ran = "needrestart" in stored.text().lower() or "scanning" in stored.text().lower()
    ok = stored.status == "succeeded" and not watched.hung and lost == 0
    Outcome(
        "server.04-needrestart-interactive",
        "needrestart installed with $nrconf{restart} = 'i' (interactive, as Ubuntu ships it)",
        "run does not wait on needrestart's prompt and succeeds",
        f"{describe(stored, watched)}; needrestart output seen: {ran}",
        lost,
        0,
        ok,
    ).write()
    assert not watched.hung
    assert stored.status == "succeeded", stored.message
    assert lost == 0
