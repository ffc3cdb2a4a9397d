"""Opening the store and versioning its schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, inspect, select, text

from emscripten_python.status import migrations
from emscripten_python.status.errors import StatusError
from emscripten_python.status.models import Base, SchemaVersion
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
    applied, nxt = [], migrations.SCHEMA_VERSION + 1

    def add_note(conn):
        applied.append(nxt)
        conn.execute(text("ALTER TABLE runs ADD COLUMN note VARCHAR(20)"))

    assert migrations.migrate(store.engine.execution_options(write=True), target=nxt,
                              migrations={nxt: add_note}) == nxt
    assert applied == [nxt]
    assert "note" in {c["name"] for c in inspect(store.engine).get_columns("runs")}
    with store.reader() as session:
        assert session.scalars(select(SchemaVersion.version).order_by(SchemaVersion.version)).all() == [
            nxt - 1, nxt]
    # Already there: nothing runs again.
    migrations.migrate(store.engine.execution_options(write=True), target=nxt, migrations={nxt: add_note})
    assert applied == [nxt]


def test_v1_store_is_migrated_pr_builds_set_apart(db_url):
    """A store made by schema 1 (grid index on every run, no lanes): PR refs get their PR."""
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name != "lanes":
                table.create(conn)
        for index in ("ix_runs_grid", "ix_runs_pr", "ix_test_files_run_outcome"):
            conn.execute(text(f"DROP INDEX {index}"))
        conn.execute(text("CREATE INDEX ix_runs_branch_builder_created ON runs (branch, builder, created)"))
        conn.execute(text("CREATE INDEX ix_test_files_run_pk ON test_files (run_pk)"))
        conn.execute(text("CREATE INDEX ix_test_files_outcome ON test_files (outcome)"))
        conn.execute(text("INSERT INTO schema_version (version, applied) VALUES (1, '2026-01-01 00:00:00')"))
        for i, branch in enumerate(["main", "refs/pull/77/merge", "3.13"]):
            conn.execute(text(
                "INSERT INTO runs (run_id, digest, created, ingested, origin, builder, branch, outcome, duration, "
                "files_total, files_bad, files_crashed, files_flaky, tests_run, stages, artifacts, errors) VALUES "
                f"('r{i}', 'd', '2026-01-0{i + 1} 00:00:00', '2026-01-01 00:00:00', 'buildbot', 'node', '{branch}', "
                "'success', 1.0, 0, 0, 0, 0, 0, '[]', '[]', '[]')"))
    engine.dispose()
    store = Store(db_url)
    with store.reader() as session:
        assert session.scalar(select(func.max(SchemaVersion.version))) == migrations.SCHEMA_VERSION
        assert dict(session.execute(text("SELECT run_id, pr FROM runs")).all()) == {"r0": None, "r1": 77, "r2": None}
        assert sorted(session.execute(text("SELECT branch, builder FROM lanes")).all()) == [("3.13", "node"),
                                                                                            ("main", "node")]
    names = {i["name"] for i in inspect(store.engine).get_indexes("runs")}
    assert {"ix_runs_grid", "ix_runs_pr"} <= names and "ix_runs_branch_builder_created" not in names
    assert {i["name"] for i in inspect(store.engine).get_indexes("test_files")} == {"ix_test_files_run_outcome",
                                                                                 "ix_test_files_outcome_run"}
    store.close()


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


@pytest.mark.parametrize("command", [["serve"], ["export", "site"], ["ingest", "results.json"]])
def test_a_refused_postgresql_connection_is_one_line_and_exit_51(command, tmp_path):
    """Nothing listens on the port: one `error:` line (psycopg's two lines and SQLAlchemy's
    "Background on this error" joined), the password hidden, exit 51, nothing written.
    (ingest opens the store for a good file only: a refused one never reaches it.)"""
    import subprocess
    import sys

    from status_factory import make_run
    from status_support import free_port

    make_run().save(tmp_path / "results.json")
    url = f"postgresql+psycopg://ci:s3cret@127.0.0.1:{free_port()}/status"
    done = subprocess.run([sys.executable, "-m", "emscripten_python.status", command[0], "--db", url, *command[1:]],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 51, done
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: cannot open status store postgresql+psycopg://ci:***@127.0.0.1:"), line
    assert "Connection refused" in line and "s3cret" not in line and "sqlalche.me" not in line, line
    assert not (tmp_path / "site").exists()
