"""A real Debian 12 test server on this machine: network namespace, overlay root, real sshd.

See docs/testbed.md. Tests use the fixtures in ``testbed.pytest_plugin``; people use
``setupwizard testbed up|down|status``.
"""

from __future__ import annotations

from setupwizard.testbed.accounts import Account
from setupwizard.testbed.commands import TestbedError
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed

__all__ = ["Account", "TestHost", "Testbed", "TestbedError"]
