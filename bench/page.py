"""The log view under load, in Chromium: ``python -m bench.page [lines …]`` prints JSON.

A small server (Starlette + uvicorn on a free loopback port) serves the page's real ES modules from
``setupwizard/web/static`` and a WebSocket at the real progress path that sends N lines as fast as it
can, in the frame contract's shape: either one line per frame (the seed's shape) or multi-line frames
(``message`` joined by "\\n", ``first_seq``..``seq``) as the server sends when the client is behind.
The page follows it with the real ``ProgressStream`` and ``Terminal``. Measured in the page:

- ``paint_after_last_frame_ms``: from the last frame received to the first paint that shows every line;
- ``long_tasks`` / ``long_task_ms``: PerformanceObserver "longtask" entries (> 50 ms) during the run;
- ``receive_s``: first frame to last frame received, and ``lines_per_s``.

The browser is Debian's Chromium, as in the browser tests.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from typing import Any

import uvicorn
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from setupwizard.web.pages import STATIC_DIR

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/app.css">
</head><body><main><div id="terminal"></div></main><script type="module">
import { Terminal } from "/static/terminal.js";
import { ProgressStream } from "/static/live.js";
window.longTasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); })
  .observe({ type: "longtask", buffered: true });
window.run = (id, total) => new Promise((resolve) => {
  const terminal = new Terminal(document.getElementById("terminal"));
  let firstAt = null, lastAt = null, frames = 0;
  const stream = new ProgressStream(id, {
    onNotice: () => {},
    onFrame: (frame) => {
      const now = performance.now();
      if (firstAt === null) firstAt = now;
      lastAt = now; frames += 1;
      terminal.appendEvent(frame);
    },
  });
  stream.connect();
  const check = () => {
    if (terminal.painted.lines >= total) {
      resolve({ first: firstAt, last: lastAt, painted: terminal.painted.at, frames,
                longTasks: window.longTasks.slice() });
    } else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
});
</script></body></html>"""


async def _progress(websocket: WebSocket) -> None:
    await websocket.accept()
    total = int(websocket.query_params.get("total") or websocket.path_params["session"].split("-")[1])
    per = int(websocket.path_params["session"].split("-")[2])
    stamp = "2026-01-01T00:00:00.000000"
    await websocket.send_text(json.dumps({"type": "info", "message": "connected", "seq": 0}))
    seq = 0
    while seq < total:
        last = min(seq + per, total)
        lines = "\n".join(f"output line {i:06d}" for i in range(seq + 1, last + 1))
        frame = {
            "type": "log",
            "level": "info",
            "message": lines,
            "first_seq": seq + 1,
            "seq": last,
            "timestamp": stamp,
        }
        await websocket.send_text(json.dumps(frame))
        seq = last
    await asyncio.sleep(30)


async def _page(_request: Any) -> HTMLResponse:
    return HTMLResponse(PAGE)


def _serve() -> tuple[uvicorn.Server, int]:
    app = Starlette(
        routes=[
            Route("/", _page),
            WebSocketRoute("/api/setup/setup-progress/{session}", _progress),
            Mount("/static", StaticFiles(directory=STATIC_DIR)),
        ]
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def measure(lines: int, per_frame: int) -> dict[str, Any]:
    """One run: `lines` lines in frames of `per_frame` lines."""
    server, port = _serve()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("() => typeof window.run === 'function'")
            got = page.evaluate(
                "([id, total]) => window.run(id, total)", [f"bench-{lines}-{per_frame}", lines]
            )
            browser.close()
    finally:
        server.should_exit = True
    long_tasks = got["longTasks"]
    receive = (got["last"] - got["first"]) / 1000
    return {
        "lines": lines,
        "lines_per_frame": per_frame,
        "frames": got["frames"],
        "receive_s": round(receive, 3),
        "lines_per_s": round(lines / receive) if receive > 0 else None,
        "paint_after_last_frame_ms": round(got["painted"] - got["last"], 1),
        "long_tasks": len(long_tasks),
        "long_task_ms": round(sum(long_tasks), 1),
        "longest_task_ms": round(max(long_tasks), 1) if long_tasks else 0,
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [100_000, 200_000]
    results = [measure(n, per) for n in sizes for per in (1, 1000)]
    print(json.dumps({"chromium": CHROMIUM, "results": results}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
