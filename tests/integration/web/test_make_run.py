"""``make run`` with no configuration serves the API on SQLite in ./data (nothing else needed)."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx

from tests.integration.web.live import free_port

REPO = Path(__file__).resolve().parents[3]


def make_run_command() -> list[str]:
    """The command ``make run`` ends with (read from ``make -n``, so the test follows the Makefile)."""
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"], cwd=REPO, check=True, capture_output=True, text=True
    )
    last = dry.stdout.strip().splitlines()[-1]
    command = shlex.split(last)
    assert command[-1] == "serve", last
    command[0] = str(REPO / command[0])
    return command


def test_make_run_default_config_serves_health(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPWIZARD_")}
    env["SETUPWIZARD_PORT"] = str(port)  # the only change: 8000 may be taken on a shared machine
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        make_run_command(), cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert status == 200, (tmp_path / "serve.log").read_text()
        data = tmp_path / "data"
        assert (data / "setupwizard.db").is_file()
        for private in ("secret.key", "initial-admin-password"):
            assert stat.S_IMODE((data / private).stat().st_mode) == 0o600
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells how it ended
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert (tmp_path / "data" / "initial-admin-password").read_text().strip() not in output
