"""The request's database session: the one commit point of every HTTP request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.database import Database
from setupwizard.db.faults import DatabaseFaults


def get_database(request: Request) -> Database:
    """The app's Database (``app.state.db``)."""
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request: committed after the handler returns, rolled back if it raises.

    A commit that works ends a database fault the app was reporting (see ``setupwizard.db.faults``).
    """
    async with get_database(request).session() as session:
        yield session
    faults: DatabaseFaults | None = getattr(request.app.state, "db_faults", None)
    if faults is not None and faults.active:
        faults.clear()


# scope="function": commit before the response is sent, so a failed commit is a 500, never a false 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_database)]
