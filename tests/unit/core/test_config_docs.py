"""Every setting is documented in README.md's Configuration table, and nothing stale is (datasette-style)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from setupwizard.config import Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def configuration_table() -> dict[str, str]:
    """``{variable: row}`` from the table under the README's "Configuration" heading."""
    text = README.read_text()
    match = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, "README.md has no '## Configuration' section"
    rows = {}
    for line in match.group(1).splitlines():
        cell = re.match(r"^\|\s*`(SETUPWIZARD_[A-Z0-9_]+)`\s*\|", line)
        if cell:
            rows[cell.group(1)] = line
    return rows


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented_in_the_readme(field: str) -> None:
    variable = f"SETUPWIZARD_{field.upper()}"
    row = configuration_table().get(variable)
    assert row is not None, f"add a row for {variable} to README.md's Configuration table"
    description = row.split("|")[3].strip()
    assert len(description) > 10, f"describe {variable} in README.md"


def test_readme_documents_no_setting_that_does_not_exist() -> None:
    known = {f"SETUPWIZARD_{field.upper()}" for field in Settings.model_fields}
    assert set(configuration_table()) <= known
