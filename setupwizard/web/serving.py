"""How uvicorn must run this app: which proxies to believe, and which WebSocket implementation.

One function, used by ``setupwizard serve`` and by the tests' live servers, so both run the same way.
"""

from __future__ import annotations

from typing import Any

from setupwizard.config import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` (besides the app, host and port).

    - ``X-Forwarded-For``/``-Proto`` are believed only from ``settings.forwarded_allow_ips`` (default:
      from nobody). uvicorn's own default trusts 127.0.0.1, which lets anyone on this machine forge the
      client address the login throttle and the audit trail key on.
    - ``wsproto``: uvicorn's ``websockets`` handshake hangs on a request line over 8 KiB (20,000-character
      path) instead of answering; with wsproto the request reaches the app, which refuses it at once.
    - permessage-deflate only with ``settings.ws_compression``: a zlib compressor costs ~250 KiB per
      socket once it has sent a frame (2,000 watchers: 752 MiB peak RSS with it; see bench/results.md) and
      compression work on every frame, to shrink frames of log text that are small anyway.
    """
    allowed = [entry.strip() for entry in settings.forwarded_allow_ips if entry.strip()]
    return {
        "proxy_headers": bool(allowed),
        "forwarded_allow_ips": ",".join(allowed) if allowed else "",
        "ws": "wsproto",
        "ws_per_message_deflate": settings.ws_compression,
    }
