"""What workers tell a running setup: "cancel" (without a queue) and "the person confirmed the new login".

A setup runs in exactly one process. Two implementations of :class:`RunSignals`:

- :class:`MemoryRunSignals`: one process (the embedded default). A signal reaches the run's event directly.
- :class:`RedisRunSignals`: several workers (PostgreSQL and Redis). A message on ``<prefix>cancel`` reaches
  whichever worker runs the session. With PostgreSQL a cancel goes through the job queue's abort instead
  (``setupwizard/jobs/``), and whether a run is alive is the queue's worker heartbeat; this relay carries
  the confirm-or-revert confirmation (a confirmation lost meanwhile ends in the safe rollback).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CONFIRM_PREFIX = "confirm:"
"""A message on the channel that starts with this confirms the new login of the session named after it."""


class RunSignals(Protocol):
    """Cancel and confirm requests for running setups, across the workers of one service."""

    async def track(
        self, session_id: str, cancel: asyncio.Event, confirm: asyncio.Event | None = None
    ) -> None:
        """This process runs the session: set ``cancel`` when any worker asks, ``confirm`` when any
        worker confirms its new login (confirm-or-revert)."""
        ...

    def untrack(self, session_id: str) -> None:
        """The run ended here."""
        ...

    async def request_cancel(self, session_id: str) -> None:
        """Ask whichever process runs the session to cancel it."""
        ...

    async def request_confirm(self, session_id: str) -> None:
        """Tell whichever process runs the session that the person confirmed its new login."""
        ...

    async def close(self) -> None:
        """Stop listening."""
        ...


class MemoryRunSignals:
    """Run signals inside one process."""

    def __init__(self) -> None:
        self._runs: dict[str, asyncio.Event] = {}
        self._confirms: dict[str, asyncio.Event] = {}

    async def track(
        self, session_id: str, cancel: asyncio.Event, confirm: asyncio.Event | None = None
    ) -> None:
        self._runs[session_id] = cancel
        if confirm is not None:
            self._confirms[session_id] = confirm

    def untrack(self, session_id: str) -> None:
        self._runs.pop(session_id, None)
        self._confirms.pop(session_id, None)

    async def request_confirm(self, session_id: str) -> None:
        confirm = self._confirms.get(session_id)
        if confirm is not None:
            confirm.set()

    async def request_cancel(self, session_id: str) -> None:
        cancel = self._runs.get(session_id)
        if cancel is not None:
            cancel.set()

    async def close(self) -> None:
        self._runs.clear()
        self._confirms.clear()


class RedisRunSignals(MemoryRunSignals):
    """Run signals shared by every worker through a Redis channel (``<prefix>cancel``).

    :param redis: the client (the caller owns it).
    :param prefix: key prefix of the deployment.
    """

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        super().__init__()
        self.redis = redis
        self.prefix = prefix
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def channel(self) -> str:
        """The pub/sub channel requests are announced on."""
        return f"{self.prefix}cancel"

    async def start(self) -> None:
        """Subscribe to the channel (returns once subscribed)."""
        self._listener = asyncio.create_task(self._listen(), name="run-signals-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def request_cancel(self, session_id: str) -> None:
        if session_id in self._runs:
            await super().request_cancel(session_id)
            return
        await self.redis.publish(self.channel, session_id)

    async def request_confirm(self, session_id: str) -> None:
        if session_id in self._confirms:
            await super().request_confirm(session_id)
            return
        await self.redis.publish(self.channel, CONFIRM_PREFIX + session_id)

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    if text.startswith(CONFIRM_PREFIX):  # confirm-or-revert: the person confirmed
                        await super().request_confirm(text.removeprefix(CONFIRM_PREFIX))
                    elif text in self._runs:
                        log.info("Cancel of setup %s requested through another worker", text)
                        await super().request_cancel(text)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("Lost the run-signal subscription on Redis; resubscribing", exc_info=True)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await super().close()
