"""Delivering notifications with apprise: one try for "send test", a bounded retry after a session or a
fleet ends.

A notification never fails or delays a setup or a fleet: the service hands the end over
(:meth:`Notifier.session_ended`, :meth:`Notifier.fleet_ended` return at once) and this module delivers it
in a task of its own. A fleet is told once, at its end; its hosts' own sessions tell nobody: the fleet
code marks each host's session (:meth:`Notifier.fleet_session`) in the process that runs it, before it
starts (``fleets/notice.py``). There is no job engine yet, so the
retry is in-process: :data:`ATTEMPTS` tries, waiting ``backoff × 2ⁿ`` between them; a delivery still
pending when the service stops is dropped (logged). When the job queue exists, this moves onto it.

Before every try the URL is checked against the deny list again (``notify/reach.py``: its host may resolve
elsewhere since it was saved), and while it is sent every connection is checked where it is made
(``notify/connect_guard.py``: redirects, DNS rebinding); a refused delivery is not retried, and is noted on
the target like any failed one (:data:`~setupwizard.notify.reach.DENIED`), never with the URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

import apprise

from setupwizard.core.networks import TargetPolicy
from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.db.database import Database
from setupwizard.db.models import NotifyTarget
from setupwizard.notify.connect_guard import guarded
from setupwizard.notify.message import FleetEnd, render, render_fleet, session_end
from setupwizard.notify.reach import DENIED, is_denied
from setupwizard.notify.repository import NotifyTargetRepository
from setupwizard.provisioning.events import SessionEvent

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = 5.0
CLOSE_GRACE_SECONDS = 5.0
NOT_DELIVERED = "not delivered: the receiving service refused it or could not be reached"


def url_associated_data(user_id: int, ref: str) -> str:
    """What a stored URL is bound to: copied into another row, it does not decrypt."""
    return f"notify_targets:{user_id}:{ref}"


async def send_once(url: str, title: str, body: str, policy: TargetPolicy) -> str:
    """One delivery through apprise, unless ``policy`` denies a host the URL reaches (then nothing is
    connected to). ``""`` when the receiver took it, else why not: :data:`~setupwizard.notify.reach.DENIED`
    or :data:`NOT_DELIVERED`. Never raises."""
    try:
        if await is_denied(url, policy):
            return DENIED
    except Exception:  # a plugin's bug while reading the URL: refuse rather than send unchecked
        log.warning("apprise raised while reading a notification URL")
        return DENIED
    sender = apprise.Apprise()
    if not sender.add(url):
        return NOT_DELIVERED
    try:
        # In a thread of ours, not apprise's async_notify (its executor threads would not see the guard).
        with guarded(policy) as guard:
            delivered = bool(await asyncio.to_thread(sender.notify, title=title, body=body))
    except Exception:  # a plugin's bug must not reach the caller; its message may quote the URL
        log.warning("apprise raised while sending a notification")
        return NOT_DELIVERED
    if guard.refused:  # a redirect, or a name that resolves elsewhere now, into a denied network
        return DENIED
    return "" if delivered else NOT_DELIVERED


class Notifier:
    """Sends each finished session, and each ended fleet, to its owner's targets whose rule asks for it.

    :param public_url: the service's address as people reach it, for the link to the session.
    :param policy: the networks no delivery may reach (``notify/reach.py`` ``notify_policy``).
    :param attempts: tries per target; :param backoff: seconds before the second try (doubled after).
    """

    def __init__(
        self,
        db: Database,
        secretbox: SecretBox,
        public_url: str,
        *,
        policy: TargetPolicy,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self.db = db
        self.secretbox = secretbox
        self.public_url = public_url
        self.policy = policy
        self.attempts = attempts
        self.backoff = backoff
        self._tasks: set[asyncio.Task[None]] = set()
        self._fleet_sessions: set[str] = set()

    def __repr__(self) -> str:
        return "Notifier()"

    def fleet_session(self, session_id: str) -> None:
        """The session is a fleet host's, about to run in this process: its end tells nobody (its fleet's
        end is told instead). Cleared by that end, or by :meth:`not_fleet_session` when it never runs."""
        self._fleet_sessions.add(session_id)

    def not_fleet_session(self, session_id: str) -> None:
        """Forget a mark of :meth:`fleet_session` (its session did not start, or was fenced)."""
        self._fleet_sessions.discard(session_id)

    def session_ended(
        self,
        session_id: str,
        owner_id: int,
        server: str,
        complete: SessionEvent,
        logs: Sequence[str],
        redact: Callable[[str], str],
    ) -> None:
        """Notify the owner's targets about this end, in the background; never raises, never waits."""
        if session_id in self._fleet_sessions:  # a fleet host's: told with its fleet
            self._fleet_sessions.discard(session_id)
            return
        try:
            end = session_end(session_id, owner_id, server, complete, logs, redact)
            if not end.notified:
                return
            title, body = render(end, self.public_url)
            delivery = self._deliver(end.owner_id, end.succeeded, title, body, f"Session {session_id}")
            self._hand_over(delivery, f"notify-{session_id}")
        except Exception:
            log.exception("Session %s: its notifications could not be prepared", session_id)

    def fleet_ended(self, fleet_id: str, load: Callable[[], Awaitable[FleetEnd | None]]) -> None:
        """Notify the owner's targets that the fleet ended, once (the caller is the one that ended it):
        ``load`` reads its hosts, in the background as the delivery; never raises, never waits."""
        try:
            self._hand_over(self._deliver_fleet(fleet_id, load), f"notify-fleet-{fleet_id}")
        except Exception:
            log.exception("Fleet %s: its notifications could not be prepared", fleet_id)

    def _hand_over(self, delivery: Coroutine[Any, Any, None], name: str) -> None:
        try:
            task = asyncio.create_task(delivery, name=name)
        except BaseException:
            delivery.close()
            raise
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_fleet(self, fleet_id: str, load: Callable[[], Awaitable[FleetEnd | None]]) -> None:
        try:
            end = await load()
            if end is None:
                return
            title, body = render_fleet(end, self.public_url)
        except Exception:
            log.exception("Fleet %s: its end could not be read for its notifications", fleet_id)
            return
        await self._deliver(end.owner_id, end.succeeded, title, body, f"Fleet {fleet_id}")

    async def _deliver(self, owner_id: int, succeeded: bool, title: str, body: str, what: str) -> None:
        try:
            async with self.db.session() as session:
                targets = list(await NotifyTargetRepository(session).wanting(owner_id, succeeded))
        except Exception:
            log.exception("%s: its notification targets could not be read", what)
            return
        await asyncio.gather(*(self._deliver_to(target, title, body) for target in targets))

    async def _deliver_to(self, target: NotifyTarget, title: str, body: str) -> None:
        try:
            url = self.secretbox.decrypt(target.url, url_associated_data(target.user_id, target.ref))
        except SecretBoxError:
            log.warning("Notification target %d cannot be decrypted: was the secret key changed?", target.id)
            await self._note(target.id, "cannot be decrypted: save the target again")
            return
        for attempt in range(1, self.attempts + 1):
            error = await send_once(url, title, body, self.policy)
            if error == DENIED:  # a rule, not a fault: another try would be refused as well
                log.warning(
                    "Notification target %d (%s): refused, its host is in SETUPWIZARD_NOTIFY_DENY",
                    target.id,
                    target.hint,
                )
                await self._note(target.id, DENIED)
                return
            if not error:
                await self._note(target.id, "")
                return
            log.warning(
                "Notification target %d (%s): attempt %d of %d failed",
                target.id,
                target.hint,
                attempt,
                self.attempts,
            )
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        await self._note(target.id, NOT_DELIVERED)

    async def _note(self, target_id: int, error: str) -> None:
        try:
            async with self.db.session() as session:
                await NotifyTargetRepository(session).mark_sent(target_id, datetime.now(UTC), error)
        except Exception:  # the target may be deleted meanwhile, or the database away: only a note
            log.warning("Could not note the delivery of notification target %d", target_id, exc_info=True)

    async def wait(self) -> None:
        """Until every pending delivery is done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Give pending deliveries a moment, then drop them (logged)."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=CLOSE_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("Stopping: %d notification(s) still retrying were dropped", len(pending))
        await asyncio.gather(*pending, return_exceptions=True)
