"""A fleet through the service: ``POST /api/fleets``, then its progress socket until it closes (the fleet
ended), then ``GET /api/fleets/{id}`` for every host's status (docs/api.md, "Fleets")."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.service import Service

UFW_PLAN: dict[str, Any] = {"packages": ["ufw"], "firewall_ports": ["80"]}
"""The default plan with benchmark 5's end state (``setupwizard setup --packages ufw --allow 80``)."""
POLL_SECONDS = 1.0


def fleet_body(
    targets: list[tuple[str, int]], plan: dict[str, Any], key: Path, parallel: int
) -> dict[str, Any]:
    """A fleet of ``targets`` (address, port) logging in as root with ``key``; new host keys trusted."""
    return {
        "name": "bench",
        "plan": plan,
        "targets": [{"host": host, "port": port, "username": "root"} for host, port in targets],
        "defaults": {"username": "root", "private_key": key.read_text()},
        "parallel": parallel,
        "accept_new_host_keys": True,
    }


@dataclass
class FleetRun:
    """A fleet that ended: its id, wall time from the POST to its end, and ``GET /api/fleets/{id}``."""

    fleet_id: str
    posted_at: float  # time.time() just before the POST
    ended_at: float
    fleet: dict[str, Any]

    @property
    def seconds(self) -> float:
        """POST sent → the fleet's end seen."""
        return self.ended_at - self.posted_at

    @property
    def durations(self) -> list[float]:
        """Each host's run in seconds (its session's start to its end), hosts that ran only."""
        return [float(h["duration"]) for h in self.fleet.get("hosts") or [] if h.get("duration") is not None]

    def spread(self) -> str:
        """The hosts' run times as text: median and slowest."""
        times = sorted(self.durations)
        if not times:
            return "no host ran"
        return f"each host's run: median {times[len(times) // 2]:.1f} s, slowest {times[-1]:.1f} s"

    @property
    def counts(self) -> dict[str, int]:
        """Hosts per status (without ``total``)."""
        counts = dict(self.fleet.get("counts") or {})
        counts.pop("total", None)
        return {str(k): int(v) for k, v in counts.items()}


async def _until_closed(service: Service, fleet_id: str) -> None:
    url = f"ws://127.0.0.1:{service.port}/api/fleets/{fleet_id}/progress"
    async with connect(url, additional_headers=service.headers, proxy=None, max_size=None) as ws:
        async for _frame in ws:
            pass


async def run_fleet(service: Service, body: dict[str, Any], timeout: float) -> FleetRun:
    """POST the fleet and wait for its end (socket closed and the fleet's status no longer running)."""
    posted_at = time.time()
    answer = await service.client.post("/api/fleets", json=body, timeout=600)
    if answer.status_code != 202:
        raise RuntimeError(f"POST /api/fleets answered {answer.status_code}: {answer.text[:300]}")
    fleet_id = str(answer.json()["fleet_id"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            remaining = max(1.0, deadline - time.monotonic())
            await asyncio.wait_for(_until_closed(service, fleet_id), remaining)
        except (OSError, ConnectionClosed, TimeoutError):
            pass
        ended_at = time.time()
        fleet = (await service.client.get(f"/api/fleets/{fleet_id}")).json()
        if fleet.get("status") != "running":
            return FleetRun(fleet_id, posted_at, ended_at, fleet)
        if time.monotonic() > deadline:
            raise RuntimeError(f"fleet {fleet_id} still running after {timeout:.0f} s: {fleet.get('counts')}")
        await asyncio.sleep(POLL_SECONDS)


async def save_slowest_log(service: Service, run: FleetRun, path: Path) -> str:
    """Write the slowest host's ``log.txt`` (timestamped lines) to ``path``; a note naming it."""
    ran = [h for h in run.fleet.get("hosts") or [] if h.get("duration") is not None]
    if not ran:
        return "no host ran"
    slowest = max(ran, key=lambda h: float(h["duration"]))
    answer = await service.client.get(f"/api/setup/sessions/{slowest['session_id']}/log.txt")
    path.write_text(answer.text)
    return f"the slowest host's log ({slowest['duration']:.1f} s): {path.name}"
