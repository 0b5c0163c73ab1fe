"""Suite-wide fixtures. Plugins with the real parts (testbed, databases, live server) are listed here."""

from __future__ import annotations

pytest_plugins = ["testbed.pytest_plugin", "tests.integration.web.fixtures"]
