"""Every session status (``skipped`` too: it shares the step status's word, "Not run") has its word in both
languages, once each, and a place in History's filter."""

from __future__ import annotations

from pathlib import Path

from setupwizard.provisioning.result import SessionStatus

STATIC = Path(__file__).resolve().parents[3] / "setupwizard" / "web" / "static"


def test_every_status_has_a_word_in_both_languages_and_a_filter_entry() -> None:
    texts = (STATIC / "i18n.js").read_text()
    filters = (STATIC / "history_filter.js").read_text()
    for status in SessionStatus:
        assert texts.count(f'"status.{status.value}":') == 2, status
        assert f'"{status.value}"' in filters, status
