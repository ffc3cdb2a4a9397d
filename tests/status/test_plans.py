"""The hot queries against the real query plans of both databases: every statement the
overview, branch, flaky, PEP 11, PR and api/run pages issue is EXPLAINed on the store it ran
on, after ingest's own ANALYZE, and must reach runs, test files and cases through an index."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from emscripten_python.status import create_app
from emscripten_python.status.ingest import ingest_many
from status_factory import make_run

FILES = {f"test_{i}": ("failed" if i == 3 else "flaky" if i == 5 else "passed") for i in range(12)}
BIG_TABLES = ("runs", "test_files", "test_cases")


@pytest.fixture
def hot_statements(store):
    """(statements with their parameters, run_id, pr) after rendering the hot pages."""
    runs = []
    # Most runs on main: as on a real store, the windows read are a small part of the runs.
    for i in range(2000):
        run = make_run(branch="main" if i < 1700 else ["3.14", "3.13"][i % 2], builder=["node", "browser"][i // 2 % 2],
                       hours=i, files=FILES)
        if i % 10 == 0:
            run.source["branch"] = f"refs/pull/{500 + i}/merge"
            run.origin["base_branch"] = "main"
        runs.append((run, {}, f"run {i}"))
    for first in range(0, len(runs), 500):   # batches as `status ingest` makes: it runs ANALYZE itself
        ingest_many(store, runs[first:first + 500])
    app = create_app(store.url)
    seen = []
    engine = app.extensions["emscripten_python_status"].engine
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, parameters, context, many: seen.append((statement, parameters)))
    client = app.test_client()
    run_id = runs[7][0].run_id
    for page in ("/index.html", "/branch/main.html", "/flaky.html", "/pep11.html", "/badge/main.svg",
                 f"/api/run/{run_id}.json", "/pr/520.html", "/crashes.html"):
        assert client.get(page).status_code == 200, page
    selects = [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) > 20
    return selects, engine


def _plans(engine, statements) -> list[tuple[str, str]]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            # The test store is small: the planner would rightly scan it. Forbid scans to see
            # whether an index can serve each query (as it must at 100k runs).
            cursor.execute("SET enable_seqscan = off")
        found = []
        for statement, parameters in statements:
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
            cursor.execute(prefix + statement, parameters)
            found.append((statement, "\n".join(str(row[-1]) for row in cursor.fetchall())))
        return found
    finally:
        raw.close()


def _full_scans(plan: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        # "SCAN runs" reads the table; "SCAN runs USING [COVERING] INDEX" walks an index.
        return [line for line in plan.splitlines()
                if any(f"SCAN {t}" in line and "INDEX" not in line for t in BIG_TABLES)]
    return [line for line in plan.splitlines() if any(f"Seq Scan on {t}" in line for t in BIG_TABLES)]


def test_hot_queries_use_the_indexes(hot_statements):
    statements, engine = hot_statements
    dialect = engine.dialect.name
    plans = _plans(engine, statements)
    for statement, plan in plans:
        assert not _full_scans(plan, dialect), f"{statement}\n{plan}"
    text = "\n".join(plan for _, plan in plans)
    # The lanes' windows, the PR pages and the flaky page's file lookups each use their index.
    for index in ("ix_runs_grid", "ix_runs_pr", "ix_test_files_run_outcome"):
        assert index in text, index
    lane_plans = [plan for statement, plan in plans if "ORDER BY runs.created DESC" in statement
                  and "runs.pr IS NULL" in statement]
    assert any("ix_runs_grid" in plan for plan in lane_plans), "\n\n".join(lane_plans)
    if dialect == "sqlite":   # SQLite: every lane's window by the grid index, in its order (no sort step)
        assert all("ix_runs_grid" in plan and "TEMP B-TREE" not in plan for plan in lane_plans), lane_plans
    # The crash lists and crash groups (branch and crashes pages): the newest runs by
    # ix_runs_created, then their crashed files by an index seek on run and outcome (either
    # file index serves it); never a walk of every crash of the store sorted by date.
    crash_plans = [plan for statement, plan in plans if "test_files.crash" in statement and "JOIN runs" in statement]
    assert len(crash_plans) >= 4, crash_plans   # list and groups, on the branch and crashes pages
    for plan in crash_plans:
        assert "ix_runs_created" in plan, plan
        assert "ix_test_files_run_outcome" in plan or "ix_test_files_outcome_run" in plan, plan
        if dialect == "sqlite":
            assert "run_pk=?" in plan, plan
        else:
            assert "run_pk = " in plan, plan
    recent_prs = [plan for statement, plan in plans if "runs.pr IS NOT NULL ORDER BY runs.created DESC" in statement]
    assert recent_prs and all("ix_runs_pr_created" in plan for plan in recent_prs), recent_prs
    # PostgreSQL picks per lane by cost: the grid index for a small lane, a backward walk of
    # ix_runs_created for a lane holding most runs (benchmarks/status_store.py prints the plan
    # it picks at 100k runs).


def test_ingest_keeps_statistics(store):
    ingest_many(store, [(make_run(hours=i), {}, f"run {i}") for i in range(250)])
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            stats = dict(conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'runs'").all())
            assert "ix_runs_grid" in stats
        else:
            analyzed = conn.exec_driver_sql(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'runs'").scalar()
            assert analyzed is not None


def test_statistics_are_refreshed_periodically_by_single_ingests(sqlite_url, monkeypatch):
    """One run at a time (the master hook): ANALYZE each time the run ids pass a multiple
    of ANALYZE_EVERY, never for a small batch in between."""
    from emscripten_python.status import ingest as ingest_module
    from emscripten_python.status.store import Store

    calls = []
    monkeypatch.setattr(ingest_module, "ANALYZE_EVERY", 5)
    monkeypatch.setattr(ingest_module, "analyze", lambda store: calls.append(store))
    store = Store(sqlite_url)
    for i in range(12):
        ingest_module.ingest(store, make_run(hours=i))
    store.close()
    assert len(calls) == 2   # at run ids 5 and 10
