"""docs/api.md's CI example, run as it is written there: a ``setup`` token starts a setup on a real test
server with curl and follows its log until it ends."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import LiveServer

from .support import audit_rows, create_token

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
MARKER = "<!-- ci-example:"


def ci_example() -> str:
    """The ``sh`` block right after the ci-example marker in docs/api.md."""
    text = API_DOC.read_text()
    found = re.search(re.escape(MARKER) + r".*?-->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert found, "docs/api.md lost its CI example"
    return found.group(1)


def test_the_documented_ci_example_starts_a_setup_and_follows_its_log(
    live_server: LiveServer, test_host: TestHost, tmp_path: Path
) -> None:
    created = create_token(live_server, live_server.admin_login(), "ci", "setup")
    home = tmp_path / "ci-job"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(home),
        "SETUPWIZARD_URL": live_server.base_url,
        "SETUPWIZARD_TOKEN": created["token"],
        "SERVER_HOST": test_host.address,
        "SERVER_USER": test_host.root.username,
        "SERVER_PASSWORD": test_host.root.password,
    }
    done = subprocess.run(
        ["bash", "-c", ci_example()], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    session = lines[0].rsplit("=", 1)[1]
    assert lines[-1] == f"setup {session}: succeeded"
    assert any(line.startswith("[info] ") for line in lines[1:-1])
    # Every stored line came through, once, in order: the script printed what the history holds.
    with live_server.client(live_server.admin_login()) as client:
        stored = client.get(f"/api/setup/sessions/{session}").json()["events"]
    printed = "\n".join(lines[1:-1])
    assert printed == "\n".join(f"[{e['level']}] {e['message']}" for e in stored)
    assert [r["target"] for r in audit_rows(live_server, "token.use")] == ["ci"]
    assert not list(home.iterdir())  # the header file was removed
