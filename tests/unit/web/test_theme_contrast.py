"""Every text colour of the stylesheet's two themes against the background it is drawn on: at least
WCAG AA's 4.5:1. axe-core checks the pages in both themes, but only what a test happens to show; this
covers the rest (error banners, notes, invalid fields, the login notice) in the light and the dark set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[3] / "setupwizard" / "web" / "static" / "app.css"

# (text, background) custom properties drawn together somewhere in app.css
PAIRS = [
    ("ink", "bg"),
    ("ink", "card"),
    ("muted", "card"),
    ("muted", "bg"),
    ("ink", "input-bg"),
    ("ink", "invalid-bg"),
    ("ink", "button-bg"),
    ("err", "button-bg"),  # button.danger
    ("err", "card"),
    ("ok", "card"),
    ("warn", "card"),
    ("accent-text", "card"),
    ("link", "card"),
    ("link", "bg"),
    ("accent-ink", "accent"),
    ("step-ink", "step-bg"),
    ("ink", "selected-bg"),
    ("note-ink", "note-bg"),
    ("success-ink", "success-bg"),
    ("error-ink", "error-bg"),
    ("ink", "info-bg"),
    ("info-strong", "info-bg"),
    ("ink", "code-bg"),
    ("topbar-ink", "topbar-bg"),
    ("topbar-muted", "topbar-bg"),
]


def theme(selector: str) -> dict[str, str]:
    """The custom properties declared in the rule for ``selector``."""
    css = CSS.read_text()
    match = re.search(re.escape(selector) + r"\s*\{(.*?)\n\}", css, re.S)
    assert match, selector
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", match.group(1)))


def luminance(hex_colour: str) -> float:
    def channel(pair: str) -> float:
        s = int(pair, 16) / 255
        return s / 12.92 if s <= 0.03928 else float(((s + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(hex_colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


LIGHT = theme(":root")
DARK = {**LIGHT, **theme(':root[data-theme="dark"]')}


def test_the_dark_theme_sets_every_colour_the_light_one_does() -> None:
    page_colours = {name for name in LIGHT if not name.startswith("term-")}  # the log view is dark in both
    assert page_colours <= set(theme(':root[data-theme="dark"]'))


@pytest.mark.parametrize("name,colours", [("light", LIGHT), ("dark", DARK)])
def test_every_text_colour_reads_at_4_5_to_1_on_its_background(name: str, colours: dict[str, str]) -> None:
    poor = {
        f"{fg} on {bg}": round(contrast(colours[fg], colours[bg]), 2)
        for fg, bg in PAIRS
        if contrast(colours[fg], colours[bg]) < 4.5
    }
    assert poor == {}, f"{name} theme"
