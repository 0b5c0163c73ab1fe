"""A fleet host's session tells nobody; its fleet is told once at its end. A real SQLite database, the real
setup service, fleet service (the embedded scheduler) and notifier; a scripted stand-in for the engine and
a recorder in place of apprise's delivery."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from setupwizard.config import Settings
from setupwizard.core.networks import TargetPolicy
from setupwizard.core.secretbox import SecretBox, derive_key
from setupwizard.db.database import Database
from setupwizard.db.models import NotifyTarget
from setupwizard.fleets import repository as fleets
from setupwizard.fleets.notice import notifier_of
from setupwizard.fleets.schemas import FleetRequest
from setupwizard.fleets.service import FleetService
from setupwizard.live.memory import MemoryBus
from setupwizard.notify import sender
from setupwizard.notify.repository import NotifyTargetRepository
from setupwizard.notify.sender import Notifier, url_associated_data
from setupwizard.notify.urls import mask
from setupwizard.provisioning import validate_options, validate_target
from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, utc_now
from setupwizard.provisioning.known_hosts import KnownHostStore, MemoryKnownHosts
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.setup.locks import MemoryHostLocks
from setupwizard.setup.schemas import AutoSetupRequest
from setupwizard.setup.service import SetupService

BOX = SecretBox(derive_key(b"fleet notice unit tests key material"))
FAILING = "198.18.0.61"
HANGING = "198.18.0.64"
PASSWORD = f"fleet-notice-canary-{secrets.token_hex(4)}"


class Engine:
    """Ends at once: ``failed`` on FAILING, ``succeeded`` elsewhere; on HANGING it works until cancelled."""

    async def __call__(
        self,
        target: Target,
        options: SetupOptions,
        emitter: EventEmitter,
        known_hosts: KnownHostStore,
        *,
        cancel: asyncio.Event,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> SetupResult:
        await emitter.emit(EventType.LOG, Level.INFO, f"working on {target.host}")
        if target.host == HANGING:
            await cancel.wait()  # a shutdown cancels every running setup
            result = SetupResult(message="⚠ cancelled", status=SessionStatus.CANCELLED)
            await emitter.emit(EventType.COMPLETE, Level.WARNING, result.message, data=result.to_dict())
            return result
        failed = target.host == FAILING
        status = SessionStatus.FAILED if failed else SessionStatus.SUCCEEDED
        result = SetupResult(message="✗ boom" if failed else "✓ done", status=status)
        await emitter.emit(EventType.COMPLETE, Level.INFO, result.message, data=result.to_dict())
        return result


class NoSudo:
    async def saved_password(self, user_id: int, host: str, port: int, sudo_user: str) -> str | None:
        return None

    async def save(self, user_id: int, host: str, port: int, sudo_user: str, sudo_password: str) -> None:
        return None


def validate(target: Target, options: SetupOptions) -> None:
    validate_target(target)
    validate_options(options)


Sent = list[tuple[str, str, str]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Every delivery (url, title, body), received as apprise would send it."""
    got: Sent = []

    async def send_once(url: str, title: str, body: str, policy: TargetPolicy) -> str:
        got.append((url, title, body))
        return ""

    monkeypatch.setattr(sender, "send_once", send_once)
    return got


@pytest.fixture
async def told(
    db: Database, make_user: Callable[[], Awaitable[int]], sent: Sent
) -> AsyncIterator[tuple[int, SetupService, FleetService, Notifier]]:
    """A user with one target for every outcome, and the services that tell it."""
    user = await make_user()
    url, ref = "json://127.0.0.1:9/hook", secrets.token_hex(8)
    async with db.session() as session:
        await NotifyTargetRepository(session).add(
            NotifyTarget(
                user_id=user,
                name="all",
                ref=ref,
                url=BOX.encrypt(url, url_associated_data(user, ref)),
                hint=mask(url),
                on_failed=True,
                on_succeeded=True,
                created_at=datetime.now(UTC),
                last_error="",
            )
        )
    notifier = Notifier(db, BOX, "https://wizard.example.com", policy=TargetPolicy([]))
    bus = MemoryBus()
    settings = Settings(event_flush_seconds=0.05)
    setup = SetupService(
        settings=settings,
        db=db,
        bus=bus,
        locks=MemoryHostLocks(),
        known_hosts=MemoryKnownHosts(),
        sudo_store=NoSudo(),
        runner=Engine(),
        validate=validate,
        notifier=notifier,
    )
    fleet_service = FleetService(settings=settings, db=db, setup=setup, secretbox=BOX)
    yield user, setup, fleet_service, notifier
    await fleet_service.close()
    await setup.close()
    await notifier.close()
    await bus.close()


async def ended(db: Database, fleet_id: str) -> str:
    for _ in range(500):
        async with db.session() as session:
            fleet = await fleets.get_fleet(session, fleet_id)
        assert fleet is not None
        if fleet.status != "running":
            return fleet.status
        await asyncio.sleep(0.02)
    raise AssertionError("the fleet never ended")


async def test_a_fleet_is_told_once_and_its_hosts_sessions_never(
    db: Database, told: tuple[int, SetupService, FleetService, Notifier], sent: Sent
) -> None:
    user, setup, fleet_service, notifier = told
    assert notifier_of(setup) is notifier
    body: dict[str, Any] = {
        "name": "unit fleet",
        "targets": [{"host": h, "username": "bob"} for h in ("198.18.0.60", FAILING, "198.18.0.62")],
        "defaults": {"password": PASSWORD},
        "plan": {"packages": [], "apt_update": False, "firewall": False},
        "parallel": 2,
        "accept_new_host_keys": True,
    }
    started = await fleet_service.start(user, FleetRequest.model_validate(body), TargetPolicy([]))
    assert await ended(db, started.fleet_id) == "done"
    await notifier.wait()
    assert len(sent) == 1, [title for _, title, _ in sent]  # the fleet's, none of its 3 sessions
    _, title, text = sent[0]
    assert "fleet unit fleet ended done: 2 succeeded, 1 failed" in title
    assert f"{FAILING}:22 failed" in text
    assert f"https://wizard.example.com/fleets/{started.fleet_id}" in text
    assert PASSWORD not in title + text
    # the same service still tells a single setup's end: the silence above is the fleet rule's
    request = {"host": "198.18.0.63", "username": "bob", "password": PASSWORD, "packages": []}
    run = await setup.start(user, AutoSetupRequest.model_validate(request))
    assert run.task is not None
    await run.task
    await notifier.wait()
    assert len(sent) == 2
    assert "bob@198.18.0.63:22 succeeded" in sent[1][1]


async def test_a_marked_session_is_silent_once_and_its_mark_goes_with_its_end(
    told: tuple[int, SetupService, FleetService, Notifier], sent: Sent
) -> None:
    user, _, _, notifier = told
    data = SetupResult(message="✗ boom", status=SessionStatus.FAILED).to_dict()
    complete = SessionEvent(
        seq=2, type=EventType.COMPLETE, level=Level.ERROR, message="✗ boom", timestamp=utc_now(), data=data
    )
    notifier.fleet_session("s-fleet")
    notifier.session_ended("s-fleet", user, "bob@h:22", complete, ["line"], str)
    await notifier.wait()
    assert sent == []
    notifier.session_ended("s-fleet", user, "bob@h:22", complete, ["line"], str)  # not marked any more
    notifier.fleet_session("s-unstarted")
    notifier.not_fleet_session("s-unstarted")
    notifier.session_ended("s-unstarted", user, "bob@h:22", complete, ["line"], str)
    await notifier.wait()
    assert len(sent) == 2


async def test_a_fleet_cut_short_by_a_shutdown_is_told_once_interrupted(
    db: Database, told: tuple[int, SetupService, FleetService, Notifier], sent: Sent
) -> None:
    """The fleet service's close ends the fleet ``interrupted`` and tells it; the host sessions the setup
    service then interrupts tell nobody, and nothing tells the fleet a second time."""
    user, setup, fleet_service, notifier = told
    body: dict[str, Any] = {
        "name": "cut fleet",
        "targets": [{"host": h, "username": "bob"} for h in ("198.18.0.65", HANGING, "198.18.0.66")],
        "defaults": {"password": PASSWORD},
        "plan": {"packages": [], "apt_update": False, "firewall": False},
        "parallel": 1,  # the third host is still queued when the service stops
        "accept_new_host_keys": True,
    }
    started = await fleet_service.start(user, FleetRequest.model_validate(body), TargetPolicy([]))
    for _ in range(500):
        if any(run.host == HANGING for run in setup.running.values()):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the hanging host never started")
    await fleet_service.close()
    await setup.close()
    await notifier.wait()
    assert await ended(db, started.fleet_id) == "interrupted"
    async with db.session() as session:
        statuses = {host.host: host.status for host in await fleets.hosts_of(session, started.fleet_id)}
    assert statuses == {"198.18.0.65": "succeeded", HANGING: "interrupted", "198.18.0.66": "interrupted"}
    assert len(sent) == 1, [title for _, title, _ in sent]  # the fleet's end, none of its sessions'
    _, title, text = sent[0]
    assert "fleet cut fleet ended interrupted" in title
    assert f"https://wizard.example.com/fleets/{started.fleet_id}" in text
    assert PASSWORD not in title + text
