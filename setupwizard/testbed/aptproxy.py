"""The testbed's own apt-cacher-ng: bound to the bridge address on a port of its own, Debian backend
deb.debian.org over IPv4.

It is not the distribution's service and it leaves that one alone: the distribution's daemon listens on
port 3142 on every address; ours listens on ``APT_PROXY_PORT`` on the bridge address only, with its own
configuration, cache and pid file under ``directory``. The testbed never signals a process it did not
start: ``stop()`` only ends the process named by our pid file, and only when its command line names our
configuration directory. The cache persists so reruns install packages without downloading.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from setupwizard.testbed.commands import TestbedError, require_commands
from setupwizard.testbed.paths import APT_PROXY_PORT, BRIDGE_ADDRESS, CACHE_DIR, DEBIAN_MIRROR

START_TIMEOUT = 15.0


@dataclass(frozen=True)
class AptProxy:
    """One apt-cacher-ng instance of ours: its directory (config, cache, logs, pid file) and address."""

    directory: Path
    address: str
    port: int

    @property
    def conf_dir(self) -> Path:
        return self.directory / "conf"

    @property
    def log_dir(self) -> Path:
        return self.directory / "log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "apt-cacher-ng.pid"

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def config(self) -> str:
        """The acng.conf text of this instance."""
        return "\n".join(
            [
                f"CacheDir: {self.directory / 'cache'}",
                f"LogDir: {self.log_dir}",
                "SupportDir: /usr/lib/apt-cacher-ng",
                f"BindAddress: {self.address}",
                f"Port: {self.port}",
                f"PidFile: {self.pid_file}",
                f"SocketPath: {self.directory / 'acng.socket'}",
                "ConnectProto: v4",
                "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian",
                "ExThreshold: 4",
                "ReportPage: acng-report.html",
                "",
            ]
        )

    def reachable(self, timeout: float = 0.5) -> bool:
        """True when something accepts TCP connections on this instance's address and port."""
        try:
            with socket.create_connection((self.address, self.port), timeout=timeout):
                return True
        except OSError:
            return False

    def own_pid(self) -> int | None:
        """Pid of the running apt-cacher-ng this instance started (pid file + its command line), or None."""
        try:
            pid = int(self.pid_file.read_text().strip())
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        is_acng = bool(argv) and os.path.basename(argv[0]) == b"apt-cacher-ng"
        return pid if is_acng and str(self.conf_dir).encode() in argv else None

    def ensure(self) -> None:
        """Start this instance unless it already answers (for the bridge instance: call with the bridge up).

        Raises ``TestbedError`` when another program holds the address and port: we never stop it.
        """
        if self.reachable():
            if self.own_pid() is None:
                raise TestbedError(
                    f"{self.address}:{self.port} is held by a program the testbed did not start; "
                    "the testbed leaves it alone (stop it yourself, or free the port)"
                )
            return
        require_commands("apt-cacher-ng")
        for sub in ("cache", "log", "conf"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "acng.conf").write_text(self.config())
        (self.conf_dir / "backends_debian").write_text(f"{DEBIAN_MIRROR}/\n")
        with (self.log_dir / "daemon.out").open("ab") as log:
            # It daemonizes itself (ForeGround: 0) and outlives this process on purpose: the cache is shared.
            subprocess.run(
                ["apt-cacher-ng", "-c", str(self.conf_dir), "ForeGround=0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                check=False,
                timeout=30,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.reachable() and self.own_pid() is not None:
                return
            time.sleep(0.1)
        raise TestbedError(f"apt-cacher-ng did not start on {self.address}:{self.port}; see {self.log_dir}")

    def stop(self) -> bool:
        """Stop this instance if it runs (only our own process); True when one was stopped."""
        pid = self.own_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + START_TIMEOUT
        while self.own_pid() == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        return True


# Its own directory: the acng/ directory of earlier versions belongs to an instance on port 3142 that
# other checkouts may still use.
BRIDGE_PROXY = AptProxy(CACHE_DIR / "apt-proxy", BRIDGE_ADDRESS, APT_PROXY_PORT)
ACNG_DIR = BRIDGE_PROXY.directory


def ensure_apt_proxy() -> None:
    """Start the testbed's apt-cacher-ng on the bridge unless it already answers (call with the bridge up)."""
    BRIDGE_PROXY.ensure()
