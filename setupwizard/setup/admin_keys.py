"""A generated admin private key, offered once to the run's owner.

The engine hands the key back in :attr:`SetupResult.generated_private_key`; the service keeps it here as
one row of ``admin_key_handovers``, encrypted with the cipher of the saved sudo passwords and bound to
(session, owner). Any worker may serve the download: it deletes the row and returns the key in the same
statement (``DELETE … RETURNING``), so two downloads at once cannot both get it. The row also goes when
it expires (:data:`KEY_TTL`, a purge every :data:`PURGE_SECONDS` in every worker) and when its server is
forgotten. The key never reaches a log line, an event or the session's result: the run's result only says
that a key waits, and until when.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from setupwizard.core.errors import AppError, NotFoundError
from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.db.database import Database
from setupwizard.db.models import AdminKeyHandover
from setupwizard.provisioning.events import SessionEvent
from setupwizard.provisioning.result import SetupResult
from setupwizard.provisioning.target import SetupOptions
from setupwizard.setup import repository
from setupwizard.setup.ports import KeyHandover
from setupwizard.setup.repository import AdminKeyRepository
from setupwizard.vault import service as vault

log = logging.getLogger(__name__)

KEY_TTL = timedelta(hours=1)
PURGE_SECONDS = 60.0
RESULT_FIELD = "admin_key"
"""The field of a session's result that says a key waits: ``{"username", "expires_at", "url"}``."""


def key_associated_data(session_id: str, owner_id: int) -> str:
    """What a stored key is bound to: decrypting it in any other row fails."""
    return f"admin_key_handovers:{session_id}:{owner_id}"


def download_url(session_id: str) -> str:
    """Where the owner downloads the key."""
    return f"/api/setup/sessions/{session_id}/admin-key"


class AdminKeyGoneError(AppError):
    """410 ``admin_key_gone``: the key was downloaded already, or it expired."""

    def __init__(self, message: str) -> None:
        super().__init__(410, "admin_key_gone", message)


@dataclass(frozen=True)
class AdminKey:
    """A downloaded key: the admin user's name and the private key in OpenSSH format."""

    username: str
    private_key: str

    def __repr__(self) -> str:
        return f"AdminKey(username={self.username!r})"


class AdminKeyVault:
    """Keeps generated keys for their one download; :meth:`start` runs the expiry purge in this worker.

    :param ttl: how long a key waits for its download.
    :param purge_seconds: how often this worker deletes expired keys.
    """

    def __init__(
        self,
        db: Database,
        secretbox: SecretBox,
        *,
        ttl: timedelta = KEY_TTL,
        purge_seconds: float = PURGE_SECONDS,
    ) -> None:
        self.db = db
        self.secretbox = secretbox
        self.ttl = ttl
        self.purge_seconds = purge_seconds
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return "AdminKeyVault()"

    async def offer(
        self,
        session_id: str,
        owner_id: int,
        host: str,
        port: int,
        username: str,
        private_key: str,
        keep: bool = False,
    ) -> dict[str, Any]:
        """Store the key encrypted for one download; the session result's :data:`RESULT_FIELD` value.

        ``keep``: also save it in the owner's vault, so a lost download is no lost server;
        the value then names the saved key (``vault_key``: id and name).
        """
        now = datetime.now(UTC)
        expires = now + self.ttl
        sealed = self.secretbox.encrypt(private_key, key_associated_data(session_id, owner_id))
        row = AdminKeyHandover(
            session_id=session_id,
            owner_id=owner_id,
            host=host.strip().lower(),
            port=port,
            username=username,
            private_key=sealed,
            created_at=now,
            expires_at=expires,
        )
        offered: dict[str, Any] = {
            "username": username,
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
            "url": download_url(session_id),
        }
        async with self.db.session() as session:
            await AdminKeyRepository(session).add(row)
            if keep:
                name = f"admin key for {username}@{row.host} ({now:%Y-%m-%d})"
                saved = await vault.keep_generated(session, self.secretbox, owner_id, name, private_key)
                offered["vault_key"] = {"id": saved.id, "name": saved.name}
        return offered

    async def take(self, session_id: str, owner_id: int) -> AdminKey:
        """The key, once: the row is gone when this returns.

        :raises NotFoundError: 404, the session is not the caller's, or its run made no key.
        :raises AdminKeyGoneError: 410, downloaded already, expired, or unreadable.
        """
        now = datetime.now(UTC)
        async with self.db.session() as session:
            row = await repository.get_owned_session(session, session_id, owner_id)
            taken = await AdminKeyRepository(session).take(session_id, owner_id, now)
            offered = (row.result or {}).get(RESULT_FIELD)
        if taken is None:
            if not isinstance(offered, dict):
                raise NotFoundError("这次设置没有生成私钥", code="admin_key_none")
            raise AdminKeyGoneError(_gone_message(offered, now))
        username, sealed = taken
        try:
            private_key = self.secretbox.decrypt(sealed, key_associated_data(session_id, owner_id))
        except SecretBoxError:
            log.warning(
                "The admin key of session %s cannot be decrypted: was the secret key changed?", session_id
            )
            raise AdminKeyGoneError("私钥无法解密（服务的密钥已更换），已删除；请重新生成密钥") from None
        return AdminKey(username, private_key)

    async def purge_expired(self) -> int:
        """Delete expired keys now; how many."""
        async with self.db.session() as session:
            return await AdminKeyRepository(session).purge_expired(datetime.now(UTC))

    def start(self) -> None:
        """Purge at once and then every ``purge_seconds`` until :meth:`close`."""
        self._task = asyncio.create_task(self._purge_loop(), name="admin-key-purge")

    async def close(self) -> None:
        """Stop the purge."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _purge_loop(self) -> None:
        while True:
            try:
                removed = await self.purge_expired()
                if removed:
                    log.info("Deleted %d expired admin key(s) nobody downloaded", removed)
            except Exception:  # the database is away: the next round tries again
                log.warning("Purging expired admin keys failed; trying again later", exc_info=True)
            await asyncio.sleep(self.purge_seconds)


def _gone_message(offered: dict[str, Any], now: datetime) -> str:
    expires = str(offered.get("expires_at", ""))
    try:
        expired = datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now
    except ValueError:
        expired = False
    if expired:
        return "私钥已过期并已删除（只保留一小段时间）；请重新运行设置生成新密钥"
    return "私钥只能下载一次：已经下载过，或服务器已被忘记；如果没有保存好，请重新运行设置生成新密钥"


async def offer_admin_key(
    handover: KeyHandover | None,
    session_id: str,
    owner_id: int,
    host: str,
    port: int,
    complete: SessionEvent,
    result: SetupResult,
    options: SetupOptions,
) -> SessionEvent:
    """Keep a generated private key for one download; ``complete`` then says where (never the key).

    ``port`` is where the admin logs in now (a hardening may have moved it). The key is offered even when a
    later step failed: it is installed on the server by then.
    """
    private_key, result.generated_private_key = result.generated_private_key, None  # held no longer
    if private_key is None or handover is None or options.admin is None:
        return complete
    admin = options.admin
    try:
        offered = await handover.offer(
            session_id, owner_id, host, port, admin.username, private_key, admin.keep_in_vault
        )
    except Exception as exc:  # the key is lost; say so without it (the exception holds only ciphertext)
        log.error(
            "Session %s: the generated admin key could not be stored for download (%s)",
            session_id,
            type(exc).__name__,
        )
        return complete
    return replace(complete, data={**complete.data, RESULT_FIELD: offered})
