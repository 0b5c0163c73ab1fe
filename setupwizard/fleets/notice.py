"""A fleet is told to its owner's notification targets once, when it ends; its hosts' sessions tell nobody.

The notifier is the setup service's (``notify/sender.py``), the same object in every process. Two duties:

- A host's session runs in the process whose fleet code starts it (the embedded scheduler's
  :class:`~setupwizard.fleets.hosts.HostRunner`, or the worker that took the host's job,
  ``host_job.py``). That code marks the session before its start (:func:`quiet_session`), so its end,
  whenever it comes (a shutdown's ``interrupted`` too), tells nobody.
- Whatever ends a fleet tells it (:func:`tell_fleet_end`), right after its end is stored, and only the one
  that ended it: the embedded scheduler (``done``, ``cancelled``), a restart or shutdown (``interrupted``,
  ``FleetService._interrupt``), and with the job queue the worker whose :func:`fleets.end_if_done
  <setupwizard.fleets.repository.end_if_done>` ended it (serialized per fleet). The hosts are read and the
  message sent in the notifier's background task: it never fails or delays the fleet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol, runtime_checkable

from setupwizard.db.database import Database
from setupwizard.fleets import repository
from setupwizard.notify.message import FleetEnd, FleetHostEnd
from setupwizard.setup.service import SetupService


@runtime_checkable
class FleetNotifier(Protocol):
    """What the fleet code asks of the setup service's notifier (``notify/sender.py`` ``Notifier``)."""

    def fleet_session(self, session_id: str) -> None: ...

    def not_fleet_session(self, session_id: str) -> None: ...

    def fleet_ended(self, fleet_id: str, load: Callable[[], Awaitable[FleetEnd | None]]) -> None: ...


def notifier_of(setup: SetupService) -> FleetNotifier | None:
    """The service's notifier when it tells fleets (None: no notifier, or one of sessions only)."""
    notifier = setup.notifier
    return notifier if isinstance(notifier, FleetNotifier) else None


def quiet_session(setup: SetupService, session_id: str) -> None:
    """Mark a fleet host's session before it starts here: its own end tells nobody."""
    notifier = notifier_of(setup)
    if notifier is not None:
        notifier.fleet_session(session_id)


def unquiet_session(setup: SetupService, session_id: str) -> None:
    """Drop the mark of a session that did not start (or whose end is another worker's to write)."""
    notifier = notifier_of(setup)
    if notifier is not None:
        notifier.not_fleet_session(session_id)


async def fleet_end(db: Database, fleet_id: str, status: str) -> FleetEnd | None:
    """The ended fleet with its hosts as they are now (``status``: the end its ender wrote)."""
    async with db.session() as session:
        fleet = await repository.get_fleet(session, fleet_id)
        hosts = await repository.hosts_of(session, fleet_id)
    if fleet is None:
        return None
    return FleetEnd(
        fleet_id=fleet_id,
        owner_id=fleet.owner_id,
        name=fleet.name,
        status=status,
        hosts=tuple(FleetHostEnd(h.host, h.port, h.status, h.reason) for h in hosts),
    )


def tell_fleet_end(setup: SetupService, db: Database, fleet_id: str, status: str) -> None:
    """Hand the fleet's end to the notifier (returns at once; the caller is the one that ended it)."""
    notifier = notifier_of(setup)
    if notifier is not None:
        notifier.fleet_ended(fleet_id, partial(fleet_end, db, fleet_id, status))
