"""The deny list where a delivery connects (``notify/connect_guard.py``), with real local receivers: an
allowed receiver's redirect into a denied address is not followed there, a name that resolves into a denied
network is refused when the connection is made (as after DNS rebinding, the URL check aside), for HTTP and
for mail, and connections outside a delivery are untouched."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import apprise
import pytest
import requests

from setupwizard.core.networks import TargetPolicy
from setupwizard.notify.connect_guard import DeniedConnectionError, guarded
from setupwizard.notify.reach import DENIED
from setupwizard.notify.sender import send_once

from .receivers import smtp_server, webhook

DENIED_ADDRESS = "127.0.0.2"  # loopback too, so the test stays on this machine; the policy denies it alone
POLICY = TargetPolicy([f"{DENIED_ADDRESS}/32", "169.254.0.0/16"])


@contextmanager
def receiver(address: str, status: int = 200, location: str = "") -> Iterator[tuple[int, list[str]]]:
    """An HTTP receiver on ``address`` answering every POST with ``status`` (and a ``Location`` when given):
    (its port, the paths posted to it)."""
    reached: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reached.append(self.path)
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((address, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), reached
    finally:
        server.shutdown()
        server.server_close()


async def test_a_redirect_into_a_denied_network_is_not_followed() -> None:
    with receiver(DENIED_ADDRESS) as (port, reached):
        with receiver("127.0.0.1", 307, f"http://{DENIED_ADDRESS}:{port}/stolen") as (allowed, asked):
            # The control: followed without the guard, the redirect does reach the denied receiver.
            followed = requests.post(f"http://127.0.0.1:{allowed}/control", json={}, timeout=10)
            assert followed.status_code == 200 and reached == ["/stolen"]
            outcome = await send_once(f"json://127.0.0.1:{allowed}/hook", "title", "body", POLICY)
    assert asked == ["/control", "/hook"]  # the allowed receiver was asked
    assert reached == ["/stolen"]  # the delivery's redirect never arrived
    assert outcome == DENIED


def test_a_name_resolving_into_a_denied_network_is_refused_where_it_connects() -> None:
    # "localhost" is checked by reach.py before a delivery; here the guard alone sees it, as it would see a
    # name whose DNS answer changed after that check.
    with webhook() as hook:
        with guarded(TargetPolicy(["127.0.0.0/8", "::1/128"])) as guard:
            with pytest.raises(requests.ConnectionError):
                requests.post(f"http://localhost:{hook.port}/x", json={"m": 1}, timeout=10)
        assert guard.refused
        assert hook.posts == []
        # Outside a delivery nothing is checked: the same request arrives.
        answer = requests.post(f"http://localhost:{hook.port}/x", json={"m": 2}, timeout=10)
        assert answer.status_code == 200 and hook.posts == [{"path": "/x", "m": 2}]


def test_an_allowed_address_connects_through_the_guard() -> None:
    with webhook() as hook, guarded(POLICY) as guard:
        answer = requests.post(f"http://127.0.0.1:{hook.port}/ok", json={"m": 3}, timeout=10)
    assert answer.status_code == 200 and hook.posts == [{"path": "/ok", "m": 3}]
    assert not guard.refused


def test_mail_to_a_name_resolving_into_a_denied_network_is_refused_where_it_connects() -> None:
    loopback_denied = TargetPolicy(["127.0.0.0/8", "::1/128"])
    with smtp_server() as box:
        url = f"mailto://localhost:{box.port}?from=wizard@example.com&to=ops@example.com"
        with guarded(loopback_denied) as guard:
            with pytest.raises(DeniedConnectionError):
                smtplib.SMTP("localhost", box.port, timeout=10)
            # apprise's own mail plugin goes through the same connect: nothing is sent.
            sender = apprise.Apprise()
            assert sender.add(url)
            assert sender.notify(title="refused", body="never arrives") is False
        assert guard.refused
        # The control: outside a delivery the same name and server take the same mail.
        assert apprise.Apprise(servers=[url]).notify(title="arrives", body="outside the guard")
        mails = box.wait_for(1)
    assert [message["Subject"] for _, message in mails] == ["arrives"]


def test_mail_to_an_allowed_address_is_sent_through_the_guard() -> None:
    with smtp_server() as box, guarded(POLICY) as guard:
        with smtplib.SMTP("127.0.0.1", box.port, timeout=10) as smtp:
            smtp.sendmail("wizard@example.com", ["ops@example.com"], "Subject: allowed\r\n\r\nbody")
        mails = box.wait_for(1)
    assert not guard.refused
    assert [message["Subject"] for _, message in mails] == ["allowed"]
