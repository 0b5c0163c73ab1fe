"""Benchmark 3: WebSocket connect → the first ``info`` frame (the connection notice), median.

Sequential connections to an idle service (in-process bus): TCP connect, HTTP upgrade (with
permessage-deflate offered, as browsers do), the bearer login check, and the notice frame.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from websockets.asyncio.client import connect

from bench.config import Sizes
from bench.report import Section, verdict
from bench.service import running_service
from bench.stats import fmt, median, percentile

TARGET_MS = 5.0
WARM_UP = 5


async def run(sizes: Sizes) -> Section:
    """``connect_samples`` connections, after a few not counted."""
    section = Section(title="WebSocket connect → first `info` frame", target=f"median ≤ {TARGET_MS:g} ms")
    samples: list[float] = []
    async with running_service("connect", "sqlite") as service:
        for index in range(WARM_UP + sizes.connect_samples):
            url = service.ws_url(str(uuid.uuid4()))
            start = time.perf_counter()
            ws = await connect(url, additional_headers=service.headers, proxy=None)
            frame = await asyncio.wait_for(ws.recv(), 30)
            elapsed = (time.perf_counter() - start) * 1000
            await ws.close()
            if '"info"' not in str(frame):
                raise RuntimeError(f"first frame was not the info notice: {frame!r}")
            if index >= WARM_UP:
                samples.append(elapsed)
        section.commands = [
            service.command(),
            f"{sizes.connect_samples} × (websockets.connect(ws://127.0.0.1:{service.port}/api/setup/setup-progress/"
            "<new uuid>, Authorization: Bearer …); recv()), one after another, after 5 not counted",
        ]
    section.tables.append(
        [
            ["samples", "median ms", "p90 ms", "p99 ms", "min ms", "max ms"],
            [
                str(len(samples)),
                fmt(median(samples)),
                fmt(percentile(samples, 90)),
                fmt(percentile(samples, 99)),
                fmt(min(samples)),
                fmt(max(samples)),
            ],
        ]
    )
    section.verdict = verdict(median(samples) <= TARGET_MS)
    return section
