"""permessage-deflate on the progress WebSocket only when SETUPWIZARD_WS_COMPRESSION says so."""

from __future__ import annotations

import uuid

import pytest
import websockets

from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory


@pytest.mark.parametrize("enabled", [False, True])
async def test_deflate_is_negotiated_only_when_enabled(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, enabled: bool
) -> None:
    server = live_server_factory(make_settings(ws_compression=enabled))
    login = server.admin_login()
    url = f"{server.ws_url}/api/setup/setup-progress/{uuid.uuid4()}"
    async with websockets.connect(
        url, additional_headers=login.headers, compression="deflate", open_timeout=30
    ) as ws:  # the client offers permessage-deflate; the service answers per its setting
        assert "实时日志连接已建立" in str(await ws.recv())
        assert ws.response is not None
        offered = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert ("permessage-deflate" in offered) is enabled
