"""The backend faults of ``test_backend_faults.py`` (Redis restarted empty, PostgreSQL away for seconds)
show in ``/metrics``: bus publish failures and event write failures are counted, on the suite's own Redis
and PostgreSQL, with a real setup on a test server."""

from __future__ import annotations

import asyncio

from setupwizard.testbed.host import TestHost
from tests.integration.metrics.test_metrics_after_a_run import scrape, value
from tests.integration.tokens.support import create_token
from tests.integration.web.live import Login, ProcessServer

from .backends import OwnPostgres, OwnRedis
from .test_backend_faults import run_with, service, stores

__all__ = ["service", "stores"]  # the module's fixtures, shared with test_backend_faults.py


async def test_backend_faults_are_counted_in_the_metrics(
    service: ProcessServer, owner: Login, test_host: TestHost, stores: tuple[OwnPostgres, OwnRedis]
) -> None:
    postgres, redis = stores
    admin = await asyncio.to_thread(service.admin_login)
    token = (await asyncio.to_thread(create_token, service, admin, "metrics", "read"))["token"]
    url = f"{service.base_url}/metrics"
    before = await scrape(url, token)

    async def restart_redis() -> None:
        await asyncio.to_thread(redis.kill)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis.start)

    _, stored, _, _ = await run_with(service, owner, test_host, "metrics-redis", restart_redis)
    assert stored.status == "succeeded", stored.message
    between = await scrape(url, token)
    published = "setupwizard_bus_publish_failures_total"
    assert value(between, published) > value(before, published)

    async def pause_postgres() -> None:
        await asyncio.to_thread(postgres.stop)
        await asyncio.sleep(4.0)
        await asyncio.to_thread(postgres.start)

    _, stored, _, _ = await run_with(service, owner, test_host, "metrics-pg", pause_postgres)
    assert stored.status == "succeeded", stored.message
    after = await scrape(url, token)
    failed = "setupwizard_event_write_failures_total"
    assert value(between, failed) == value(before, failed)  # Redis away: the database wrote on
    assert value(after, failed) > value(between, failed)
    assert value(after, "setupwizard_event_write_seconds_count") > value(
        between, "setupwizard_event_write_seconds_count"
    )
    assert (
        value(after, "setupwizard_setups_ended_total", status="succeeded")
        == value(before, "setupwizard_setups_ended_total", status="succeeded") + 2
    )
