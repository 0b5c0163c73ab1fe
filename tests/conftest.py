"""Suite-wide fixtures. Plugins with the real parts (testbed, databases, live server) are listed here."""

from __future__ import annotations

from collections import Counter

import pytest

pytest_plugins = ["setupwizard.testbed.pytest_plugin", "tests.integration.web.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API runs an event loop in the main thread while a
    browser is open, so asyncio tests must not be interleaved with it."""
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse a collection in which two tests share a node id: pytest-xdist (``make test``)
    schedules and reports by node id, so all but one of them would silently not run."""
    shared = [nodeid for nodeid, count in Counter(item.nodeid for item in session.items).items() if count > 1]
    if shared:
        raise pytest.UsageError(f"{len(shared)} node ids are shared by more than one test, e.g. {shared[:3]}")
