"""The page's cancel dialog says what a cancel does (issue 17 item 7).

It once said "steps already done stay as they are", while a cancel during apt lets the running dpkg finish
(up to ``SETTLE_SECONDS``) and then runs ``dpkg --configure -a`` when ``dpkg --audit`` still reports
anything (provisioning/steps/dpkg_settle.py). Both languages must say so, with the engine's own limit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from setupwizard.provisioning.steps.dpkg_settle import SETTLE_SECONDS

I18N = Path(__file__).resolve().parents[3] / "setupwizard" / "web" / "static" / "i18n.js"


def _texts(key: str) -> list[str]:
    pattern = re.compile(rf'^\s*"{re.escape(key)}": (".*"),$', re.MULTILINE)
    return [json.loads(found) for found in pattern.findall(I18N.read_text(encoding="utf-8"))]


def test_the_cancel_dialog_says_apt_finishes_first_and_dpkg_is_repaired_in_both_languages() -> None:
    zh, en = _texts("run.cancel_confirm")
    minutes = str(int(SETTLE_SECONDS // 60))
    assert "dpkg --configure -a" in zh and "apt/dpkg" in zh and f"{minutes} 分钟" in zh, zh
    assert "dpkg --configure -a" in en and "apt/dpkg" in en and f"{minutes} minutes" in en, en
    assert "finishes first" in en and "the result says which was done" in en, en
    assert "先完成" in zh and "做了哪一种" in zh, zh
