"""uv.lock is current: it locks exactly what pyproject.toml asks for, within its ranges, with hashes.

`make install` runs `uv sync --locked`, which refuses a stale lock without saying which entry is stale;
these tests name it. Fix a failure with `make upgrade` (newest allowed versions) or `.uv/bin/uv lock`
(smallest change).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "setupwizard"

Key = tuple[str, str, str, str]  # (name, extras, specifier, extra it belongs to)


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def asked(project: dict[str, Any]) -> dict[Key, str]:
    """Every requirement of pyproject.toml, keyed as the lock records it, with its text for messages."""
    groups = {"": project["project"]["dependencies"], **project["project"]["optional-dependencies"]}
    keys: dict[Key, str] = {}
    for extra, lines in groups.items():
        for line in lines:
            req = Requirement(line)
            key = (canonicalize_name(req.name), ",".join(sorted(req.extras)), str(req.specifier), extra)
            keys[key] = f"{line!r}" + (f" (extra {extra!r})" if extra else "")
    return keys


def locked(data: dict[str, Any]) -> dict[Key, str]:
    """The requirements the lock was resolved for: the project's own entry in uv.lock."""
    (entry,) = (p for p in data["package"] if p["name"] == PROJECT)
    keys: dict[Key, str] = {}
    for dep in entry["metadata"]["requires-dist"]:
        marker = dep.get("marker", "")
        extra = marker.removeprefix("extra == '").removesuffix("'") if marker else ""
        key = (
            canonicalize_name(dep["name"]),
            ",".join(sorted(dep.get("extras", []))),
            str(Requirement(f"x{dep.get('specifier', '')}").specifier),
            extra,
        )
        keys[key] = f"{dep['name']}{dep.get('specifier', '')}" + (f" (extra {extra!r})" if extra else "")
    return keys


def test_every_dependency_of_pyproject_is_in_the_lock() -> None:
    missing = [text for key, text in asked(pyproject()).items() if key not in locked(lock())]
    assert not missing, (
        f"pyproject.toml asks for {', '.join(missing)}, which uv.lock does not lock: run `make upgrade`"
    )


def test_the_lock_asks_for_nothing_pyproject_dropped() -> None:
    stale = [text for key, text in locked(lock()).items() if key not in asked(pyproject())]
    assert not stale, (
        f"uv.lock still locks {', '.join(stale)}, which pyproject.toml no longer asks for: run `make upgrade`"
    )


def test_the_lock_knows_every_extra() -> None:
    (entry,) = (p for p in lock()["package"] if p["name"] == PROJECT)
    extras = set(pyproject()["project"]["optional-dependencies"])
    provided = set(entry["metadata"].get("provides-extras", []))
    assert provided == extras, f"uv.lock has extras {sorted(provided)}, pyproject.toml {sorted(extras)}"


def test_every_locked_version_is_inside_its_range() -> None:
    versions = {canonicalize_name(p["name"]): Version(p["version"]) for p in lock()["package"]}
    outside = []
    project = pyproject()["project"]
    lines = [
        *project["dependencies"],
        *(line for group in project["optional-dependencies"].values() for line in group),
    ]
    for line in lines:
        req = Requirement(line)
        version = versions.get(canonicalize_name(req.name))
        if version is None or version not in req.specifier:
            outside.append(f"{req.name} {version} (pyproject.toml: {req.specifier})")
    assert not outside, f"uv.lock has versions outside pyproject.toml's ranges: {', '.join(outside)}"


@pytest.mark.parametrize("package", [p["name"] for p in lock()["package"] if p["name"] != PROJECT])
def test_every_locked_package_is_pinned_with_hashes(package: str) -> None:
    (entry,) = (p for p in lock()["package"] if p["name"] == package)
    files = [*entry.get("wheels", []), *([entry["sdist"]] if "sdist" in entry else [])]
    assert files, f"uv.lock has no file for {package}"
    unhashed = [f.get("url", "?") for f in files if not str(f.get("hash", "")).startswith("sha256:")]
    assert not unhashed, f"uv.lock lists {package} files without a sha256 hash: {unhashed}"


def test_the_lock_matches_a_fresh_read_of_pyproject_in_both_directions() -> None:
    """The two tests above could both pass on empty input; this one proves the parsers see real entries."""
    asks, locks = asked(pyproject()), locked(lock())
    assert len(asks) >= 20
    assert set(asks) == set(locks)
