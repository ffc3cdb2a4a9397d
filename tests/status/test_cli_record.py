"""`emscripten-python run`/`test` record into the status store (best effort)."""

from __future__ import annotations

from pathlib import Path

from emscripten_python.cli.main import record_in_status_store
from emscripten_python.results.model import Run, Stage, TestFile
from emscripten_python.status.store import Store
from emscripten_python.results.validation import load_validated


def _results(tmp_path: Path) -> Path:
    run = Run(source={"cpython_version": "3.13.15", "era": "configure", "branch": "3.13"},
              stages=[Stage("make-host", "succeeded", 60.0)],
              tests={"selection": ["test_os"], "files": [TestFile("test_os", "failed", tests_run=370, failures=17)]})
    run.decide_outcome()
    path = tmp_path / "results.json"
    run.save(path)
    return path


def test_run_is_recorded_in_the_default_store(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'status.sqlite'}"
    monkeypatch.delenv("EMSCRIPTEN_PYTHON_NO_RECORD", raising=False)
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_STATUS_DB", db)
    results = _results(tmp_path)
    assert record_in_status_store(results) == "inserted"
    assert record_in_status_store(results) == "unchanged"
    store = Store(db)
    try:
        with store.reader() as session:
            from emscripten_python.status.models import RunRow
            from sqlalchemy import select
            rows = session.execute(select(RunRow.run_id, RunRow.outcome)).all()
    finally:
        store.close()
    assert [(r.run_id, r.outcome) for r in rows] == [(load_validated(results).run_id, "failure")]


def test_unreachable_store_warns_and_never_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EMSCRIPTEN_PYTHON_NO_RECORD", raising=False)
    (tmp_path / "blocker").write_text("a file where the store's directory should be")
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_STATUS_DB", f"sqlite:///{tmp_path}/blocker/x/status.sqlite")
    assert record_in_status_store(_results(tmp_path)) is None
    assert "not recorded in the status store" in capsys.readouterr().err


def test_opt_out(tmp_path, monkeypatch):
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_NO_RECORD", "1")
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_STATUS_DB", f"sqlite:///{tmp_path / 'status.sqlite'}")
    assert record_in_status_store(_results(tmp_path)) is None
    assert not (tmp_path / "status.sqlite").exists()
