"""Shared test helpers: how a missing dependency is reported (skip locally, fail in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

REDIS_URL = "redis://127.0.0.1:6379/0"


def in_ci() -> bool:
    """True when running under CI (CI=true), where nothing may be skipped."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_dependency(what: str, how: str) -> NoReturn:
    """Skip the test with a reason saying how to run it; in CI, fail it instead."""
    message = f"{what} is not available: {how}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@asynccontextmanager
async def redis_namespace() -> AsyncIterator[str]:
    """A key prefix of this test's own on the real Redis; every key under it is deleted afterwards.

    Redis unreachable: :func:`missing_dependency`. Callers make their own clients from ``REDIS_URL``.
    """
    probe = Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (RedisConnectionError, OSError):
        await probe.aclose()
        missing_dependency("Redis on 127.0.0.1:6379", "start it: scripts/ensure-services.sh")
    prefix = f"setupwizard-test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in probe.scan_iter(match=f"{prefix}*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()


async def whoami_with_key(address: str, port: int, username: str, private_key: str) -> str:
    """A brand-new SSH login as ``username`` with an OpenSSH private key (text): who the server says we are.

    Raises asyncssh's error when the login is refused.
    """
    import asyncssh

    async with asyncssh.connect(
        address,
        port=port,
        username=username,
        client_keys=[asyncssh.import_private_key(private_key)],
        known_hosts=None,
        agent_path=None,
        connect_timeout=20,
    ) as conn:
        return str((await conn.run("id -un")).stdout).strip()
