"""The Typer application every sub-command module attaches to."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Set up fresh Linux servers over SSH and watch every line.")


@app.callback()
def root() -> None:
    """Set up fresh Linux servers over SSH and watch every line."""
    # A callback keeps sub-commands sub-commands when only one of them is loaded (see cli/__init__.py).
