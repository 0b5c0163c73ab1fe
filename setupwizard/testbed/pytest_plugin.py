"""pytest fixtures for the real Debian test server (see docs/testbed.md and notes/TESTBED_API.md).

- ``testbed`` (session): bridge, apt proxy and cached image ready; needs root.
- ``test_host`` (module): a fresh host for the module, destroyed afterwards.
- ``make_test_host`` (function): a factory for more fresh hosts, destroyed at the end of the test.
- ``systemd_host`` (module, parametrized ``bookworm``/``trixie``): a fresh systemd-flavour host (the
  image's systemd as PID 1 under systemd-nspawn) for the module; every test using it runs on both.
- ``make_systemd_host`` (function): ``make_systemd_host("trixie")`` for more fresh systemd hosts.

Without root (or when the testbed cannot be built) tests using these fixtures skip with a how-to,
except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from setupwizard.testbed.commands import TestbedError
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import DEFAULT_RELEASE, RELEASES
from setupwizard.testbed.testbed import Testbed

FIXTURES = frozenset({"testbed", "test_host", "make_test_host", "systemd_host", "make_systemd_host"})
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


@pytest.fixture(scope="module", params=RELEASES)
def systemd_host(testbed: Testbed, request: pytest.FixtureRequest) -> Iterator[TestHost]:
    """A fresh systemd-flavour host shared by the tests of one module, once per Debian release."""
    host = testbed.new_host(flavour="systemd", release=request.param)
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def make_systemd_host(testbed: Testbed) -> Iterator[Callable[..., TestHost]]:
    """``make_systemd_host(release)`` starts a fresh systemd host; all are destroyed when the test ends."""
    hosts: list[TestHost] = []

    def make(release: str = DEFAULT_RELEASE) -> TestHost:
        host = testbed.new_host(flavour="systemd", release=release)
        hosts.append(host)
        return host

    try:
        yield make
    finally:
        for host in hosts:
            host.stop()
