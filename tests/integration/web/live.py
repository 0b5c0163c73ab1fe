"""A real uvicorn serving ``create_app(settings)`` on 127.0.0.1, for integration and browser tests.

Two ways to run it:
- ``ThreadServer``: uvicorn in a background thread of the test process (fast; ``restart()`` keeps the data).
- ``ProcessServer``: ``setupwizard serve`` in a child process, configured by environment variables;
  ``kill()`` sends SIGKILL, for crash-recovery tests.
Both wait until ``/api/health`` answers 200 before returning, and shut down cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from setupwizard.auth.deps import COOKIE_NAME
from setupwizard.config import Settings

STARTUP_TIMEOUT = 60.0  # migrations on a busy 2-core machine; this is a deadline, not a speed assertion
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"


class LiveServerError(RuntimeError):
    """The server did not come up (the message carries what it logged)."""


@dataclass(frozen=True)
class Login:
    """A logged-in user: the bearer token and the cookies the login response set."""

    username: str
    token: str
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer …``."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def cookie_header(self) -> str:
        """The ``Cookie`` header value a browser would send (for WebSocket clients)."""
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def free_socket() -> socket.socket:
    """A listening-ready TCP socket bound to a free port on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for a child process, which binds it itself)."""
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """What every kind of live server offers to tests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """The Origin a browser on this service's pages would send."""
        return self.base_url

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        """Stop and start again with the same settings (same database and data directory)."""
        self.stop()
        self.start()

    def client(self, login: Login | None = None, **kwargs: Any) -> httpx.Client:
        """A synchronous httpx client on ``base_url`` (with the login's bearer header if given)."""
        headers = {**(login.headers if login else {}), **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60.0, **kwargs)

    def async_client(self, login: Login | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An async httpx client on ``base_url`` (with the login's bearer header if given)."""
        headers = {**(login.headers if login else {}), **kwargs.pop("headers", {})}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=60.0, **kwargs)

    def login(self, username: str, password: str) -> Login:
        """Log in through the API; raises when refused."""
        with self.client() as client:
            response = client.post("/api/auth/login", json={"username": username, "password": password})
        response.raise_for_status()
        cookies = {COOKIE_NAME: response.cookies[COOKIE_NAME]} if COOKIE_NAME in response.cookies else {}
        return Login(username=username, token=response.json()["access_token"], cookies=cookies)

    def admin_login(self) -> Login:
        """Log in as the admin every live server is started with."""
        return self.login(ADMIN_USER, ADMIN_PASSWORD)

    def create_user(self, username: str, password: str, admin: bool = False) -> Login:
        """Create a user through the admin API and return its login."""
        with self.client(self.admin_login()) as client:
            response = client.post(
                "/api/users", json={"username": username, "password": password, "is_admin": admin}
            )
        response.raise_for_status()
        return self.login(username, password)

    def wait_healthy(self, alive: Any) -> None:
        """Poll /api/health until 200; ``alive()`` False means the server died (error with its log)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if not alive():
                raise LiveServerError(f"server exited during startup\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/api/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise LiveServerError(
            f"server did not answer /api/health within {STARTUP_TIMEOUT}s\n{self.log_tail()}"
        )

    def log_tail(self) -> str:
        return ""


class ThreadServer(LiveServer):
    """uvicorn in a background thread, serving a fresh ``create_app(settings)`` at each start."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        from setupwizard.app import create_app
        from setupwizard.web.serving import server_options

        sock = free_socket()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.settings),
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=10,
            **server_options(self.settings),  # as `setupwizard serve` runs it
        )
        server = uvicorn.Server(config)
        self._server, self._error = server, None

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by wait_healthy / stop
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"live-server-{self.port}", daemon=True)
        self._thread.start()
        thread = self._thread
        try:
            self.wait_healthy(lambda: thread.is_alive() and not server.should_exit)
        except LiveServerError:
            self.stop()
            raise

    def log_tail(self) -> str:
        return repr(self._error) if self._error else "(see the captured log output)"

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=30)
        self._server = self._thread = None


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        raw = getattr(settings, name)
        if hasattr(raw, "get_secret_value"):
            value = raw.get_secret_value()
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        env[f"SETUPWIZARD_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class ProcessServer(LiveServer):
    """``python -m setupwizard.cli serve``-equivalent in a child process; ``kill()`` simulates a crash."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        super().__init__(settings)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPWIZARD_")}
        env.update(settings_env(self.settings))
        env.update({"SETUPWIZARD_HOST": "127.0.0.1", "SETUPWIZARD_PORT": str(self.port)})
        code = "from setupwizard.cli import main; main()"
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        process = self._process
        try:
            self.wait_healthy(lambda: process.poll() is None)
        except LiveServerError:
            self.kill()
            raise

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """SIGTERM (graceful shutdown: the lifespan's exit runs), then wait."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        self._process = None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=30)
        self._process = None
