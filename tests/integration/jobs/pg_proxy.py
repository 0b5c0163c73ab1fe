"""A loopback TCP proxy to PostgreSQL that a test can stop forwarding through (a network cut that leaves
every process running and every connection open), then resume: bytes held meanwhile are delivered."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class PausableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; :meth:`pause` holds every byte (both ways, old and
    new connections), :meth:`resume` lets them through. Runs its own event loop in a thread, so a test
    that blocks its own loop does not stall the proxy."""

    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._open: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="pg-proxy", daemon=True)

    def __enter__(self) -> PausableProxy:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    def pause(self) -> None:
        assert self._open is not None
        self._loop.call_soon_threadsafe(self._open.clear)

    def resume(self) -> None:
        assert self._open is not None
        self._loop.call_soon_threadsafe(self._open.set)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._open = asyncio.Event()
        self._open.set()
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._open is not None
        await self._open.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._open is not None
        try:
            while data := await reader.read(65536):
                await self._open.wait()  # paused: the chunk is held, not forwarded
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()
