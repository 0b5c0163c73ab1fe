"""pytest fixtures for the real Debian test server (see docs/testbed.md and notes/TESTBED_API.md).

- ``testbed`` (session): bridge, apt proxy and cached image ready; needs root.
- ``test_host`` (module): a fresh host for the module, destroyed afterwards.
- ``make_test_host`` (function): a factory for more fresh hosts, destroyed at the end of the test.

Without root (or when the testbed cannot be built) tests using these fixtures skip with a how-to,
except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from setupwizard.testbed.commands import TestbedError
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed

FIXTURES = frozenset({"testbed", "test_host", "make_test_host"})
HOW_TO = "run the suite as root on Debian (sudo make test); docs/testbed.md explains what it builds"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a testbed fixture with ``testbed`` (so ``-m 'not testbed'`` works)."""
    for item in items:
        if FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.testbed)


@pytest.fixture(scope="session")
def testbed() -> Testbed:
    """The machine's testbed, made ready (first run builds the image: about a minute)."""
    from tests.support import missing_dependency

    if os.geteuid() != 0:
        missing_dependency("the Debian testbed (needs root)", HOW_TO)
    try:
        return Testbed.ensure()
    except TestbedError as exc:
        missing_dependency("the Debian testbed", f"{exc}\n{HOW_TO}")


@pytest.fixture(scope="module")
def test_host(testbed: Testbed) -> Iterator[TestHost]:
    """A fresh host shared by the tests of one module."""
    host = testbed.new_host()
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def make_test_host(testbed: Testbed) -> Iterator[Callable[[], TestHost]]:
    """Call it for fresh hosts; all are destroyed when the test ends."""
    hosts: list[TestHost] = []

    def make() -> TestHost:
        host = testbed.new_host()
        hosts.append(host)
        return host

    try:
        yield make
    finally:
        for host in hosts:
            host.stop()
