"""The progress bus on Redis Streams, so several service workers share every session's events.

One stream per session, ``<prefix>events:<session_id>``. An event's stream entry id is ``<seq>-0``: Redis
itself then refuses a seq that is not above the last one, and "everything after seq N" is simply
``XREAD … STREAMS key N-0`` — the same call replays what is retained and then blocks for live entries.
Streams get a long safety expiry while running and ``retention_seconds`` after the ``complete`` event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from setupwizard.live.bus import DEFAULT_RETENTION_SECONDS, OutOfOrderEventError
from setupwizard.provisioning.events import EventType, SessionEvent

RUNNING_TTL_SECONDS = 24 * 3600
"""Safety expiry of a running session's stream, renewed on every event (a crashed run leaves no litter)."""

_BLOCK_MS = 5_000
_READ_COUNT = 500


class RedisBus:
    """A :class:`~setupwizard.live.bus.ProgressBus` on Redis Streams.

    :param redis: a ``redis.asyncio.Redis`` client (``decode_responses`` may be either).
    :param prefix: key prefix, so several deployments or test runs share one Redis.
    :param retention_seconds: how long a finished session's stream is kept.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "setupwizard:",
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.retention_seconds = retention_seconds
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisBus:
        """Build a bus with its own client for ``url``."""
        return cls(Redis.from_url(url), **kwargs)

    def key(self, session_id: str) -> str:
        """The stream key of a session."""
        return f"{self.prefix}events:{session_id}"

    async def publish(self, session_id: str, event: SessionEvent) -> None:
        """XADD the event under id ``<seq>-0`` and renew the stream's expiry (see the protocol)."""
        key = self.key(session_id)
        ttl = self.retention_seconds if event.type is EventType.COMPLETE else RUNNING_TTL_SECONDS
        payload = json.dumps(event.to_frame(), ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"frame": payload}, id=f"{event.seq}-0")
            pipe.expire(key, max(1, round(ttl)))
            try:
                await pipe.execute()
            except ResponseError as exc:
                if "equal or smaller" in str(exc):
                    raise OutOfOrderEventError(f"session {session_id}: seq {event.seq} out of order") from exc
                raise

    async def subscribe(self, session_id: str, since: int = 0) -> AsyncIterator[SessionEvent]:
        """XREAD from ``<since>-0`` on, blocking for live entries, until ``complete`` (see the protocol)."""
        key = self.key(session_id)
        cursor = since
        while not self._closed:
            reply = await self.redis.xread({key: f"{cursor}-0"}, count=_READ_COUNT, block=_BLOCK_MS)
            for _stream, entries in _streams(reply):
                for _entry_id, fields in entries:
                    event = SessionEvent.from_frame(json.loads(_text(_field(fields, "frame"))))
                    if event.seq <= cursor:
                        continue
                    cursor = event.seq
                    yield event
                    if event.type is EventType.COMPLETE:
                        return

    async def last_seq(self, session_id: str) -> int | None:
        """The seq of the stream's last entry, or None when the stream does not exist (any more)."""
        reply = await self.redis.xrevrange(self.key(session_id), count=1)
        if not reply:
            return None
        entry_id = reply[0][0]
        return int(_text(entry_id).split("-", 1)[0])

    async def close(self) -> None:
        """Close the Redis client; iterating subscribers end at their next read."""
        self._closed = True
        await self.redis.aclose()


def _streams(reply: Any) -> list[tuple[Any, list[tuple[Any, Any]]]]:
    # RESP2 answers a list of [key, entries]; RESP3 a dict of key -> entries.
    if not reply:
        return []
    if isinstance(reply, dict):
        return list(reply.items())
    return [(item[0], item[1]) for item in reply]


def _field(fields: dict[Any, Any], name: str) -> Any:
    if name in fields:
        return fields[name]
    return fields[name.encode()]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
