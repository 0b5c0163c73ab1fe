"""A seq shown live is never reused after a crash.

The service stores events a tick after it shows them; here the tick is a minute long, so when it is killed
with SIGKILL the lines a client saw are not stored yet. After the restart, the recovery's final event must
come above every seq the client saw, so a client resuming with ``?since=<last seen>`` (as docs/api.md says)
gets it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import ProcessServer

from .clients import open_progress, read_to_close, seqs
from .conftest import Store, settings_for
from .test_restart import start_and_watch_until

SLOW_FLUSH_SECONDS = 60.0


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[ProcessServer]:
    settings = settings_for(store).model_copy(update={"event_flush_seconds": SLOW_FLUSH_SECONDS})
    live = ProcessServer(settings, store.data_dir / "server.log")
    live.start()
    try:
        yield live
    finally:
        live.stop()


async def test_a_client_resuming_after_a_crash_gets_the_final_event_above_what_it_saw(
    server: ProcessServer, test_host: TestHost
) -> None:
    owner = server.create_user(f"seqs-{secrets.token_hex(3)}", "seqs-password-1234")
    line = f"shown-not-stored-{secrets.token_hex(4)}"
    script = "".join(f"echo early-{n}\n" for n in range(30)) + f"echo {line}\nsleep 120\n"
    session_id, seen, ws = await start_and_watch_until(server, owner, test_host, script, line)
    last_seen = seqs(seen)[-1]
    async with server.async_client(owner) as client:
        detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
    assert detail["last_seq"] < last_seen  # the case at hand: shown live, not stored yet

    server.kill()  # SIGKILL: the in-process bus dies with the process
    await read_to_close(ws)
    server.start()

    resumed, code = await read_to_close(await open_progress(server, owner, session_id, since=last_seen))
    assert code == 1000
    assert resumed, "a client resuming after what it saw got nothing, not even the end"
    final = resumed[-1]
    assert final["type"] == "complete"
    assert final["data"]["status"] == "interrupted"
    assert final["seq"] > last_seen
    async with server.async_client(owner) as client:
        detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
    assert detail["status"] == "interrupted"
    assert detail["events"][-1]["seq"] == final["seq"]
