"""POST /api/fleets/inventory: the page's pasted servers read by the CLI's reader (provisioning/inventory.py),
through a live service: lines and an INI inventory, every bad line named, a secret in the text refused,
a login needed, and nothing recorded."""

from __future__ import annotations

from tests.integration.web.live import Login, ProcessServer

from ..setup.conftest import live, owner, store  # noqa: F401  (fixtures)


def test_lines_and_ini_are_read_with_each_bad_line_named(live: ProcessServer, owner: Login) -> None:  # noqa: F811
    with live.client(owner) as client:
        lines = client.post(
            "/api/fleets/inventory", json={"text": "bob@198.18.0.10:2222\n198.18.0.11\n# a comment\n"}
        )
        assert lines.status_code == 200, lines.text
        assert lines.json() == {
            "targets": [
                {
                    "name": "bob@198.18.0.10:2222",
                    "host": "198.18.0.10",
                    "port": 2222,
                    "username": "bob",
                    "line": 1,
                },
                {"name": "198.18.0.11", "host": "198.18.0.11", "port": None, "username": None, "line": 2},
            ],
            "errors": [],
            "warnings": [],
        }
        ini = "[web]\nweb-1 ansible_host=198.18.0.12 ansible_user=debian\nweb-2 ansible_host=198.18.0.12\n"
        read = client.post(
            "/api/fleets/inventory", json={"text": ini + "[web:vars]\nansible_password=x\n"}
        ).json()
        assert [(t["name"], t["host"], t["username"]) for t in read["targets"]] == [
            ("web-1", "198.18.0.12", "debian")
        ]
        messages = {e["line"]: e["message"] for e in read["errors"]}
        assert set(messages) == {3, 5}, read["errors"]
        assert "web-1" in messages[3]  # the same server as web-1
        assert "secret" in messages[5] and "x" not in messages[5].split()  # the value itself is not echoed
        too_long = client.post("/api/fleets/inventory", json={"text": "a\n" * 100_001})
        assert too_long.status_code == 422
        assert client.get("/api/fleets").json() == []  # reading recorded no fleet
    with live.client() as anonymous:
        assert anonymous.post("/api/fleets/inventory", json={"text": "h"}).status_code == 401
