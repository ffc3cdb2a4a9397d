"""Schema versions: a `schema_version` table and one upgrade function per version.

A new database gets the current tables from the models and is stamped with
SCHEMA_VERSION; an older one runs MIGRATIONS[v] for each version v above its own. When the
models change, bump SCHEMA_VERSION and add MIGRATIONS[new] doing the same change in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import func, inspect, insert, select, text
from sqlalchemy.engine import Connection, Engine

from .errors import StatusError
from .models import Base, BisectionRow, BisectionTestRow, FileRow, LaneRow, RunRow, SchemaVersion

SCHEMA_VERSION = 6
PR_REF = re.compile(r"^refs/pull/(\d+)/")


def _v2_pr_builds(conn: Connection) -> None:
    """PR builds apart from branch builds: `pr` set for every refs/pull/N/… branch, the grid
    index made partial on branch builds, a PR index, test files indexed by (run, outcome),
    and the `lanes` table (branch × builder of branch builds)."""
    rows = conn.execute(text("SELECT id, branch FROM runs WHERE pr IS NULL AND branch LIKE 'refs/pull/%'")).all()
    for row in rows:
        if match := PR_REF.match(row.branch):
            conn.execute(text("UPDATE runs SET pr = :pr WHERE id = :id"), {"pr": int(match.group(1)), "id": row.id})
    for index in ("ix_runs_branch_builder_created", "ix_test_files_run_pk", "ix_test_files_outcome"):
        conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
    for index in (*RunRow.__table__.indexes, *FileRow.__table__.indexes):
        index.create(conn, checkfirst=True)
    LaneRow.__table__.create(conn, checkfirst=True)
    conn.execute(text("INSERT INTO lanes (branch, builder, origin) SELECT branch, builder, MIN(origin) "
                      "FROM runs WHERE pr IS NULL GROUP BY branch, builder"))


def _add_column(conn: Connection, table: str, column) -> None:
    """ALTER TABLE … ADD COLUMN for a models.py column (nothing when the table already has it)."""
    if column.name not in {c["name"] for c in inspect(conn).get_columns(table)}:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"))


def _v3_pythoninfo(conn: Connection) -> None:
    """runs.pythoninfo (results.json `pythoninfo`, for the run page); NULL for older runs."""
    _add_column(conn, "runs", RunRow.__table__.c.pythoninfo)


def _v4_runtimes(conn: Connection) -> None:
    """runs.runtimes (each runtime's outcome and counts); NULL for older runs, which show as
    one series, as they were stored."""
    _add_column(conn, "runs", RunRow.__table__.c.runtimes)


def _v5_grid_keyset(conn: Connection) -> None:
    """ix_runs_grid ends in id: the lane pager seeks by (created, id) in the index (on
    PostgreSQL; SQLite's indexes end in the rowid anyway)."""
    conn.execute(text("DROP INDEX IF EXISTS ix_runs_grid"))
    next(i for i in RunRow.__table__.indexes if i.name == "ix_runs_grid").create(conn)


def _v6_bisections(conn: Connection) -> None:
    """The `bisections` and `bisection_tests` tables (recorded bisections, status/bisections.py)."""
    for table in (BisectionRow.__table__, BisectionTestRow.__table__):
        table.create(conn, checkfirst=True)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _v2_pr_builds, 3: _v3_pythoninfo, 4: _v4_runtimes,
                                                       5: _v5_grid_keyset, 6: _v6_bisections}

# Any constant works; it only has to be the same in every process that migrates.
_PG_LOCK_KEY = 0x656D7079


def migrate(engine: Engine, target: int = SCHEMA_VERSION,
            migrations: dict[int, Callable[[Connection], None]] | None = None) -> int:
    """Bring the schema to `target` under a lock, so concurrent first writers don't race."""
    migrations = MIGRATIONS if migrations is None else migrations
    with engine.begin() as conn:   # on SQLite the engine's write option makes this BEGIN IMMEDIATE
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        if not inspect(conn).has_table(SchemaVersion.__tablename__):
            Base.metadata.create_all(conn)
            _stamp(conn, target)
            return target
        current = conn.scalar(select(func.max(SchemaVersion.version))) or 0
        if current > target:
            raise StatusError(f"the status store has schema version {current}, newer than this "
                              f"emscripten-python ({target}): upgrade emscripten-python")
        for version in range(current + 1, target + 1):
            migrations[version](conn)
            _stamp(conn, version)
        return target


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(insert(SchemaVersion).values(
        version=version, applied=datetime.now(timezone.utc).replace(tzinfo=None)))
