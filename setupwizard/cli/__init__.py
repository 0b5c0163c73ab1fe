"""The ``setupwizard`` command. Each sub-command lives in its own module and registers itself on ``app``.

:func:`main` imports only the module of the sub-command asked for: ``setupwizard setup`` does not load
the web service (FastAPI, SQLAlchemy, Alembic), which was about half of its start-up time. Anything else
(``--help``, an unknown word) loads them all, so help and errors list every command.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterable

from setupwizard.cli.root import app

__all__ = ["COMMANDS", "app", "load_commands", "main"]

COMMANDS = ("serve", "setup", "testbed", "users", "worker")
"""Sub-commands, each registered by the module of the same name."""


def load_commands(names: Iterable[str] = COMMANDS) -> None:
    """Import the modules that register ``names`` on :data:`app`."""
    for name in names:
        importlib.import_module(f"setupwizard.cli.{name}")


def main() -> None:
    """Console-script entry point."""
    asked = sys.argv[1] if len(sys.argv) > 1 else ""
    # Imports make objects that live as long as the process; collecting among them while they are
    # made, and again at every later collection, is wasted work (~15 ms of `setupwizard setup`'s start).
    gc.disable()
    load_commands([asked] if asked in COMMANDS else COMMANDS)
    gc.freeze()
    gc.enable()
    try:
        app()
    finally:
        # The process ends next: with every object moved out of the collector's reach, Python's
        # shutdown skips its collections over them (40-60 ms of every command, measured for
        # `setupwizard setup`). The memory goes back to the OS anyway.
        gc.freeze()
