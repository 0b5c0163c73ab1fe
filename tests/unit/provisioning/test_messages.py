"""The message catalogue: every code the engine uses exists in both languages with the same fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import setupwizard.provisioning as engine
from setupwizard.provisioning.messages import CATALOGUE, catalogue, catalogue_json, msg, render, text_msg

_FIELDS = re.compile(r"\{(\w+)\}")
_SOURCE = Path(engine.__file__).parent


def test_every_code_used_in_the_engine_is_catalogued() -> None:
    used: set[str] = set()
    for path in _SOURCE.rglob("*.py"):
        used |= set(re.findall(r'\bmsg\(\s*"([\w.]+)"', path.read_text()))
    assert used, "no msg() calls found"
    assert used - CATALOGUE.keys() == set()


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_both_languages_take_the_same_fields(code: str) -> None:
    zh, en = CATALOGUE[code]
    assert set(_FIELDS.findall(zh)) == set(_FIELDS.findall(en))
    assert zh and en


def test_chinese_text_is_the_seed_text_and_english_renders_nested_codes() -> None:
    running = msg("step.running", index=3, total=7, step=msg("step_name.apt_wait"))
    assert str(running) == "[3/7] 等待其他 apt/dpkg 进程结束 …"
    assert running.text("en") == "[3/7] Wait for other apt/dpkg processes …"
    end = msg(
        "step.end",
        mark="✓",
        step=msg("step_name.packages"),
        outcome=msg("packages.installed", packages="tree"),
    )
    assert str(end) == "✓ 安装软件包: 新安装: tree"
    assert end.text("en") == "✓ Install packages: Newly installed: tree"
    changed = msg("summary.changed", steps=[msg("step_name.packages"), msg("step_name.firewall")])
    assert str(changed) == "有更改: 安装软件包、配置防火墙 (ufw)"
    assert changed.text("en") == "Changed: Install packages, Configure the firewall (ufw)"
    assert render("unknown.code", {"text": "原文"}, "en") == "原文"
    assert text_msg("原文").text("en") == "原文"


def test_the_catalogue_dumps_as_json_for_the_page() -> None:
    loaded = json.loads(catalogue_json())
    assert loaded == catalogue()
    assert set(loaded) == {"zh", "en"} and loaded["en"]["apt_update.done"] == "Package lists updated"


def test_an_unknown_code_is_refused_where_it_is_made() -> None:
    with pytest.raises(KeyError):
        msg("no.such.code")
