"""A start line for scripts on many hosts: each connects to the machine's bridge address and waits for "go".

The testbed's hosts reach the bridge (198.18.0.1) and nothing else, so the barrier listens there. A host's
script runs ``python3 -c "$WAIT"`` (see :func:`wait_snippet`) and continues once every expected script is
waiting, which also proves all setups reached their script step.
"""

from __future__ import annotations

import asyncio

from setupwizard.testbed.paths import BRIDGE_ADDRESS


class Barrier:
    """``async with Barrier() as b``: ``b.port``, ``await b.wait_for(n)``, ``b.release()``."""

    def __init__(self) -> None:
        self.waiting: list[asyncio.StreamWriter] = []
        self.arrived = asyncio.Condition()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.released = False
        self.count = 0  # scripts that arrived so far

    async def __aenter__(self) -> Barrier:
        self.server = await asyncio.start_server(self._arrive, BRIDGE_ADDRESS, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.release()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _arrive(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self.arrived:
            self.waiting.append(writer)
            self.count += 1
            self.arrived.notify_all()
        if self.released:  # late: the start has been given
            self.release()

    async def wait_for(self, count: int, timeout: float) -> int:
        """Wait until ``count`` scripts wait (or ``timeout``); the number waiting."""
        async with self.arrived:
            try:
                await asyncio.wait_for(self.arrived.wait_for(lambda: self.count >= count), timeout)
            except TimeoutError:
                pass
            return self.count

    def release(self) -> None:
        """Send "go" to every waiting script (and to any that arrives later)."""
        self.released = True
        for writer in self.waiting:
            try:
                writer.write(b"go\n")
                writer.close()
            except OSError:
                pass
        self.waiting.clear()

    def wait_code(self) -> str:
        """Python statements that block until :meth:`release` (for a script that is python3 already)."""
        return (
            f"import socket; s = socket.create_connection(('{BRIDGE_ADDRESS}', {self.port})); "
            "s.makefile().readline()"
        )

    def wait_snippet(self) -> str:
        """A shell line that blocks until :meth:`release` (python3 is on every testbed host)."""
        return f'python3 -c "{self.wait_code()}"'
