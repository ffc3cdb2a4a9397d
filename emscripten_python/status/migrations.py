"""Schema versions: a `schema_version` table and one upgrade function per version.

A new database gets the current tables from the models and is stamped with
SCHEMA_VERSION; an older one runs MIGRATIONS[v] for each version v above its own. When the
models change, bump SCHEMA_VERSION and add MIGRATIONS[new] doing the same change in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import func, inspect, insert, select
from sqlalchemy.engine import Connection, Engine

from .errors import StatusError
from .models import Base, SchemaVersion

SCHEMA_VERSION = 1
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}

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
