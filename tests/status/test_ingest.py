"""results.json into the store: content, idempotence, overrides, the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from emscripten_python.status import record_run
from emscripten_python.status.ingest import ingest
from emscripten_python.status.models import CaseRow, FileRow, RunRow
from emscripten_python.results.validation import load_validated
from status_factory import make_run, write_run

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "results.json"


def _count(store, model) -> int:
    with store.reader() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_example_results_are_stored_in_full(store):
    run = load_validated(EXAMPLE)
    assert ingest(store, run) == "inserted"
    with store.reader() as session:
        row = session.scalar(select(RunRow))
        assert (row.run_id, row.origin, row.builder, row.branch, row.commit) == (
            run.run_id, "buildbot", "wasm32-emscripten node 3.13", "3.13", run.source["commit"])
        assert (row.cpython_version, row.emcc_version, row.node_version) == ("3.13.15", "3.1.69", "20.19.2")
        assert row.outcome == "failure" and row.build_url == run.origin["url"]
        assert [s["name"] for s in row.stages] == [s.name for s in run.stages]
        assert row.duration == pytest.approx(sum(s.duration for s in run.stages), abs=0.01)
        assert row.artifacts[0]["sha256"] == run.artifacts[0].sha256
        files = {f.name: f for f in row.files}
        assert files["test_compile"].outcome == "crashed"
        assert "memory access out of bounds" in files["test_compile"].crash
        assert [(c.name, c.message) for c in files["test_os"].cases] == [
            ("test.test_os.WalkTests.test_walk_symlink", "AssertionError: Didn't follow symlink with followlinks=True")]
        # Passing cases are implied by the counts, not stored.
        assert [c.outcome for c in files["test_compile"].cases] == ["error"]
        assert (row.files_total, row.files_bad, row.files_crashed) == (5, 2, 1)


def test_ingest_is_idempotent_on_run_id(store):
    run = make_run(files={"test_os": "failed"})
    assert ingest(store, run) == "inserted"
    assert ingest(store, run) == "unchanged"
    assert (_count(store, RunRow), _count(store, FileRow), _count(store, CaseRow)) == (1, 1, 1)


def test_a_later_record_of_the_same_run_replaces_the_earlier(store):
    run = make_run(files={"test_os": "failed", "test_gone": "failed"})
    ingest(store, run)
    assert (_count(store, FileRow), _count(store, CaseRow)) == (2, 2)
    run.tests["files"] = make_run(files={"test_os": "failed", "test_math": "passed"}).test_files
    run.decide_outcome()
    assert ingest(store, run) == "updated"
    with store.reader() as session:
        row = session.scalar(select(RunRow))
        assert row.outcome == "failure" and sorted(f.name for f in row.files) == ["test_math", "test_os"]
    assert (_count(store, RunRow), _count(store, FileRow), _count(store, CaseRow)) == (1, 2, 1)


def test_overrides_and_pull_request_refs(store):
    ingest(store, make_run(branch="refs/pull/4242/merge"), builder="WASM Emscripten PR")
    ingest(store, make_run(), pr=17, commit_message="gh-1: fix it", build_url="https://ci.invalid/2")
    with store.reader() as session:
        rows = session.scalars(select(RunRow).order_by(RunRow.id)).all()
    assert (rows[0].pr, rows[0].builder) == (4242, "WASM Emscripten PR")
    assert (rows[1].pr, rows[1].commit_message, rows[1].build_url) == (17, "gh-1: fix it", "https://ci.invalid/2")


def test_record_run_uses_the_given_or_default_store(tmp_path, monkeypatch, sqlite_url):
    path = write_run(make_run(), tmp_path)
    assert record_run(path, sqlite_url) == "inserted"
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_STATUS_DB", f"sqlite:///{tmp_path / 'default.sqlite'}")
    assert record_run(path) == "inserted"
    assert record_run(str(path)) == "unchanged"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emscripten_python.status", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_ingest(tmp_path, db_url):
    first, second = (write_run(make_run(), tmp_path) for _ in range(2))
    result = _cli("ingest", "--db", db_url, "--builder", "bb", str(first), str(second))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("inserted: ") == 2
    again = _cli("ingest", "--db", db_url, "--builder", "bb", str(first))
    assert again.stdout.startswith("unchanged: ")


def test_cli_errors_are_one_line(tmp_path, sqlite_url):
    result = _cli("ingest", "--db", sqlite_url, str(tmp_path / "missing.json"))
    assert result.returncode == 40 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_status_is_a_subcommand_of_the_main_cli(tmp_path, sqlite_url):
    cli = shutil.which("emscripten-python", path=str(Path(sys.executable).parent))
    path = write_run(make_run(), tmp_path)
    result = subprocess.run([cli, "status", "ingest", "--db", sqlite_url, str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("inserted: ")
