"""Opening the store and versioning its schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, inspect, select, text

from emscripten_python.status import migrations
from emscripten_python.status.errors import StatusError
from emscripten_python.status.models import SchemaVersion
from emscripten_python.status.store import DB_ENV, Store, default_url


def test_new_store_has_tables_and_is_stamped(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"runs", "test_files", "test_cases", "schema_version"} <= tables
    with store.reader() as session:
        assert session.scalar(select(func.max(SchemaVersion.version))) == migrations.SCHEMA_VERSION


def test_reopening_is_a_no_op(store):
    again = Store(store.url)
    with again.reader() as session:
        assert session.scalar(select(func.count()).select_from(SchemaVersion)) == 1
    again.close()


def test_migrations_run_in_order_and_are_recorded(store):
    applied = []

    def add_note(conn):
        applied.append(2)
        conn.execute(text("ALTER TABLE runs ADD COLUMN note VARCHAR(20)"))

    assert migrations.migrate(store.engine.execution_options(write=True), target=2,
                              migrations={2: add_note}) == 2
    assert applied == [2]
    assert "note" in {c["name"] for c in inspect(store.engine).get_columns("runs")}
    with store.reader() as session:
        assert session.scalars(select(SchemaVersion.version).order_by(SchemaVersion.version)).all() == [1, 2]
    # Already at 2: nothing runs again.
    migrations.migrate(store.engine.execution_options(write=True), target=2, migrations={2: add_note})
    assert applied == [2]


def test_store_newer_than_the_code_is_refused(store):
    with store.writer() as session, session.begin():
        session.add(SchemaVersion(version=migrations.SCHEMA_VERSION + 1, applied=datetime.now()))
    with pytest.raises(StatusError, match="newer than this emscripten-python"):
        Store(store.url)


def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_url):
    store = Store(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    store.close()


def test_default_store_is_a_sqlite_file_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_url() == f"sqlite:///{tmp_path / 'emscripten-python' / 'status.sqlite'}"
    Store().close()
    assert (tmp_path / "emscripten-python" / "status.sqlite").is_file()
    monkeypatch.setenv(DB_ENV, "sqlite:///elsewhere.sqlite")
    assert default_url() == "sqlite:///elsewhere.sqlite"


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(StatusError, match=r"cannot open status store postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/x"):
        Store("postgresql+psycopg://u:secret@127.0.0.1:1/x")
