"""Bounded integer parameters shared by the routes: a number a database column can hold, or 422.

Integer columns are 32-bit on PostgreSQL and 64-bit on SQLite; an unbounded ``int`` parameter lets
``/…/9223372036854775808`` reach the driver and fail there as a 500. Every id, seq or count a client sends
goes through one of these.

Shared: the routes of ``auth/``, ``audit/``, ``servers/``, ``vault/`` and ``notify/`` use them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ROW_INT = 2**31 - 1
"""The largest value of an ``Integer`` column on every supported database."""

RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_INT, description="A row id (1 to 2³¹-1).")]
"""A row id in the path."""

SeqQuery = Annotated[int, Query(ge=0, le=MAX_ROW_INT, description="An event seq (0 to 2³¹-1).")]
"""An event sequence number in the query (``since``)."""

RowIdQuery = Annotated[int, Query(ge=1, le=MAX_ROW_INT, description="A row id (1 to 2³¹-1).")]
"""A row id in the query."""
