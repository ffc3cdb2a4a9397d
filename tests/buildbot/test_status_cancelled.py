"""A cancelled build (Buildbot's stop button) is neither green nor red in the status store.

Defect it guards: a stopped build was stored as `success` with 0 test files and became the
branch's "last green" on the status page and badge.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from emscripten_python.results.model import Run, Stage, TestFile
from emscripten_python.status import insight
from emscripten_python.status.ingest import ingest
from emscripten_python.status.store import Store

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def run_at(hours: int, *, failed: bool = False, cancelled: bool = False) -> Run:
    run = Run(run_id=uuid.uuid4().hex, created=(T0 + timedelta(hours=hours)).isoformat(timespec="seconds"))
    run.origin = {"kind": "buildbot", "builder": "Emscripten main", "url": f"https://bb.invalid/builds/{hours}"}
    run.source = {"cpython_version": "3.15.0a0", "branch": "main", "commit": f"{hours:012x}"}
    run.stages = [Stage("make-host", "succeeded", 60.0, 0)]
    if cancelled:       # stopped during `test`: the CLI wrote no test files
        run.cancelled = {"command": "test", "signal": "SIGTERM", "at": run.created}
    else:
        run.tests["files"] = [TestFile("test_os", "failed" if failed else "passed", tests_run=3, failures=int(failed))]
    run.decide_outcome()
    return run


def test_cancelled_is_neither_last_green_nor_a_streak_breaker(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'status.sqlite'}")
    try:
        for run in (run_at(0), run_at(1, failed=True), run_at(2, failed=True), run_at(3, cancelled=True)):
            ingest(store, run)
        with store.reader() as session:
            health = insight.health(session, "main", "Emscripten main")
        assert health.last.outcome == "cancelled"            # listed as the newest run ...
        assert health.state == "red" and health.streak == 2  # ... but the branch is still red
        assert health.last_green == T0.replace(tzinfo=None)  # not the cancelled build
        assert health.pass_rate == 1 / 3
        assert [state for state, _ in health.dots] == ["green", "red", "red"]
        assert insight.state_of("cancelled") == "pending"

        for run in (run_at(4), run_at(5, cancelled=True), run_at(6)):
            ingest(store, run)
        with store.reader() as session:
            health = insight.health(session, "main", "Emscripten main")
        assert (health.state, health.streak) == ("green", 2)  # the cancel between two greens breaks nothing
    finally:
        store.close()
