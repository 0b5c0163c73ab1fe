"""What the live log needs to know about a session, and the interface it asks through.

Sessions are the setup package's (their rows, their owner check); the live log never reads them itself.
The service passes in a :class:`SessionLookup` (``setup/session_lookup.py``), so ``live/`` imports nothing
from ``setup/`` and the one-way flow holds: routes → setup → live → database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SessionState:
    """A session as the live log sees it."""

    session_id: str
    owner_id: int
    running: bool
    last_seq: int  # the highest seq stored when the row was read


class SessionLookup(Protocol):
    """Sessions by id, as their owner keeps them."""

    async def owned(self, session_id: str, owner_id: int) -> SessionState:
        """The session if ``owner_id`` owns it; raises ``NotFoundError`` when there is none and
        ``ForeignSessionError`` (a subclass) when another user owns it."""
        ...

    async def state(self, session_id: str) -> SessionState | None:
        """The session now, or None when there is no such session."""
        ...

    async def existing(self, session_ids: Sequence[str]) -> list[SessionState]:
        """Those of ``session_ids`` that exist (one query, however many)."""
        ...
