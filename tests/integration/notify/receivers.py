"""Real local receivers for notifications: an HTTP webhook server and an SMTP server (aiosmtpd), each on
127.0.0.1 and a free port, recording what arrives; and the deny list that lets the service reach them."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from setupwizard.core.networks import DEFAULT_TARGET_DENY, TargetPolicy

WAIT_SECONDS = 60.0  # polling for an arrival, not a speed assertion

LOOPBACK = ("127.0.0.0/8", "::1/128")
RECEIVERS_ALLOWED: dict[str, Any] = {
    "notify_deny": [net for net in DEFAULT_TARGET_DENY if net not in LOOPBACK],
    "notify_deny_own_addresses": False,  # 127.0.0.1 is one of the service host's own addresses
}
"""Settings that let notifications reach these receivers on loopback (the default refuses loopback); the
link-local and metadata networks stay denied."""
RECEIVERS_POLICY = TargetPolicy(RECEIVERS_ALLOWED["notify_deny"])
"""The same allowance for a :class:`~setupwizard.notify.sender.Notifier` built by a test."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Webhook:
    """Posts received (the JSON body of apprise's ``json://``); answers 500 to the first ``fail_first``."""

    port: int = 0
    fail_first: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    tries: int = 0

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.posts)


@contextmanager
def webhook(fail_first: int = 0) -> Iterator[Webhook]:
    """A webhook receiver on 127.0.0.1, running for the ``with`` block."""
    hook = Webhook(fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.tries += 1
            if hook.tries <= hook.fail_first:
                self.send_response(500)
            else:
                hook.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Mails received by the SMTP server: (recipients, parsed message)."""

    port: int
    mails: list[tuple[list[str], Any]] = field(default_factory=list)

    def url(self, to: str = "ops@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=wizard@example.com&to={to}"

    def wait_for(self, count: int) -> list[tuple[list[str], Any]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.mails)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, running for the ``with`` block."""
    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            content = envelope.content if isinstance(envelope.content, bytes) else b""
            box.mails.append((list(envelope.rcpt_tos), message_from_bytes(content, policy=policy.default)))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def mail_text(message: Any) -> str:
    """The plain-text body of a received mail."""
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""
