"""The testbed's own apt-cacher-ng: bound to the bridge address, Debian backend deb.debian.org over IPv4.

It is not the distribution's service (that one listens on every address and uses a backend this machine
cannot reach). Its cache persists under ``CACHE_DIR`` so reruns install packages without downloading.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from setupwizard.testbed.commands import TestbedError, require_commands
from setupwizard.testbed.paths import APT_PROXY_PORT, BRIDGE_ADDRESS, CACHE_DIR, DEBIAN_MIRROR

ACNG_DIR = CACHE_DIR / "acng"
CONF_DIR = ACNG_DIR / "conf"
PID_FILE = ACNG_DIR / "apt-cacher-ng.pid"


def _config() -> str:
    return "\n".join(
        [
            f"CacheDir: {ACNG_DIR / 'cache'}",
            f"LogDir: {ACNG_DIR / 'log'}",
            "SupportDir: /usr/lib/apt-cacher-ng",
            f"BindAddress: {BRIDGE_ADDRESS}",
            f"Port: {APT_PROXY_PORT}",
            f"PidFile: {PID_FILE}",
            f"SocketPath: {ACNG_DIR / 'acng.socket'}",
            "ConnectProto: v4",
            "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian",
            "ExThreshold: 4",
            "ReportPage: acng-report.html",
            "",
        ]
    )


def proxy_reachable(timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on the proxy address."""
    try:
        with socket.create_connection((BRIDGE_ADDRESS, APT_PROXY_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def _foreign_acng_pids() -> list[int]:
    """apt-cacher-ng processes that are not ours (the distribution's daemon grabs port 3142 everywhere)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"apt-cacher-ng" and str(CONF_DIR).encode() not in argv:
            pids.append(int(entry.name))
    return pids


def ensure_apt_proxy() -> None:
    """Start our apt-cacher-ng unless it already answers on the bridge address (call with the bridge up)."""
    if proxy_reachable():
        return
    require_commands("apt-cacher-ng")
    for pid in _foreign_acng_pids():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for sub in ("cache", "log", "conf"):
        (ACNG_DIR / sub).mkdir(parents=True, exist_ok=True)
    (CONF_DIR / "acng.conf").write_text(_config())
    (CONF_DIR / "backends_debian").write_text(f"{DEBIAN_MIRROR}/\n")
    log = (ACNG_DIR / "log" / "daemon.out").open("ab")
    with log:
        # It daemonizes itself (ForeGround: 0) and outlives this process on purpose: the cache is shared.
        subprocess.run(
            ["apt-cacher-ng", "-c", str(CONF_DIR), "ForeGround=0"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            check=False,
            timeout=30,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proxy_reachable():
            return
        time.sleep(0.1)
    raise TestbedError(
        f"apt-cacher-ng did not start on {BRIDGE_ADDRESS}:{APT_PROXY_PORT}; see {ACNG_DIR}/log"
    )
