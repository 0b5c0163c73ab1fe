"""The notification targets' rules: save (URL checked, encrypted, audited), list, change rules, delete
(audited), and send a test. The URL never leaves this module but towards apprise. Services never commit."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from setupwizard.audit import trail as audit
from setupwizard.audit.trail import AuditAction
from setupwizard.core.errors import AppError, InvalidRequestError, NotFoundError
from setupwizard.core.networks import TargetPolicy
from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.db.models import NotifyTarget, User
from setupwizard.notify.message import trial_notice
from setupwizard.notify.reach import DENIED, NotifyUrlDeniedError, check_reach
from setupwizard.notify.repository import NotifyTargetRepository
from setupwizard.notify.sender import NOT_DELIVERED, send_once, url_associated_data
from setupwizard.notify.urls import check_url, mask


class NotifyFailedError(AppError):
    """502 ``notify_failed``: the receiving service refused the test, or could not be reached."""

    def __init__(self) -> None:
        super().__init__(502, "notify_failed", f"通知发送失败 ({NOT_DELIVERED})")


async def save(
    session: AsyncSession,
    conn: HTTPConnection,
    secretbox: SecretBox,
    policy: TargetPolicy,
    user: User,
    name: str,
    url: str,
    on_failed: bool,
    on_succeeded: bool,
) -> NotifyTarget:
    """A new target of ``user`` (422 naming ``name`` or ``url`` when it cannot be saved; ``url`` with
    ``notify_url_denied`` when it reaches a network ``policy`` denies)."""
    name = name.strip()
    if not name:
        raise InvalidRequestError("name", "请为通知目标起一个名字 (the target needs a name)")
    repo = NotifyTargetRepository(session)
    if await repo.name_taken(user.id, name):
        raise InvalidRequestError("name", f"已有名为 {name} 的通知目标 (a target named {name} exists)")
    url = check_url(url)
    await check_reach(url, policy)
    ref = secrets.token_hex(8)
    row = await repo.add(
        NotifyTarget(
            user_id=user.id,
            name=name,
            ref=ref,
            url=secretbox.encrypt(url, url_associated_data(user.id, ref)),
            hint=mask(url),
            on_failed=on_failed,
            on_succeeded=on_succeeded,
            created_at=datetime.now(UTC),
            last_error="",
        )
    )
    detail = {"target_id": row.id, "hint": row.hint, "on_failed": on_failed, "on_succeeded": on_succeeded}
    await audit.record_in(
        session, conn, AuditAction.NOTIFY_TARGET_SAVE, user=user, target=name, detail=detail
    )
    return row


async def list_of(session: AsyncSession, user: User) -> list[NotifyTarget]:
    return list(await NotifyTargetRepository(session).of_user(user.id))


async def _owned(session: AsyncSession, user: User, target_id: int) -> NotifyTarget:
    row = await NotifyTargetRepository(session).get_owned(user.id, target_id)
    if row is None:
        raise NotFoundError("没有这个通知目标 (no such notification target)", code="notify_target_not_found")
    return row


async def set_rules(
    session: AsyncSession, user: User, target_id: int, on_failed: bool, on_succeeded: bool
) -> NotifyTarget:
    """Change when a target is told; the row as it is now."""
    row = await _owned(session, user, target_id)
    await NotifyTargetRepository(session).set_rules(row.id, on_failed, on_succeeded)
    await session.refresh(row)
    return row


async def delete(session: AsyncSession, conn: HTTPConnection, user: User, target_id: int) -> None:
    row = await _owned(session, user, target_id)
    await NotifyTargetRepository(session).delete(row)
    detail = {"target_id": row.id, "hint": row.hint}
    await audit.record_in(
        session, conn, AuditAction.NOTIFY_TARGET_DELETE, user=user, target=row.name, detail=detail
    )


async def send_test(
    session: AsyncSession,
    secretbox: SecretBox,
    policy: TargetPolicy,
    user: User,
    target_id: int,
    public_url: str,
) -> NotifyTarget:
    """Send one test notification now (no retry); 502 when it did not go through, 422
    ``notify_url_denied`` when its host is (now) in a denied network."""
    row = await _owned(session, user, target_id)
    try:
        url = secretbox.decrypt(row.url, url_associated_data(user.id, row.ref))
    except SecretBoxError:
        raise InvalidRequestError(
            "url", "通知地址无法解密（服务的密钥已更换）；请删除后重新保存 (cannot be decrypted)"
        ) from None
    error = await send_once(url, *trial_notice(row.name, public_url), policy)
    repo = NotifyTargetRepository(session)
    await repo.mark_sent(row.id, datetime.now(UTC), error)
    if error == DENIED:
        raise NotifyUrlDeniedError()
    if error:
        raise NotifyFailedError()
    await session.refresh(row)
    return row
