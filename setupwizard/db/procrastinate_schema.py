"""procrastinate's schema inside our Alembic chain (revision 0011): what to create and how to remove it.

The schema is the installed procrastinate's own ``schema.sql`` (its tables, types, functions and triggers,
all named ``procrastinate_*``). Removing it drops exactly those objects, found in the catalog of the
current schema, so a downgrade leaves nothing of the queue behind.
"""

from __future__ import annotations

from procrastinate.schema import SchemaManager
from sqlalchemy import Connection, text
from sqlalchemy.util import await_only

PREFIX = "procrastinate"


def schema_sql() -> str:
    """The whole schema of the installed procrastinate, one SQL script."""
    return SchemaManager.get_schema()


def apply_schema(bind: Connection) -> None:
    """Run :func:`schema_sql` on ``bind`` (in its transaction).

    asyncpg runs a script of several statements only as a simple query, without parameters: through the
    driver's own connection (SQLAlchemy would prepare it, which PostgreSQL refuses for several commands).
    """
    driver = bind.connection.driver_connection
    if driver is None or not hasattr(driver, "execute"):
        raise RuntimeError("procrastinate's schema needs the asyncpg driver")
    await_only(driver.execute(schema_sql()))


def drop_statements(bind: Connection) -> list[str]:
    """``DROP`` statements for every ``procrastinate_*`` table, function and type of the current schema.

    Tables go first (their triggers and indexes with them), then functions, then types.
    """
    like = {"pattern": f"{PREFIX}\\_%"}
    tables = bind.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE :pattern"
        ),
        like,
    ).scalars()
    functions = bind.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname LIKE :pattern"
        ),
        like,
    ).scalars()
    types = bind.execute(
        text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = current_schema() AND t.typname LIKE :pattern AND t.typtype IN ('e', 'c') "
            "AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')"
        ),
        like,
    ).scalars()
    statements = [f'DROP TABLE IF EXISTS "{name}" CASCADE' for name in tables]
    statements += [f"DROP FUNCTION IF EXISTS {signature} CASCADE" for signature in functions]
    statements += [f'DROP TYPE IF EXISTS "{name}" CASCADE' for name in types]
    return statements


def is_ours(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's ``include_name``: autogenerate and model comparisons leave procrastinate's tables alone."""
    return not (type_ == "table" and name is not None and name.startswith(PREFIX + "_"))
