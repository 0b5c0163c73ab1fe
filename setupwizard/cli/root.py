"""The Typer application every sub-command module attaches to."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Set up fresh Linux servers over SSH and watch every line.")
