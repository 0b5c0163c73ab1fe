"""Real Debian test servers on this machine (12 bookworm, 13 trixie; quick chroot or systemd under nspawn).

See docs/testbed.md. Tests use the fixtures in ``testbed.pytest_plugin``; people use
``setupwizard testbed up|down|status``.
"""

from __future__ import annotations

from setupwizard.testbed.accounts import Account
from setupwizard.testbed.commands import TestbedError
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed

__all__ = ["Account", "TestHost", "Testbed", "TestbedError"]
