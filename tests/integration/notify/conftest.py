"""The notification tests' receivers listen on 127.0.0.1, which SETUPWIZARD_NOTIFY_DENY refuses by default:
here ``live_server`` is a service that allows loopback (``RECEIVERS_ALLOWED``). A test of the refusal
builds its own with the default list."""

from __future__ import annotations

import pytest

from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory
from tests.integration.web.live import LiveServer

from .receivers import RECEIVERS_ALLOWED


@pytest.fixture
def live_server(live_server_factory: LiveServerFactory, make_settings: SettingsFactory) -> LiveServer:
    """A running service whose notifications may reach the receivers on loopback."""
    return live_server_factory(make_settings(**RECEIVERS_ALLOWED))
