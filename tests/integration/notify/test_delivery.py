"""Delivering a session's end through apprise to real local receivers (a webhook server, an SMTP server),
with a real migrated SQLite database: the message names the server, the status, the failed step and its
last lines (redacted), with a link; rules pick the targets; a failing receiver is retried with backoff and
never raises into the caller; a target whose host resolves into a denied network gets no connection."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from setupwizard.auth.service import create_user
from setupwizard.config import Settings
from setupwizard.core.networks import DEFAULT_TARGET_DENY, TargetPolicy
from setupwizard.core.secretbox import SecretBox, derive_key
from setupwizard.db.database import Database
from setupwizard.db.models import NotifyTarget
from setupwizard.notify.reach import DENIED
from setupwizard.notify.repository import NotifyTargetRepository
from setupwizard.notify.sender import NOT_DELIVERED, Notifier, url_associated_data
from setupwizard.notify.urls import mask
from setupwizard.provisioning.events import EventType, Level, SessionEvent, utc_now
from setupwizard.provisioning.redaction import Redactor

from .receivers import RECEIVERS_POLICY, free_port, mail_text, smtp_server, webhook

PUBLIC_URL = "https://wizard.example.com"
SUDO_SECRET = "CanarySudo-5be1d07a"


@pytest.fixture(scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    data_dir: Path = tmp_path_factory.mktemp("notify")
    database = Database(Settings(data_dir=data_dir))
    await database.migrate()
    yield database
    await database.dispose()


BOX = SecretBox(derive_key(b"notify delivery tests key material"))


async def new_user(db: Database) -> int:
    async with db.session() as session:
        return (await create_user(session, f"n{secrets.token_hex(5)}", "a-long-password-123")).id


async def add_target(db: Database, user_id: int, url: str, *, failed: bool, succeeded: bool) -> int:
    ref = secrets.token_hex(8)
    async with db.session() as session:
        row = await NotifyTargetRepository(session).add(
            NotifyTarget(
                user_id=user_id,
                name=f"t{secrets.token_hex(3)}",
                ref=ref,
                url=BOX.encrypt(url, url_associated_data(user_id, ref)),
                hint=mask(url),
                on_failed=failed,
                on_succeeded=succeeded,
                created_at=datetime.now(UTC),
                last_error="",
            )
        )
        return row.id


async def target_row(db: Database, user_id: int, target_id: int) -> NotifyTarget:
    async with db.session() as session:
        row = await NotifyTargetRepository(session).get_owned(user_id, target_id)
    assert row is not None
    return row


def complete(status: str) -> SessionEvent:
    steps = [
        {"id": "connect", "name": "连接服务器", "status": "succeeded"},
        {"id": "script", "name": "运行脚本", "status": "failed" if status == "failed" else "succeeded"},
    ]
    message = "✗ 脚本失败 (exit 3)" if status == "failed" else "✓ 设置完成"
    data = {"status": status, "message": message[2:], "steps": steps}
    return SessionEvent(
        seq=9, type=EventType.COMPLETE, level=Level.ERROR, message=message, timestamp=utc_now(), data=data
    )


LOGS = [f"line {n}" for n in range(1, 30)] + [f"sudo said {SUDO_SECRET}", "exit 3"]


async def test_a_failed_run_reaches_a_webhook_and_a_mailbox_with_what_a_person_needs(db: Database) -> None:
    user = await new_user(db)
    notifier = Notifier(db, BOX, PUBLIC_URL, policy=RECEIVERS_POLICY, backoff=0.01)
    with webhook() as hook, smtp_server() as mailbox:
        await add_target(db, user, hook.url(), failed=True, succeeded=False)
        await add_target(db, user, mailbox.url(), failed=True, succeeded=True)
        end = complete("failed")
        notifier.session_ended(
            "sess-1", user, "root@198.51.100.7:22", end, LOGS, Redactor([SUDO_SECRET]).redact
        )
        await notifier.wait()
        posts, mails = hook.posts, mailbox.mails
    assert len(posts) == 1 and len(mails) == 1
    for text in (
        posts[0]["title"] + "\n" + posts[0]["message"],
        str(mails[0][1]["Subject"]) + mail_text(mails[0][1]),
    ):
        assert "root@198.51.100.7:22" in text
        assert "Status: failed" in text and "Failed step: 运行脚本 (script)" in text
        assert "sudo said ********" in text and SUDO_SECRET not in text
        assert "exit 3" in text and "line 22" in text and "line 21" not in text  # the last 10 lines
        assert f"{PUBLIC_URL}/history?session=sess-1" in text


async def test_rules_pick_who_hears_of_a_success_and_a_cancel_tells_nobody(db: Database) -> None:
    user = await new_user(db)
    notifier = Notifier(db, BOX, "", policy=RECEIVERS_POLICY, backoff=0.01)
    with webhook() as on_failure, webhook() as on_success:
        await add_target(db, user, on_failure.url(), failed=True, succeeded=False)
        await add_target(db, user, on_success.url(), failed=False, succeeded=True)
        notifier.session_ended("sess-ok", user, "bob@h:22", complete("succeeded"), ["ok"], str)
        notifier.session_ended("sess-x", user, "bob@h:22", complete("cancelled"), ["x"], str)
        await notifier.wait()
    assert on_failure.posts == []
    assert [post["title"] for post in on_success.posts] == ["Setup Wizard: bob@h:22 succeeded · 设置成功"]
    assert "Session: sess-ok" in on_success.posts[0]["message"]  # no public URL: the id


async def test_a_failing_receiver_is_retried_with_backoff_and_noted(db: Database) -> None:
    user = await new_user(db)
    notifier = Notifier(db, BOX, "", policy=RECEIVERS_POLICY, attempts=3, backoff=0.01)
    with webhook(fail_first=2) as flaky:
        flaky_id = await add_target(db, user, flaky.url(), failed=True, succeeded=False)
        dead_id = await add_target(
            db, user, f"json://127.0.0.1:{free_port()}/x", failed=True, succeeded=False
        )
        notifier.session_ended("sess-r", user, "u@h:22", complete("failed"), ["boom"], str)  # never raises
        await notifier.wait()
    assert flaky.tries == 3 and len(flaky.posts) == 1
    assert (await target_row(db, user, flaky_id)).last_error == ""
    dead = await target_row(db, user, dead_id)
    assert dead.last_error == NOT_DELIVERED and dead.last_sent_at is not None


async def test_a_target_that_cannot_be_decrypted_is_noted_not_raised(db: Database) -> None:
    user = await new_user(db)
    target_id = await add_target(db, user, "json://127.0.0.1/x", failed=True, succeeded=False)
    other_key = SecretBox(derive_key(b"another service's key material 123"))
    notifier = Notifier(db, other_key, "", policy=RECEIVERS_POLICY, backoff=0.01)
    notifier.session_ended("sess-k", user, "u@h:22", complete("failed"), [], str)
    await notifier.wait()
    assert "decrypted" in (await target_row(db, user, target_id)).last_error


async def test_a_target_whose_host_resolves_into_a_denied_network_is_refused_at_delivery(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Saved while loopback was allowed, delivered under the default list: ``localhost`` resolves into
    127.0.0.0/8 at send time, so apprise is never called, nothing is retried, and the refusal is noted on
    the target and logged without the URL."""
    caplog.set_level(logging.DEBUG)
    canary = "deny-Canary-41c9e07b"
    user = await new_user(db)
    allowing = Notifier(db, BOX, "", policy=RECEIVERS_POLICY, backoff=0.01)
    denying = Notifier(db, BOX, "", policy=TargetPolicy(DEFAULT_TARGET_DENY), backoff=0.01)
    with webhook() as hook:
        url = f"json://localhost:{hook.port}/{canary}"
        target_id = await add_target(db, user, url, failed=True, succeeded=False)
        allowing.session_ended("sess-a", user, "u@h:22", complete("failed"), ["x"], str)
        await allowing.wait()
        assert hook.tries == 1  # the receiver is reachable: what follows is the deny list's doing
        caplog.clear()
        denying.session_ended("sess-d", user, "u@h:22", complete("failed"), ["x"], str)
        await denying.wait()
    assert hook.tries == 1
    row = await target_row(db, user, target_id)
    assert row.last_error == DENIED and row.last_sent_at is not None
    logged = [record.getMessage() for record in caplog.records]
    assert any(f"Notification target {target_id}" in line and "refused" in line for line in logged), logged
    assert not [line for line in logged if canary in line or url in line]
