"""A full disk during a run: the session must not end ``succeeded`` with half its log.

The service's data directory sits on a small tmpfs mounted for this test; a filler file takes all but
about a megabyte, and a testbed host prints 40,000 lines of 90 characters (3.6 MB of log). The answer,
the ``complete`` frame and (once the disk has room again) the stored row must all say that the log was
not stored in full, and ``/api/health`` answers 503 while writes fail.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from setupwizard.auth.service import create_user
from setupwizard.config import Settings
from setupwizard.db.database import Database
from setupwizard.live import event_reads
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.setup import repository
from setupwizard.setup.outcomes import OutcomeWriter, incomplete_log_event
from setupwizard.setup.session_end import complete_event
from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import frames, open_progress
from tests.integration.web.live import Login, ProcessServer, settings_env

from .conftest import fault_settings

LINES = 40_000
WIDTH = 90
TMPFS_SIZE = "12m"
ROOM_LEFT_BYTES = 1_000_000


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 12 MB tmpfs of the test's own under /tmp, unmounted afterwards even when the test fails."""
    with _tmpfs(TMPFS_SIZE) as disk:
        yield disk


@contextmanager
def _tmpfs(size: str) -> Iterator[Path]:
    mount_point = Path("/tmp") / f"sw-diskfull-{secrets.token_hex(4)}"
    mount_point.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount_point)],
            check=True,
            capture_output=True,
        )
        try:
            yield mount_point
        finally:
            subprocess.run(["umount", str(mount_point)], check=False, capture_output=True)
            if subprocess.run(["mountpoint", "-q", str(mount_point)], check=False).returncode == 0:
                subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)
    finally:
        mount_point.rmdir()


def fill(disk: Path, leave: int) -> Path:
    """A filler file taking all the free space of ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    free = _free_bytes(disk)
    with filler.open("wb") as out:
        out.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = max(0, free - leave)
        while remaining > 0:
            remaining -= out.write(chunk[: min(len(chunk), remaining)])
    return filler


def _free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def body(host: TestHost, script: str, session_id: str) -> dict[str, Any]:
    return {
        "host": host.address,
        "username": host.root.username,
        "password": host.root.password,
        "packages": [],
        "script": script,
        "session_id": session_id,
    }


async def health_status(server: ProcessServer) -> tuple[int, dict[str, Any]]:
    async with server.async_client() as client:
        answer = await client.get("/api/health")
    return answer.status_code, answer.json()


async def test_a_full_disk_mid_run_ends_the_session_saying_the_log_is_incomplete(
    small_disk: Path, tmp_path: Path, test_host: TestHost
) -> None:
    server = ProcessServer(fault_settings(small_disk / "data"), tmp_path / "service.log")
    server.start()
    try:
        owner: Login = server.create_user(f"disk-{secrets.token_hex(3)}", "disk-owner-password-1234")
        filler = fill(small_disk, ROOM_LEFT_BYTES)
        session_id = str(uuid.uuid4())
        script = f"yes \"$(printf '%0{WIDTH}d' 7)\" | head -n {LINES}\n"
        ws = await open_progress(server, owner, session_id)
        seen: list[dict[str, Any]] = []

        async def watch() -> None:
            async for frame in frames(ws):
                seen.append(frame)

        health_seen: list[tuple[int, dict[str, Any]]] = []

        async def poll_health() -> None:
            while True:
                health_seen.append(await health_status(server))
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(watch())
        poller = asyncio.create_task(poll_health())
        async with server.async_client(owner) as client:
            answer = await client.post(
                "/api/setup/auto-setup", json=body(test_host, script, session_id), timeout=600.0
            )
        await asyncio.wait_for(watcher, 120)
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        assert answer.status_code == 200, answer.text
        result = answer.json()

        # The answer says it: not "succeeded", but the run's own word for an incomplete log, with counts.
        assert result["status"] == "log_incomplete", result["message"]
        log = result["log"]
        assert log["stored"] < log["total"]
        assert log["total"] >= LINES
        assert str(log["stored"]) in result["message"] and str(log["total"]) in result["message"]
        # So does the complete frame, and it is the last one.
        complete = seen[-1]
        assert complete["type"] == "complete"
        assert complete["data"]["status"] == "log_incomplete"
        assert complete["level"] == "warning"
        # While writes failed, health said so.
        failing = [health for code, health in health_seen if code == 503]
        assert failing, health_seen[-3:]
        assert failing[0]["database"].startswith("failing"), failing[0]

        # Room again: the row is written as soon as it can be, and says the same; health recovers.
        filler.unlink()
        for _ in range(200):
            async with server.async_client(owner) as client:
                detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
            if detail["status"] != "running":
                break
            await asyncio.sleep(0.2)
        assert detail["status"] == "log_incomplete", detail["message"]
        assert detail["message"] == result["message"]
        stored = detail["events"]
        assert stored[-1]["type"] == "complete"
        assert stored[-1]["data"]["log"] == log
        for _ in range(100):
            code, health = await health_status(server)
            if code == 200:
                break
            await asyncio.sleep(0.2)
        assert code == 200, health
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("room", "names"),
    [
        (0, "setupwizard.db.lock"),  # the data directory's lock file
        (4096, "secret.key"),  # the encryption key written at first start
        (12 * 1024, "setupwizard.db"),  # the database, while it is created and migrated
    ],
)
def test_a_full_disk_at_first_start_stops_with_one_line_naming_the_file_and_the_cause(
    room: int, names: str
) -> None:
    with _tmpfs("1m") as disk:
        fill(disk, room)
        settings: Settings = fault_settings(disk / "data")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPWIZARD_")}
        env.update(settings_env(settings))
        env.update({"SETUPWIZARD_HOST": "127.0.0.1", "SETUPWIZARD_PORT": "9"})  # never reached
        started = subprocess.run(
            [sys.executable, "-c", "from setupwizard.cli import main; main()", "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        said = (started.stdout + started.stderr).strip()
        assert started.returncode == 2, said
        assert len(said.splitlines()) == 1, said
        assert "Traceback" not in said
        assert f"{disk / 'data' / names} " in said, said
        assert "No space left on device" in said or "disk is full" in said or "disk I/O error" in said, said


async def test_a_session_end_that_cannot_be_written_is_written_once_there_is_room() -> None:
    with _tmpfs("4m") as disk:
        db = Database(Settings(data_dir=disk / "data"))
        try:
            await db.migrate()
            async with db.session() as session:
                user = await create_user(session, f"end-{secrets.token_hex(3)}", "end-owner-password-1234")
                session_id = str(uuid.uuid4())
                await repository.insert_session(
                    session,
                    session_id=session_id,
                    owner_id=user.id,
                    host="198.18.0.9",
                    port=22,
                    username="root",
                )
            filler = fill(disk, 0)
            blocks = [disk / f"block-{n}" for n in range(64)]
            _take_every_block(blocks)
            writer = OutcomeWriter(db, retry_seconds=0.05)
            result = SetupResult(message="done", status=SessionStatus.SUCCEEDED)
            complete = incomplete_log_event(complete_event(7, result), stored=3, total=6, reason="disk full")
            assert not await writer.write(session_id, complete)
            assert writer.failing is not None and writer.waiting == [session_id]

            filler.unlink()
            for block in blocks:
                block.unlink(missing_ok=True)
            for _ in range(400):
                if not writer.waiting:
                    break
                await asyncio.sleep(0.05)
            assert writer.waiting == [] and writer.failing is None
            async with db.session() as session:
                row = await repository.get_session(session, session_id)
                stored = await event_reads.events_after(session, session_id, 0)
            assert row is not None and row.status == "log_incomplete"
            assert row.message == complete.data["message"]
            assert [e.seq for e in stored] == [7]
            await writer.close()
        finally:
            await db.dispose()


def _take_every_block(paths: list[Path]) -> None:
    """Fill what little a filler left (tmpfs rounds to pages): small files until a write fails."""
    for path in paths:
        try:
            path.write_bytes(b"\0" * 4096)
        except OSError:
            return
