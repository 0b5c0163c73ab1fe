"""The ``setupwizard`` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

from setupwizard.cli import serve as _serve  # noqa: F401  (registers the command)
from setupwizard.cli import setup as _setup  # noqa: F401  (registers the command)
from setupwizard.cli import testbed as _testbed  # noqa: F401  (registers the command)
from setupwizard.cli import users as _users  # noqa: F401  (registers the command)
from setupwizard.cli.root import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
