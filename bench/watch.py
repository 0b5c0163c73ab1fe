"""A progress WebSocket client that counts lines, not frames, and proves none is lost or doubled.

A ``log`` frame may carry several consecutive lines (``first_seq``..``seq``, ``message`` joined by
``"\\n"``); older services send one line per frame without ``first_seq``. Both shapes are read. A client
that is dropped (for example 4408, too slow) resumes with ``?since=<last seq>`` as the API says, and the
reconnect is counted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.service import Service

LineHandler = Callable[[int, str, dict[str, Any], float], None]
MAX_RECONNECTS = 50


@dataclass
class Watch:
    """What one watcher saw of a session."""

    session_id: str
    frames: int = 0
    lines: int = 0  # seq-bearing events received, counted per line (each once)
    multi_line_frames: int = 0
    last_seq: int = 0
    gaps: int = 0  # seqs never received
    duplicates: int = 0  # seqs received twice
    shape_errors: int = 0  # a frame whose line count does not match first_seq..seq
    reconnects: int = 0
    close_codes: list[int] = field(default_factory=list)
    complete: dict[str, Any] | None = None
    first_line_at: float = 0.0
    last_line_at: float = 0.0
    complete_at: float = 0.0
    step_at: dict[str, float] = field(default_factory=dict)  # first ``step`` frame of each step id

    @property
    def status(self) -> str:
        """The session's final status from the ``complete`` frame (or "no complete frame")."""
        if self.complete is None:
            return "no complete frame"
        data = self.complete.get("data") or {}
        return str(data.get("status", "?"))


def frame_lines(frame: dict[str, Any]) -> list[tuple[int, str]]:
    """(seq, line) pairs of a seq-bearing frame, in both frame shapes; [] for frames without a seq."""
    seq = frame.get("seq")
    if not isinstance(seq, int):
        return []
    first = frame.get("first_seq", seq)
    message = str(frame.get("message", ""))
    if first == seq:
        return [(seq, message)]
    parts = message.split("\n")
    return list(zip(range(first, seq + 1), parts, strict=False))


class Watcher:
    """Follows one session to its ``complete`` frame; ``on_line`` sees every new line as it arrives."""

    def __init__(self, service: Service, session_id: str, on_line: LineHandler | None = None) -> None:
        self.service = service
        self.watch = Watch(session_id)
        self.on_line = on_line
        self.connected = asyncio.Event()

    async def _open(self) -> ClientConnection:
        ws = await connect(
            self.service.ws_url(self.watch.session_id, self.watch.last_seq),
            additional_headers=self.service.headers,
            proxy=None,
            max_size=None,
            open_timeout=60,
        )
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 60))
        except BaseException:
            await ws.close()
            raise
        if first.get("type") != "info" or "seq" in first:
            await ws.close()
            raise RuntimeError(f"first frame was not the connection notice: {first}")
        return ws

    def _take(self, frame: dict[str, Any], now: float) -> None:
        watch = self.watch
        watch.frames += 1
        pairs = frame_lines(frame)
        if not pairs:
            return
        if frame.get("type") == "step" and frame.get("step_id"):
            watch.step_at.setdefault(str(frame["step_id"]), now)
        seq, first = frame["seq"], frame.get("first_seq", frame["seq"])
        if len(pairs) != seq - first + 1:
            watch.shape_errors += 1
        if len(pairs) > 1:
            watch.multi_line_frames += 1
        for line_seq, line in pairs:
            if line_seq <= watch.last_seq:
                watch.duplicates += 1
                continue
            watch.gaps += line_seq - watch.last_seq - 1
            watch.last_seq = line_seq
            watch.lines += 1
            if not watch.first_line_at:
                watch.first_line_at = now
            watch.last_line_at = now
            if self.on_line is not None:
                self.on_line(line_seq, line, frame, now)
        if frame.get("type") == "complete":
            watch.complete = frame
            watch.complete_at = now

    async def run(self) -> Watch:
        """Connect (``connected`` is set once the notice arrived), read to ``complete``, resume if dropped."""
        watch = self.watch
        while watch.complete is None:
            try:
                ws = await self._open()
            except (OSError, ConnectionClosed, TimeoutError):
                if watch.reconnects >= MAX_RECONNECTS:
                    raise
                watch.reconnects += 1
                await asyncio.sleep(0.2)
                continue
            self.connected.set()
            try:
                async for message in ws:
                    self._take(json.loads(message), time.time())
                    if watch.complete is not None:
                        break
            except ConnectionClosed:
                pass
            finally:
                await ws.close()
                if ws.close_code is not None:
                    watch.close_codes.append(ws.close_code)
            if watch.complete is None:
                if watch.reconnects >= MAX_RECONNECTS:
                    raise RuntimeError(f"session {watch.session_id}: dropped {watch.reconnects} times")
                watch.reconnects += 1
        return watch
