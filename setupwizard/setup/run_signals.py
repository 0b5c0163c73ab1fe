"""What workers tell each other about running setups: "cancel this one" and "this one is still alive".

A setup runs in exactly one worker. Any worker may be asked to cancel it, and any worker must notice when
the one running it died. Two implementations of :class:`RunSignals`:

- :class:`MemoryRunSignals`: one process (the embedded default). A cancel reaches the run's event
  directly; a session is alive while this process runs it.
- :class:`RedisRunSignals`: several workers. The running worker keeps a heartbeat key per session
  (``<prefix>run:<id>``, expiring ``lease_seconds`` after its last renewal, renewed every third of that),
  so a key that is gone means no worker runs the session. A cancel is a key (``<prefix>cancel:<id>``) plus
  a message on ``<prefix>cancel``: the message reaches the runner at once, the key covers a message lost
  while the runner's subscription reconnected (it is checked at every heartbeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CANCEL_KEY_TTL_SECONDS = 300
"""How long a cancel request waits for its run (it is only needed until the runner's next heartbeat)."""

CONFIRM_PREFIX = "confirm:"
"""A message on the cancel channel that starts with this confirms the new login of the session named
after it (confirm-or-revert; no key: a confirmation lost meanwhile ends in the safe rollback)."""

CLAIM_TTL_SECONDS = 120
"""How long a worker that claimed a dead session for the sweep holds it."""


class RunSignals(Protocol):
    """Cancel requests and liveness of running setups, across the workers of one service."""

    async def track(
        self, session_id: str, cancel: asyncio.Event, confirm: asyncio.Event | None = None
    ) -> None:
        """This worker runs the session: set ``cancel`` when any worker asks, and keep the run alive;
        set ``confirm`` when any worker confirms its new login (confirm-or-revert)."""
        ...

    def untrack(self, session_id: str) -> None:
        """The run ended here (its row is final): it is no longer alive."""
        ...

    async def request_cancel(self, session_id: str) -> None:
        """Ask whichever worker runs the session to cancel it."""
        ...

    async def request_confirm(self, session_id: str) -> None:
        """Tell whichever worker runs the session that the person confirmed its new login."""
        ...

    async def is_alive(self, session_id: str) -> bool:
        """Whether some worker runs the session now."""
        ...

    async def claim(self, session_id: str) -> bool:
        """Reserve a dead session for this worker's sweep (False: another worker took it)."""
        ...

    async def close(self) -> None:
        """Stop listening and renewing."""
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

    async def is_alive(self, session_id: str) -> bool:
        return session_id in self._runs

    async def claim(self, session_id: str) -> bool:
        return True

    async def close(self) -> None:
        self._runs.clear()
        self._confirms.clear()


class RedisRunSignals:
    """Run signals shared by every worker through Redis (see the module docstring for the keys).

    :param redis: the client (the caller owns it).
    :param prefix: key prefix of the deployment.
    :param lease_seconds: a heartbeat outlives its worker's last renewal by this long.
    """

    def __init__(self, redis: Redis, *, prefix: str, lease_seconds: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self._runs: dict[str, asyncio.Event] = {}
        self._confirms: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def channel(self) -> str:
        """The pub/sub channel cancel requests are announced on."""
        return f"{self.prefix}cancel"

    def run_key(self, session_id: str) -> str:
        """The heartbeat key of a running session."""
        return f"{self.prefix}run:{session_id}"

    def cancel_key(self, session_id: str) -> str:
        """The key that says a session was asked to stop."""
        return f"{self.prefix}cancel:{session_id}"

    async def start(self) -> None:
        """Subscribe to cancel requests and start the heartbeat (returns once subscribed)."""
        self._listener = asyncio.create_task(self._listen(), name="run-signals-listener")
        self._heartbeat = asyncio.create_task(self._beat(), name="run-signals-heartbeat")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def track(
        self, session_id: str, cancel: asyncio.Event, confirm: asyncio.Event | None = None
    ) -> None:
        self._runs[session_id] = cancel
        if confirm is not None:
            self._confirms[session_id] = confirm
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(self.run_key(session_id), "1", px=self.lease_ms)
                pipe.exists(self.cancel_key(session_id))
                _set, cancelled = await pipe.execute()
            if cancelled:
                cancel.set()
        except Exception:  # the heartbeat retries; a run must not fail because Redis hiccuped
            log.exception("Announcing setup %s on Redis failed", session_id)

    def untrack(self, session_id: str) -> None:
        self._confirms.pop(session_id, None)
        if self._runs.pop(session_id, None) is None:
            return
        task = asyncio.create_task(self._forget(session_id), name=f"run-signals-forget-{session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forget(self, session_id: str) -> None:
        try:
            await self.redis.delete(self.run_key(session_id), self.cancel_key(session_id))
        except Exception:  # the key expires on its own after lease_seconds
            log.exception("Removing the heartbeat of setup %s failed", session_id)

    async def request_cancel(self, session_id: str) -> None:
        local = self._runs.get(session_id)
        if local is not None:
            local.set()
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.cancel_key(session_id), "1", ex=CANCEL_KEY_TTL_SECONDS)
            pipe.publish(self.channel, session_id)
            await pipe.execute()

    async def request_confirm(self, session_id: str) -> None:
        local = self._confirms.get(session_id)
        if local is not None:
            local.set()
            return
        await self.redis.publish(self.channel, CONFIRM_PREFIX + session_id)

    async def is_alive(self, session_id: str) -> bool:
        if session_id in self._runs:
            return True
        return bool(await self.redis.exists(self.run_key(session_id)))

    async def claim(self, session_id: str) -> bool:
        key = f"{self.prefix}sweep:{session_id}"
        return bool(await self.redis.set(key, "1", nx=True, ex=CLAIM_TTL_SECONDS))

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
                    session_id = data.decode() if isinstance(data, bytes) else str(data)
                    if session_id.startswith(CONFIRM_PREFIX):  # confirm-or-revert: the person confirmed
                        confirm = self._confirms.get(session_id.removeprefix(CONFIRM_PREFIX))
                        if confirm is not None:
                            confirm.set()
                        continue
                    cancel = self._runs.get(session_id)
                    if cancel is not None:
                        log.info("Cancel of setup %s requested through another worker", session_id)
                        cancel.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: the heartbeat's key check covers the gap
                log.warning("Lost the cancel subscription on Redis; resubscribing", exc_info=True)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _beat(self) -> None:
        every = self.lease_ms / 3000
        while True:
            await asyncio.sleep(every)
            ids = list(self._runs)
            if not ids:
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for session_id in ids:
                        pipe.set(self.run_key(session_id), "1", px=self.lease_ms)
                    for session_id in ids:
                        pipe.exists(self.cancel_key(session_id))
                    replies = await pipe.execute()
            except Exception:
                log.exception("Renewing the heartbeat of %d setup(s) failed; retrying", len(ids))
                continue
            for session_id, cancelled in zip(ids, replies[len(ids) :], strict=True):
                cancel = self._runs.get(session_id)
                if cancelled and cancel is not None:
                    cancel.set()

    async def close(self) -> None:
        for task in (self._listener, self._heartbeat):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._listener, self._heartbeat) if t is not None), return_exceptions=True
        )
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._runs.clear()
        self._confirms.clear()
