"""Suite-wide fixtures. Plugins with the real parts (testbed, databases, live server) are listed here."""

from __future__ import annotations

import pytest

pytest_plugins = ["setupwizard.testbed.pytest_plugin", "tests.integration.web.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API runs an event loop in the main thread while a
    browser is open, so asyncio tests must not be interleaved with it."""
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))
