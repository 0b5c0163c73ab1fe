"""A real ``setupwizard serve`` process for a benchmark, on a free port, with its own data.

Two backends, as deployed:

- ``sqlite``: the embedded default (SQLite in a temporary data directory, in-process bus);
- ``redis``: PostgreSQL (a database of its own, dropped afterwards) and Redis (its own database index and,
  when the service has the setting, its own key prefix; the keys are deleted afterwards).

Everything is torn down in ``finally`` blocks: the process (its whole process group), the data directory,
the database, the keys.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from setupwizard.config import Settings

OUT_DIR = Path(__file__).resolve().parent / "out"
POSTGRES_ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
ADMIN_USER = "bench"
START_TIMEOUT = 60.0
WORKER_READY = "takes setups"  # setupwizard/jobs/worker.py logs it (level info) once it takes jobs
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the benchmark dies, even by SIGKILL (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


COUNT_LINES = "SELECT COALESCE(SUM(seq - COALESCE(first_seq, seq) + 1), 0) FROM session_events WHERE"
"""Stored events, not rows: a row with ``first_seq`` holds the lines ``first_seq..seq`` (revision 0005)."""


@dataclass
class Backend:
    """How a service stores sessions and moves events; ``count_events`` counts the stored lines directly."""

    name: str
    label: str
    env: dict[str, str]
    count_events: Callable[[str], Awaitable[int]]
    notes: list[str] = field(default_factory=list)


@asynccontextmanager
async def sqlite_backend(data_dir: Path) -> AsyncIterator[Backend]:
    """SQLite in ``data_dir`` and the in-process bus (nothing to clean beyond the directory)."""

    async def count(session_id: str) -> int:
        def query() -> int:
            with sqlite3.connect(data_dir / "setupwizard.db") as db:
                row = db.execute(COUNT_LINES + " session_id = ?", (session_id,)).fetchone()
            return int(row[0])

        return await asyncio.to_thread(query)

    yield Backend("sqlite", "in-process bus, SQLite", {}, count)


@asynccontextmanager
async def redis_backend() -> AsyncIterator[Backend]:
    """A fresh PostgreSQL database and a Redis namespace; both removed afterwards, even on failure."""
    database = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    env = {
        "SETUPWIZARD_DATABASE_URL": f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{database}",
        "SETUPWIZARD_REDIS_URL": REDIS_URL,
    }
    prefix = f"setupwizard-bench:{uuid.uuid4().hex[:12]}:"
    notes = [f"PostgreSQL database `{database}` (dropped after the run)"]
    if "redis_prefix" in Settings.model_fields:
        env["SETUPWIZARD_REDIS_PREFIX"] = prefix
        pattern = f"{prefix}*"
        notes.append(f"Redis {REDIS_URL}, key prefix `{prefix}` (deleted after the run)")
    else:
        pattern = "setupwizard:*"
        notes.append(
            f"Redis {REDIS_URL} (a database index of its own; its `setupwizard:*` keys deleted after)"
        )

    async def count(session_id: str) -> int:
        conn = await asyncpg.connect(f"{base}/{database}")
        try:
            value = await conn.fetchval(COUNT_LINES + " session_id = $1", session_id)
        finally:
            await conn.close()
        return int(value)

    try:
        yield Backend("redis", "Redis bus, PostgreSQL", env, count, notes)
    finally:
        with suppress(Exception):
            redis = Redis.from_url(REDIS_URL)
            try:
                keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
                for start in range(0, len(keys), 1000):
                    await redis.delete(*keys[start : start + 1000])
            finally:
                await redis.aclose()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()


class Service:
    """One ``setupwizard serve`` process; ``await start()``, use ``client``/``ws_url``, ``await stop()``."""

    def __init__(
        self,
        name: str,
        backend: Backend,
        data_dir: Path,
        *,
        sibling: Service | None = None,
        command: str = "serve",
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.backend = backend
        self.subcommand = command  # "serve", or "worker": no HTTP, ready once its log says so
        self.extra_env = dict(env or {})
        self.data_dir = data_dir
        self.port = free_port()
        # A sibling worker shares the database: same admin password and secret key.
        self.password: str = sibling.password if sibling else secrets.token_urlsafe(18)
        self.secret_key: str = sibling.secret_key if sibling else secrets.token_urlsafe(40)
        self.token = ""
        self.process: subprocess.Popen[bytes] | None = None
        OUT_DIR.mkdir(exist_ok=True)
        self.log_path = OUT_DIR / f"service-{name}.log"
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=120, trust_env=False)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The service's process id (uvicorn runs in it)."""
        assert self.process is not None
        return self.process.pid

    def ws_url(self, session_id: str, since: int = 0) -> str:
        """The progress WebSocket of a session."""
        query = f"?since={since}" if since else ""
        return f"ws://127.0.0.1:{self.port}/api/setup/setup-progress/{session_id}{query}"

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header of the benchmark's login."""
        return {"Authorization": f"Bearer {self.token}"}

    def command(self) -> str:
        """The command line, for the results."""
        every = {**self.backend.env, **self.extra_env}
        settings = " ".join(f"{k}=…" if "URL" in k else f"{k}={v}" for k, v in every.items())
        where = f"port {self.port}, own data dir" if self.subcommand == "serve" else "own data dir"
        return f"{settings + ' ' if settings else ''}setupwizard {self.subcommand}  # {where}"

    async def start(self) -> None:
        """Start the process, wait for ``/api/health``, log in."""
        env = {
            **os.environ,
            "SETUPWIZARD_HOST": "127.0.0.1",
            "SETUPWIZARD_PORT": str(self.port),
            "SETUPWIZARD_DATA_DIR": str(self.data_dir),
            "SETUPWIZARD_ADMIN_USER": ADMIN_USER,
            "SETUPWIZARD_ADMIN_PASSWORD": self.password,
            "SETUPWIZARD_SECRET_KEY": self.secret_key,
            "SETUPWIZARD_LOG_LEVEL": "warning",
            # One admin starts hundreds of setups a minute here; the per-user limit (issue F.10) is not
            # what is measured.
            "SETUPWIZARD_CONNECT_ATTEMPTS_PER_MINUTE": "100000",
            **self.backend.env,
            **self.extra_env,
        }
        executable = Path(sys.executable).with_name("setupwizard")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(executable), self.subcommand],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT
        if self.subcommand == "worker":
            await self._wait_for_worker(deadline)
            return
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"service {self.name} exited at start:\n{self.log_tail()}")
            with suppress(httpx.HTTPError):
                if (await self.client.get("/api/health")).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"service {self.name} not up after {START_TIMEOUT:.0f}s:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.1)
        answer = await self.client.post(
            "/api/auth/login", json={"username": ADMIN_USER, "password": self.password}
        )
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        self.client.headers.update(self.headers)

    async def _wait_for_worker(self, deadline: float) -> None:
        assert self.process is not None
        while WORKER_READY not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"worker {self.name} not ready after {START_TIMEOUT:.0f}s:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.1)

    def _status_kib(self, field_name: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """CPU time the process used so far (user + system, /proc/PID/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        """Resident memory now."""
        return self._status_kib("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        """Peak resident memory since start (the kernel's high-water mark, VmHWM)."""
        return self._status_kib("VmHWM") / 1024

    def log_tail(self, lines: int = 40) -> str:
        """The end of the service's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_problems(self) -> list[str]:
        """Lines of the service's log that report an error (tracebacks, ERROR records)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        markers = ("Traceback", "ERROR", "Error:", "Exception")
        return [line for line in text.splitlines() if any(marker in line for marker in markers)]

    async def start_setup(self, **body: Any) -> str:
        """POST ``/api/setup/auto-setup`` with ``wait=false``; the session id."""
        body.setdefault("session_id", str(uuid.uuid4()))
        body["wait"] = False
        answer = await self.client.post("/api/setup/auto-setup", json=body)
        if answer.status_code != 202:
            raise RuntimeError(f"auto-setup answered {answer.status_code}: {answer.text[:300]}")
        return str(answer.json()["session_id"])

    async def session(self, session_id: str) -> dict[str, Any]:
        """``GET /api/setup/sessions?limit=500`` entry of a session (no events)."""
        answer = await self.client.get("/api/setup/sessions", params={"limit": 500})
        answer.raise_for_status()
        for row in answer.json():
            if row["session_id"] == session_id:
                return dict(row)
        raise RuntimeError(f"session {session_id} not listed")

    async def describe_stuck(self, session_id: str, events: int = 6) -> str:
        """Status and last stored events of a session, for an error message."""
        try:
            row = await self.session(session_id)
            answer = await self.client.get(
                f"/api/setup/sessions/{session_id}", params={"since": max(0, row["last_seq"] - events)}
            )
            last = [str(e.get("message", ""))[:120] for e in answer.json().get("events", [])]
        except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
            return f"{session_id}: could not read it ({exc})"
        return f"{session_id} ({row['host']}:{row['port']}, {row['status']}): last events {last}"

    async def stop(self) -> None:
        """SIGTERM, up to 20 s for a clean stop, then SIGKILL the process group."""
        await self.client.aclose()
        process = self.process
        if process is None or process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)


@asynccontextmanager
async def running_service(name: str, backend_name: str = "sqlite") -> AsyncIterator[Service]:
    """A started service with the named backend; stopped and cleaned up afterwards."""
    async with running_workers(name, backend_name, 1) as [service]:
        yield service


@asynccontextmanager
async def running_workers(name: str, backend_name: str, count: int) -> AsyncIterator[list[Service]]:
    """``count`` started services sharing one backend (several need ``redis``); all stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        data_dir = Path(tmp)
        if backend_name == "sqlite" and count != 1:
            raise ValueError("several workers need the Redis backend")
        factory = sqlite_backend(data_dir / name) if backend_name == "sqlite" else redis_backend()
        async with factory as backend:
            services: list[Service] = []
            try:
                for index in range(count):  # one after another: the first creates the admin user
                    worker = f"{name}-{index + 1}" if count > 1 else name
                    directory = data_dir / worker
                    directory.mkdir()
                    sibling = services[0] if services else None
                    services.append(Service(worker, backend, directory, sibling=sibling))
                    await services[-1].start()
                yield services
            finally:
                for service in services:
                    await service.stop()


@asynccontextmanager
async def running_cluster(
    name: str,
    *,
    workers: int,
    serve_env: dict[str, str] | None = None,
    worker_env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[Service, list[Service]]]:
    """PostgreSQL + Redis: one ``serve`` and ``workers`` × ``setupwizard worker``; all stopped afterwards.

    The workers log at level info (their readiness line and which fleet host each ran are info records).
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        async with redis_backend() as backend:
            started: list[Service] = []
            try:
                (Path(tmp) / "serve").mkdir()
                serve = Service(f"{name}-serve", backend, Path(tmp) / "serve", env=serve_env)
                started.append(serve)
                await serve.start()
                for index in range(1, workers + 1):
                    directory = Path(tmp) / f"worker{index}"
                    directory.mkdir()
                    env = {"SETUPWIZARD_LOG_LEVEL": "info", **(worker_env or {})}
                    worker = Service(
                        f"{name}-worker{index}", backend, directory, sibling=serve, command="worker", env=env
                    )
                    started.append(worker)
                    await worker.start()
                yield serve, started[1:]
            finally:
                for service in reversed(started):
                    await service.stop()
