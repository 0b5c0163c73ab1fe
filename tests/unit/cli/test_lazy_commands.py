"""`setupwizard setup` starts without loading the web service; help still lists every command."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
sys.argv = ["setupwizard", *sys.argv[1:]]
from setupwizard.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED", sorted(m for m in ("fastapi", "sqlalchemy", "alembic", "asyncssh") if m in sys.modules))
"""


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_setup_loads_the_engine_but_not_the_web_service() -> None:
    out = run("setup", "--help")
    assert "Usage: setupwizard setup" in out
    assert "LOADED ['asyncssh']" in out


def test_top_level_help_lists_every_command() -> None:
    out = run("--help")
    for command in ("serve", "setup", "testbed", "users", "worker"):
        assert f" {command} " in out, out


def test_the_garbage_collector_is_on_while_a_command_runs() -> None:
    # main() switches the collector off only while it imports: a long `serve` must collect
    probe = (
        "import gc, sys\n"
        "from setupwizard.cli import app, main\n"
        "app.command('probe-gc')(lambda: print('ENABLED', gc.isenabled()))\n"
        "sys.argv = ['setupwizard', 'probe-gc']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "ENABLED True" in done.stdout, done.stdout + done.stderr
