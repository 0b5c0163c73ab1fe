"""The fault suite's service: a real ``setupwizard serve`` child process on SQLite, one per module,
with its own data directory and log file (both searched for secrets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from schemathesis.pytest.plugin import SchemathesisFunction

from setupwizard.config import Settings
from setupwizard.testbed.host import TestHost
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, Login, ProcessServer


def fault_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings of a fault-suite service: SQLite in ``data_dir``, short flushes, info logging."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": "",
        "redis_url": "",
        "secret_key": "",
        "admin_user": ADMIN_USER,
        "admin_password": ADMIN_PASSWORD,
        "event_flush_seconds": 0.2,
        "ssh_connect_timeout": 5.0,
        "ssh_keepalive_interval": 2.0,
        "log_level": "info",
        # The suite aims setups at a closed port on 127.0.0.1 (a session that ends at once) and sends hundreds
        # of connection attempts: loopback is allowed and the per-user attempt limit is out of the way here.
        # Both have their own tests (tests/integration/web/test_hardening_targets.py).
        "target_deny": ["169.254.0.0/16", "fe80::/10"],
        "target_deny_own_addresses": False,
        "connect_attempts_per_minute": 100_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis test (one per API operation) the node id its name says.

    schemathesis 4 names each operation's test ``test_x[GET /api/health]``, but pytest 9.2 builds a test's
    node id from its function's name and its ``parametrize`` values, which schemathesis does not use: all of
    one function's tests get the node id ``test_x``. pytest-xdist schedules by node id, so in two processes
    one operation in 48 ran and the rest silently did not (test_schema.py now also counts them)."""
    for item in items:
        if isinstance(item, SchemathesisFunction) and item.parent is not None and item.operation_label:
            item._id = item.parent.id.child(item.originalname).with_params(item.operation_label)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A live service for the module (a child process: it can be killed and started again)."""
    root = tmp_path_factory.mktemp("faults")
    server = ProcessServer(fault_settings(root / "data"), root / "service.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def owner(service: ProcessServer) -> Login:
    """A plain (non-admin) user of the module's service."""
    return service.create_user("fault-owner", "fault-owner-password-1234")


@pytest.fixture
def fresh_host(
    make_test_host: Callable[[], TestHost], service: ProcessServer, owner: Login
) -> Callable[[], TestHost]:
    """A fresh test host whose address the module's service has forgotten: test hosts reuse addresses,
    each with new host keys, which the service would rightly refuse as a changed key."""

    def make() -> TestHost:
        host = make_test_host()
        where: dict[str, str | int] = {"host": host.address, "port": 22}
        with service.client(service.admin_login()) as client:
            forgot = client.delete("/api/servers/known-hosts", params=where)
        assert forgot.status_code in (204, 404), forgot.text
        with service.client(owner) as client:  # trust kept per user: forget the owner's too
            client.delete("/api/servers/known-hosts", params=where)
        return host

    return make
