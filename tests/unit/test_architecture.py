"""The package structure holds (docs/architecture.md): the live log never imports the setup package, SQL is
written only in repositories, and modules stay small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "setupwizard"

# Modules that may build or run SQL: each domain's repository, the event log's store, and the database's
# own plumbing (engine, migrations, the write gate, the single-worker lock).
SQL_HOMES = ("*repository.py", "live/store.py", "live/event_reads.py", "db/*.py", "db/migrations/**/*.py")
SQL_NAMES = frozenset({"select", "insert", "update", "delete", "text", "func", "bindparam", "Select"})
SQL_CALLS = frozenset({"execute", "scalars", "scalar", "exec_driver_sql"})
MAX_LINES = 400
# Modules that are data, not logic: the message catalogue is one table of both languages' sentences.
DATA_MODULES = {"provisioning/messages.py", "web/static/i18n.js"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def page_modules() -> list[Path]:
    return sorted((PACKAGE / "web" / "static").glob("*.js"))


def name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "live").glob("*.py")), ids=name)
def test_the_live_log_imports_nothing_from_the_setup_package(path: Path) -> None:
    setup = sorted(
        m for m in imported(path) if m == "setupwizard.setup" or m.startswith("setupwizard.setup.")
    )
    assert setup == [], f"{name(path)} imports {setup}: pass what it needs in (live/sessions.py)"


def uses_sql(path: Path) -> list[str]:
    """What in ``path`` builds or runs SQL: names imported from sqlalchemy, and, in a module that imports
    sqlalchemy at all, calls that run a statement (a Redis pipeline's ``execute`` elsewhere is not SQL)."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    calls: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"imports {a.name}" for a in node.names if a.name in SQL_NAMES]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            calls.append(f".{node.func.attr}() at line {node.lineno}")
    if any(m.startswith("sqlalchemy") for m in imported(path)):
        found += calls
    return found


def is_sql_home(path: Path) -> bool:
    relative = path.relative_to(PACKAGE)
    return any(relative.match(pattern) for pattern in SQL_HOMES)


@pytest.mark.parametrize("path", [p for p in modules() if not is_sql_home(p)], ids=name)
def test_sql_is_written_only_in_repositories(path: Path) -> None:
    assert uses_sql(path) == [], f"{name(path)} has SQL of its own: move it to its domain's repository"


def test_the_sql_check_sees_sql() -> None:
    """The check above is not blind: it finds the SQL of a repository."""
    assert uses_sql(PACKAGE / "setup" / "repository.py")
    assert uses_sql(PACKAGE / "live" / "store.py")


@pytest.mark.parametrize(
    "path", [p for p in modules() + page_modules() if name(p) not in DATA_MODULES], ids=name
)
def test_modules_stay_under_400_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name(path)} has {lines} lines: split it by what its parts are"
