"""Bad and hostile results.json files at the store's door, through the CLI on both databases:
each is refused with exit 40 and a message naming the file and the problem, every good file
of the same batch is stored, and nothing stored before is lost."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from sqlalchemy import select

from emscripten_python.status import create_app
from emscripten_python.status.ingest import ingest
from emscripten_python.status.models import FileRow, RunRow
from emscripten_python.status.store import Store
from status_factory import make_run, run_document, write_run


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emscripten_python.status", *args],
                          capture_output=True, text=True, timeout=300)


def _document(**changes) -> dict:
    return run_document({"test_os": "failed", "test_math": "passed"}, **changes)


# (case, the file's text, what the error says)
CASES = {
    "non-numeric PR": (lambda: json.dumps(_document(origin__pr="12; DROP TABLE runs")),
                       "origin.pr: '12; DROP TABLE runs' is not a pull request number"),
    "bad date": (lambda: json.dumps(_document(created="yesterday at noon")), "created: 'yesterday at noon'"),
    "non-numeric duration": (lambda: json.dumps(_document(stages__0__duration="ten minutes")),
                             "stages[0].duration: expected a number"),
    "list for an object": (lambda: json.dumps(_document(origin=["buildbot"])), "origin: expected an object"),
    "NaN duration": (lambda: json.dumps(_document(stages__0__duration=float("nan"))), "NaN"),
    "Infinity duration": (lambda: json.dumps(_document(tests__files__0__duration=float("inf"))), "Infinity"),
    "over-long builder": (lambda: json.dumps(_document(origin__builder="b" * 201)),
                          "builder: 201 characters, more than the store's limit of 200"),
    "over-long test file name": (lambda: json.dumps(_document(tests__files__0__name="test_" + "x" * 400)),
                                 "tests.files[0].name: 405 characters, more than the store's limit of 300"),
    "run_id with a slash": (lambda: json.dumps(_document(run_id="../../etc/passwd")), "run_id: '../../etc/passwd'"),
    "branch with dot segments": (lambda: json.dumps(_document(source__branch="main/../../x")),
                                 "branch: 'main/../../x' has an empty, '.' or '..' path segment"),
    "not JSON": (lambda: "{\"run_id\": ", "is not valid JSON"),
    "not an object": (lambda: "[1, 2, 3]", "not a JSON object"),
}


@pytest.fixture
def before(db_url, tmp_path):
    """A store holding one run already."""
    run = make_run(files={"test_os": "failed", "test_compile": "crashed"})
    result = _cli("ingest", "--db", db_url, str(write_run(run, tmp_path)))
    assert result.returncode == 0, result.stderr
    return run


def _stored(db_url) -> dict[str, int]:
    store = Store(db_url)
    try:
        with store.reader() as session:
            return {row[0]: row[1] for row in session.execute(select(RunRow.run_id, RunRow.files_total)).all()}
    finally:
        store.close()


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_the_good_ones_stored_nothing_lost(case, db_url, before, tmp_path):
    text, says = CASES[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text())
    first, last = make_run(), make_run()
    result = _cli("ingest", "--db", db_url, str(write_run(first, tmp_path)), str(bad), str(write_run(last, tmp_path)))
    assert result.returncode == 40, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"error: {bad}" in result.stderr and says in result.stderr, result.stderr
    assert "1 of 3 results.json files refused" in result.stderr
    assert result.stdout.count("inserted: ") == 2
    assert set(_stored(db_url)) == {before.run_id, first.run_id, last.run_id}


def test_every_bad_file_of_a_batch_is_reported(db_url, before, tmp_path):
    paths = []
    for n, (case, (text, _says)) in enumerate(CASES.items()):
        paths.append(tmp_path / f"bad{n}.json")
        paths[-1].write_text(text())
    good = [make_run() for _ in range(3)]
    paths[3:3] = [write_run(run, tmp_path) for run in good]
    result = _cli("ingest", "--db", db_url, *map(str, paths))
    assert result.returncode == 40
    assert result.stderr.count("error: ") == len(CASES) + 1   # each file, then the summary
    for _text, says in CASES.values():
        assert says in result.stderr
    assert set(_stored(db_url)) == {before.run_id, *(r.run_id for r in good)}


def test_size_limit_is_checked_before_reading(db_url, before, tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    with big.open("wb") as stream:   # sparse: 3 GB on paper, nothing read
        stream.truncate(3 * 1024**3)
    small = write_run(make_run(), tmp_path)
    result = _cli("ingest", "--db", db_url, str(big), str(small))
    assert result.returncode == 40
    assert f"error: {big} is 3,221,225,472 bytes, more than the limit of 67,108,864" in result.stderr
    over = _cli("ingest", "--db", db_url, "--max-bytes", "1000", str(small))
    assert over.returncode == 40 and "more than the limit of 1,000" in over.stderr
    assert len(_stored(db_url)) == 2


def test_too_many_files_and_too_long_text_are_configurable(sqlite_url, tmp_path):
    run = make_run(files={f"test_{i}": "passed" for i in range(5)}, crash="x" * 50)
    path = write_run(run, tmp_path)
    result = _cli("ingest", "--db", sqlite_url, "--max-files", "4", str(path))
    assert result.returncode == 40 and "5 entries, more than the limit of 4" in result.stderr
    assert _cli("ingest", "--db", sqlite_url, str(path)).returncode == 0


def test_a_store_that_cannot_be_opened_is_exit_51(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    result = _cli("ingest", "--db", f"sqlite:///{tmp_path}/file/status.sqlite",
                  str(write_run(make_run(), tmp_path)))
    assert result.returncode == 51 and result.stderr.startswith("error: cannot open status store")


def test_nan_in_an_old_store_is_emitted_as_null(postgresql_url):
    """A NaN stored before ingest refused them (PostgreSQL keeps NaN; SQLite turns it into NULL)."""
    store = Store(postgresql_url)
    run = make_run()
    ingest(store, run)
    with store.writer() as session, session.begin():
        session.execute(RunRow.__table__.update().values(duration=float("nan")))
        session.execute(FileRow.__table__.update().values(duration=float("nan")))
    with store.reader() as session:
        assert math.isnan(session.scalar(select(RunRow.duration)))
    store.close()
    client = create_app(postgresql_url).test_client()
    for path in (f"/api/run/{run.run_id}.json", "/api/branch/3.13.json", "/api/overview.json"):
        text = client.get(path).get_data(as_text=True)
        assert "NaN" not in text, path
        json.loads(text)
    assert json.loads(client.get(f"/api/run/{run.run_id}.json").data)["duration"] is None


def test_a_store_that_fails_while_storing_is_exit_51(sqlite_url, tmp_path):
    store = Store(sqlite_url)
    with store.engine.begin() as conn:   # the database refuses every new run (as a full disk would)
        conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'no space'); END")
    store.close()
    result = _cli("ingest", "--db", sqlite_url, str(write_run(make_run(), tmp_path)))
    assert result.returncode == 51, result.stderr
    assert "failed while storing: no space" in result.stderr and "Traceback" not in result.stderr
