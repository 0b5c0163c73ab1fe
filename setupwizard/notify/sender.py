"""Delivering notifications with apprise: one try for "send test", a bounded retry after a session ends.

A notification never fails or delays a setup: the service hands the end over (:meth:`Notifier.session_ended`
returns at once) and this module delivers it in a task of its own. There is no job engine yet, so the
retry is in-process: :data:`ATTEMPTS` tries, waiting ``backoff × 2ⁿ`` between them; a delivery still
pending when the service stops is dropped (logged). When the job queue exists, this moves onto it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import apprise

from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.db.database import Database
from setupwizard.db.models import NotifyTarget
from setupwizard.notify.message import SessionEnd, render, session_end
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


async def send_once(url: str, title: str, body: str) -> bool:
    """One delivery through apprise; whether the receiver took it (never raises)."""
    sender = apprise.Apprise()
    if not sender.add(url):
        return False
    try:
        return bool(await sender.async_notify(title=title, body=body))
    except Exception:  # a plugin's bug must not reach the caller; its message may quote the URL
        log.warning("apprise raised while sending a notification")
        return False


class Notifier:
    """Sends each finished session to its owner's targets whose rule asks for it.

    :param public_url: the service's address as people reach it, for the link to the session.
    :param attempts: tries per target; :param backoff: seconds before the second try (doubled after).
    """

    def __init__(
        self,
        db: Database,
        secretbox: SecretBox,
        public_url: str,
        *,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self.db = db
        self.secretbox = secretbox
        self.public_url = public_url
        self.attempts = attempts
        self.backoff = backoff
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return "Notifier()"

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
        try:
            end = session_end(session_id, owner_id, server, complete, logs, redact)
            if not end.notified:
                return
            task = asyncio.create_task(self._deliver(end), name=f"notify-{session_id}")
        except Exception:
            log.exception("Session %s: its notifications could not be prepared", session_id)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, end: SessionEnd) -> None:
        try:
            async with self.db.session() as session:
                targets = list(await NotifyTargetRepository(session).wanting(end.owner_id, end.succeeded))
        except Exception:
            log.exception("Session %s: its notification targets could not be read", end.session_id)
            return
        title, body = render(end, self.public_url)
        await asyncio.gather(*(self._deliver_to(target, title, body) for target in targets))

    async def _deliver_to(self, target: NotifyTarget, title: str, body: str) -> None:
        try:
            url = self.secretbox.decrypt(target.url, url_associated_data(target.user_id, target.ref))
        except SecretBoxError:
            log.warning("Notification target %d cannot be decrypted: was the secret key changed?", target.id)
            await self._note(target.id, "cannot be decrypted: save the target again")
            return
        for attempt in range(1, self.attempts + 1):
            if await send_once(url, title, body):
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
