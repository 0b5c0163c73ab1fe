"""The vault's rules: save (read, encrypt, audit), list, delete (audited), and hand a key to a run.

Only the owner's own rows are ever read: a key id of another user is "no such key", for admins too.
The decrypted key leaves this module only towards the SSH connection of its owner's run
(:func:`private_key_for`); no answer, event, log line or audit row holds it. Services never commit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from setupwizard.audit import trail as audit
from setupwizard.audit.trail import AuditAction
from setupwizard.auth.repository import UserRepository
from setupwizard.core.errors import InvalidRequestError, NotFoundError
from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.db.database import Database
from setupwizard.db.models import SshKey, User
from setupwizard.setup.schemas import ConnectionRequest
from setupwizard.vault.keys import ReadKey, read_private_key
from setupwizard.vault.repository import SshKeyRepository

log = logging.getLogger(__name__)

NAME_MAX = 128
Body = TypeVar("Body", bound=ConnectionRequest)


def key_associated_data(user_id: int, fingerprint: str) -> str:
    """What a stored key is bound to: copied into another user's row, it does not decrypt."""
    return f"ssh_keys:{user_id}:{fingerprint}"


def _row(user_id: int, name: str, read: ReadKey, secretbox: SecretBox) -> SshKey:
    sealed = secretbox.encrypt(read.private_key, key_associated_data(user_id, read.fingerprint))
    return SshKey(
        user_id=user_id,
        name=name,
        key_type=read.key_type,
        public_key=read.public_key,
        fingerprint=read.fingerprint,
        private_key=sealed,
        created_at=datetime.now(UTC),
    )


async def save(
    session: AsyncSession,
    conn: HTTPConnection,
    secretbox: SecretBox,
    user: User,
    name: str,
    private_key: str,
    passphrase: str | None,
) -> SshKey:
    """Read, encrypt and store a pasted key under ``name`` (422 naming the field when it cannot be)."""
    name = name.strip()
    if not name:
        raise InvalidRequestError("name", "请为私钥起一个名字 (the key needs a name)")
    repo = SshKeyRepository(session)
    if await repo.name_taken(user.id, name):
        raise InvalidRequestError(
            "name", f"已有名为 {name} 的私钥 (a key named {name} exists already)", code="key_name_taken"
        )
    read = read_private_key(private_key, passphrase)
    row = await repo.add(_row(user.id, name, read, secretbox))
    detail = {"key_id": row.id, "fingerprint": row.fingerprint}
    await audit.record_in(session, conn, AuditAction.KEY_SAVE, user=user, target=name, detail=detail)
    return row


async def keep_generated(
    session: AsyncSession, secretbox: SecretBox, user_id: int, name: str, private_key: str
) -> SshKey:
    """Keep a key the service generated (an admin user's) in its owner's vault, under a free name."""
    read = read_private_key(private_key, None)
    repo = SshKeyRepository(session)
    base = name[:NAME_MAX]
    candidate, n = base, 1
    while await repo.name_taken(user_id, candidate):
        n += 1
        suffix = f" ({n})"
        candidate = base[: NAME_MAX - len(suffix)] + suffix
    row = await repo.add(_row(user_id, candidate, read, secretbox))
    detail = {"key_id": row.id, "fingerprint": row.fingerprint, "generated": True}
    owner = await UserRepository(session).get(user_id)
    await audit.record_in(session, None, AuditAction.KEY_SAVE, user=owner, target=candidate, detail=detail)
    return row


async def list_of(session: AsyncSession, user: User) -> list[SshKey]:
    """The user's own keys (an admin sees only theirs too)."""
    return list(await SshKeyRepository(session).of_user(user.id))


async def delete(session: AsyncSession, conn: HTTPConnection, user: User, key_id: int) -> None:
    """Delete one of the user's keys, audited (another user's is a 404, as a missing one)."""
    repo = SshKeyRepository(session)
    row = await repo.get_owned(user.id, key_id)
    if row is None:
        raise NotFoundError("没有这个私钥 (no such key)", code="key_not_found")
    await repo.delete(row)
    detail = {"key_id": row.id, "fingerprint": row.fingerprint}
    await audit.record_in(session, conn, AuditAction.KEY_DELETE, user=user, target=row.name, detail=detail)


async def private_key_for(session: AsyncSession, secretbox: SecretBox, user_id: int, key_id: int) -> str:
    """The decrypted key ``key_id`` of ``user_id``, for that user's own run.

    :raises InvalidRequestError: 422 on ``key_id``: no such key of this user, or it cannot be decrypted.
    """
    row = await SshKeyRepository(session).get_owned(user_id, key_id)
    if row is None:
        raise InvalidRequestError("key_id", "没有这个已保存的私钥 (no saved key with this key_id)")
    try:
        return secretbox.decrypt(row.private_key, key_associated_data(user_id, row.fingerprint))
    except SecretBoxError:
        log.warning("Saved key %d cannot be decrypted: was the secret key changed?", row.id)
        raise InvalidRequestError(
            "key_id", "已保存的私钥无法解密（服务的密钥已更换）；请删除后重新保存 (cannot be decrypted)"
        ) from None


async def fill_saved_key(db: Database, secretbox: SecretBox, user_id: int, body: Body) -> Body:
    """``body`` with its ``key_id`` replaced by that saved key of ``user_id`` (as if pasted).

    :raises InvalidRequestError: 422 on ``key_id``: given with ``private_key``, or not the user's key.
    """
    key_id = body.key_id
    if key_id is None:
        return body
    if body.private_key is not None:
        raise InvalidRequestError("key_id", "请只选一个：已保存的私钥或粘贴的私钥 (key_id or private_key)")
    async with db.session() as session:
        pem = await private_key_for(session, secretbox, user_id, key_id)
    return body.model_copy(update={"private_key": SecretStr(pem), "passphrase": None, "key_id": None})
