"""A fleet's one notification: its counts, the first failed hosts (host:port), the link to the fleet view,
which rule it is for, in both languages, and no line of any log."""

from __future__ import annotations

from setupwizard.notify.message import FLEET_SHOWN_HOSTS, FleetEnd, FleetHostEnd, fleet_link, render_fleet

PUBLIC_URL = "https://wizard.example.com/"
FLEET_ID = "5b0c6a52-0d7e-4b44-9f3c-2f1f3c8f0a11"


def end(statuses: list[str], status: str = "done", name: str = "web servers") -> FleetEnd:
    hosts = tuple(
        FleetHostEnd(f"198.18.0.{10 + i}", 22 + i, s, "setup_running" if s == "failed" and i == 1 else "")
        for i, s in enumerate(statuses)
    )
    return FleetEnd(fleet_id=FLEET_ID, owner_id=7, name=name, status=status, hosts=hosts)


def test_counts_in_a_fixed_order_without_zeros() -> None:
    ended = end(["skipped", "succeeded", "failed", "succeeded", "interrupted", "cancelled", "log_incomplete"])
    assert list(ended.counts().items()) == [
        ("succeeded", 2),
        ("failed", 1),
        ("interrupted", 1),
        ("log_incomplete", 1),
        ("cancelled", 1),
        ("skipped", 1),
    ]
    title, body = render_fleet(end(["succeeded"] * 180 + ["failed"] * 15 + ["skipped"] * 5), PUBLIC_URL)
    assert "fleet web servers ended done: 180 succeeded, 15 failed, 5 skipped" in title
    assert "批量设置 web servers 已结束：成功 180，失败 15，跳过 5" in title
    assert "Hosts: 200: 180 succeeded, 15 failed, 5 skipped · 共 200 台：成功 180，失败 15，跳过 5" in body


def test_the_first_failed_hosts_are_named_in_order_and_the_rest_counted() -> None:
    statuses = ["succeeded", "failed", "skipped", "interrupted"] + ["failed"] * 6
    _, body = render_fleet(end(statuses), PUBLIC_URL)
    lines = body.splitlines()
    start = lines.index("Failed hosts · 失败的服务器:")
    named = lines[start + 1 : start + 1 + FLEET_SHOWN_HOSTS]
    assert named == [
        "  198.18.0.11:23 failed (setup_running)",
        "  198.18.0.13:25 interrupted",
        "  198.18.0.14:26 failed",
        "  198.18.0.15:27 failed",
        "  198.18.0.16:28 failed",
    ]
    assert lines[start + 1 + FLEET_SHOWN_HOSTS] == "  … and 3 more · 另有 3 台"
    assert "198.18.0.10:" not in body and "198.18.0.12:" not in body  # succeeded, skipped: counted only


def test_no_failed_host_no_list_and_nothing_more() -> None:
    _, body = render_fleet(end(["succeeded", "cancelled"], status="cancelled"), PUBLIC_URL)
    assert "Failed hosts" not in body and "more" not in body
    assert "Status: cancelled · 已取消" in body


def test_the_link_is_the_fleet_view_under_the_public_url_or_the_id() -> None:
    assert fleet_link(PUBLIC_URL, FLEET_ID) == f"https://wizard.example.com/fleets/{FLEET_ID}"
    _, body = render_fleet(end(["succeeded"]), PUBLIC_URL)
    assert body.splitlines()[-1] == f"Fleet view: https://wizard.example.com/fleets/{FLEET_ID}"
    _, bare = render_fleet(end(["succeeded"]), "")
    assert bare.splitlines()[-1] == f"Fleet view: {FLEET_ID}"


def test_which_rule_a_fleet_end_is_for() -> None:
    assert end(["succeeded", "succeeded"]).succeeded
    assert not end(["succeeded", "skipped"]).succeeded
    assert not end(["succeeded", "cancelled"]).succeeded  # a host cancelled: not every host succeeded
    assert not end(["succeeded", "succeeded"], status="cancelled").succeeded
    assert not end(["succeeded", "interrupted"], status="interrupted").succeeded
    assert not end([]).succeeded
    title, _ = render_fleet(end(["succeeded", "succeeded"]), PUBLIC_URL)
    assert title == "Setup Wizard: fleet web servers succeeded: 2 succeeded · 批量设置 web servers 全部成功"


def test_a_name_with_line_breaks_stays_on_its_line() -> None:
    title, body = render_fleet(end(["failed"], name="web\nStatus: succeeded\x00"), PUBLIC_URL)
    assert "\n" not in title
    assert body.splitlines()[0] == "Fleet: web Status: succeeded"
