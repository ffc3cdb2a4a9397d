"""Opening the store: SQLite file by default, PostgreSQL (or any SQLAlchemy URL) by --db."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from ..errors import EmscriptenPythonError
from .errors import StatusError
from .migrations import migrate

DB_ENV = "EMSCRIPTEN_PYTHON_STATUS_DB"
BUSY_TIMEOUT_MS = 60_000


def one_line(exc: BaseException) -> str:
    """The database's own words, on one line: SQLAlchemy wraps the driver's error with the
    statement and a "Background on this error" link, and psycopg's refusal spans two lines
    (the failure, then "Is the server running …?")."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def safe_url(url: str) -> str:
    """A store's URL as it may be shown: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def default_url() -> str:
    """$EMSCRIPTEN_PYTHON_STATUS_DB, else a SQLite file in the user's data directory."""
    if os.environ.get(DB_ENV):
        return os.environ[DB_ENV]
    return f"sqlite:///{Path(platformdirs.user_data_dir('emscripten-python')) / 'status.sqlite'}"


def _sqlite_engine(url) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        # pysqlite's own implicit BEGIN is deferred and cannot be told otherwise; take the
        # transaction control away from it so the "begin" hook below decides.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL itself needs a lock another writer may hold.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")   # readers never block the writer and vice versa
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster commits
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A writer takes the write lock up front: a deferred transaction that reads and then
        # writes can fail with SQLITE_BUSY at once, which busy_timeout does not retry.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


class Store:
    """An engine on the store's URL, schema brought up to date on open."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        try:
            parsed = make_url(self.url)
            if parsed.get_backend_name() == "sqlite":
                self.engine = _sqlite_engine(parsed)
            else:
                self.engine = create_engine(parsed, pool_pre_ping=True)
            migrate(self.engine.execution_options(write=True))
        except EmscriptenPythonError:
            raise
        except Exception as exc:   # driver missing, bad URL, server down: the user's to fix
            raise StatusError(f"cannot open status store {self.safe_url}: {one_line(exc)}") from exc
        self._reader = sessionmaker(self.engine)
        self._writer = sessionmaker(self.engine.execution_options(write=True))

    @property
    def safe_url(self) -> str:
        return safe_url(self.url)

    def reader(self) -> Session:
        return self._reader()

    def writer(self) -> Session:
        return self._writer()

    def close(self) -> None:
        self.engine.dispose()
