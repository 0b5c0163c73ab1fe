"""A Redis server and a PostgreSQL cluster of the suite's own, on free ports in a temp directory, that a
test may stop and start (the machine's own Redis and PostgreSQL are never touched)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.integration.web.live import free_port

PG_BIN = (
    Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    if glob.glob("/usr/lib/postgresql/*/bin")
    else None
)
PG_USER = "postgres"  # initdb refuses root; the Debian package's system user runs our own cluster


def _wait_port(port: int, up: bool, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not go {'up' if up else 'down'}")


class OwnRedis:
    """``redis-server`` on a free port, no persistence: a restart comes back empty, as after a crash."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.directory)]
        with (self.directory / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.port, up=True)

    def kill(self) -> None:
        """SIGKILL: the data in memory is gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=30)
            self._process = None
        _wait_port(self.port, up=False)


class OwnPostgres:
    """A PostgreSQL cluster (initdb) on a free port, trust auth on 127.0.0.1, database ``faults``."""

    def __init__(self, directory: Path) -> None:
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.directory = directory / "pg"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/faults"

    def _as_owner(self, *argv: str) -> None:
        assert PG_BIN is not None
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.directory.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, PG_USER, PG_USER)
        self._as_owner("initdb", "-D", str(self.directory), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._as_owner("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "faults")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
        log = str(self.directory / "server.log")
        self._as_owner("pg_ctl", "-D", str(self.directory), "-l", log, "-o", options, "-w", "start")
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        self._as_owner("pg_ctl", "-D", str(self.directory), "-m", "fast", "-w", "stop")
        _wait_port(self.port, up=False)

    def destroy(self) -> None:
        try:
            self.stop()
        except (subprocess.CalledProcessError, RuntimeError):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
