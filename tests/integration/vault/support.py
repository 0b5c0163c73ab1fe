"""Helpers of the vault and notification tests: keys to paste, and a look into a table itself."""

from __future__ import annotations

import asyncssh
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.integration.web.fixtures import run_sync


def new_key(passphrase: str | None = None, comment: str = "") -> tuple[str, str, str]:
    """A fresh ed25519 key: (private text, public line, fingerprint)."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment or None)
    private = key.export_private_key("openssh", passphrase=passphrase).decode()
    return private, key.export_public_key("openssh").decode().strip(), key.get_fingerprint("sha256")


async def _table_text(url: str, table: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
    finally:
        await engine.dispose()
    return repr([tuple(row) for row in rows])


def table_text(url: str, table: str) -> str:
    """Every column of every row of ``table``, as text (to look for what must not be there)."""
    return run_sync(lambda: _table_text(url, table))
