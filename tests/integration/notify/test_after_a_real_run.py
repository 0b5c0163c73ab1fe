"""A real setup on a test server, started on a live service, ends in notifications at real local receivers
(a webhook server and an SMTP server): the failed run names the server, the failed step and its last lines
with the login password redacted, and links to the session under SETUPWIZARD_PUBLIC_URL; the setup's own
answer is not changed by a receiver that is down."""

from __future__ import annotations

import asyncio

from setupwizard.testbed.host import TestHost
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory

from .receivers import RECEIVERS_ALLOWED, free_port, mail_text, smtp_server, webhook

PUBLIC_URL = "https://wizard.example.com:8443"


async def test_a_failed_real_run_is_told_to_a_webhook_and_a_mailbox(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, test_host: TestHost
) -> None:
    settings = make_settings(public_url=PUBLIC_URL, **RECEIVERS_ALLOWED)  # the receivers are on loopback
    server = await asyncio.to_thread(live_server_factory, settings)
    admin = await asyncio.to_thread(server.admin_login)
    password = test_host.root.password
    with webhook() as hook, smtp_server() as mailbox:
        async with server.async_client(admin) as client:
            for name, url in (
                ("hook", hook.url()),
                ("mail", mailbox.url()),
                ("down", f"json://127.0.0.1:{free_port()}/nobody"),
            ):
                answer = await client.post("/api/notifications/targets", json={"name": name, "url": url})
                assert answer.status_code == 201, answer.text
            body = {
                "host": test_host.address,
                "username": test_host.root.username,
                "password": password,
                "packages": [],
                "apt_update": False,
                "firewall": False,
                "script": f"echo notify-before-failure\necho 'the password is {password}'\nexit 3\n",
            }
            ended = await client.post("/api/setup/auto-setup", json=body)
        assert ended.status_code == 200, ended.text
        assert ended.json()["status"] == "failed"
        session_id = ended.json()["session_id"]
        posts = await asyncio.to_thread(hook.wait_for, 1)
        mails = await asyncio.to_thread(mailbox.wait_for, 1)
    assert len(posts) == 1 and len(mails) == 1
    texts = [
        posts[0]["title"] + "\n" + posts[0]["message"],
        str(mails[0][1]["Subject"]) + mail_text(mails[0][1]),
    ]
    for text in texts:
        assert f"{test_host.root.username}@{test_host.address}:22" in text
        assert "Status: failed" in text and "(script)" in text
        assert "notify-before-failure" in text and "the password is ********" in text
        assert password not in text
        assert f"{PUBLIC_URL}/history?session={session_id}" in text
