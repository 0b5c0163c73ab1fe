"""Shared test helpers: how a missing dependency is reported (skip locally, fail in CI)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when running under CI (CI=true), where nothing may be skipped."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_dependency(what: str, how: str) -> NoReturn:
    """Skip the test with a reason saying how to run it; in CI, fail it instead."""
    message = f"{what} is not available: {how}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
