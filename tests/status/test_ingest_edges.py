"""What PostgreSQL refuses and SQLite accepts, at `status ingest`: NUL and other control
characters, lone surrogates, and numbers beyond the store's 32-bit INTEGER columns. Each
case runs through the CLI on both databases, which must agree: a name or count the store
cannot keep is the file's mistake (exit 40, one line, refused before the store is opened,
nothing written); free text a test printed (tracebacks, messages, crash text, log
excerpts, a commit message) is stored, its NUL and lone surrogates as U+FFFD, the same on both."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from emscripten_python.errors import ResultsError
from emscripten_python.status import create_app, record_run
from emscripten_python.status.models import CaseRow, FileRow, RunRow
from emscripten_python.status.store import Store
from status_factory import make_run, run_document, write_run


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emscripten_python.status", *args],
                          capture_output=True, text=True, timeout=300)


def _document(files: dict | None = None, **changes) -> dict:
    """A run with a failed and a crashed file, `changes` applied (`a__0__b`: data["a"][0]["b"])."""
    return run_document(files or {"test_os": "failed", "test_zlib": "crashed"}, **changes)


def _write(tmp_path, data: dict, name: str = "edge.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _runs(db_url) -> list[str]:
    store = Store(db_url)
    try:
        with store.reader() as session:
            return sorted(session.scalars(select(RunRow.run_id)))
    finally:
        store.close()


BIG = 2**31          # one beyond a 32-bit INTEGER column
HUGE = 2**40

# (case, the changes, what the one error line says)
REFUSED = {
    "NUL in a test file name": ({"tests__files__0__name": "test_\x00os"},
                                "tests.files[0].name: 'test_\\x00os' has characters or a form not allowed here"),
    "NUL in a case name": ({"tests__files__0__cases__1__name": "test.test_os.T.test_\x00x"},
                           "tests.files[0].cases[1].name: 'test.test_os.T.test_\\x00x' contains control characters"),
    "NUL in the builder": ({"origin__builder": "emscripten\x00node"},
                           "origin.builder: 'emscripten\\x00node' contains control characters"),
    "escape in the builder": ({"origin__builder": "emscripten \x1b[31mnode"},
                              "origin.builder: 'emscripten \\x1b[31mnode' contains control characters"),
    "NUL in the branch": ({"source__branch": "3.13\x00"}, "source.branch: '3.13\\x00' contains control characters"),
    "NUL in the base branch": ({"origin__pr": 7, "origin__base_branch": "main\x00"},
                               "branch: 'main\\x00' contains control or format characters"),
    "NUL in the CPython version": ({"source__cpython_version": "3.13\x00"},
                                   "source.cpython_version: '3.13\\x00' contains control characters"),
    "NUL in the emcc version": ({"toolchain__emcc_version": "3.1.69\x00"},
                                "toolchain.emcc_version: '3.1.69\\x00' contains control characters"),
    "NUL in the node version": ({"node__version": "20\x00"}, "node.version: '20\\x00' contains control characters"),
    "lone surrogate in the builder": ({"origin__builder": "node \ud800"},
                                      "origin.builder: 'node \\ud800' contains a lone surrogate"),
    "lone surrogate in a case name": ({"tests__files__0__cases__1__name": "test_\udfff"},
                                      "tests.files[0].cases[1].name: 'test_\\udfff' contains a lone surrogate"),
    "tests_run 2**31": ({"tests__files__0__tests_run": BIG},
                        f"tests.files[0].tests_run: {BIG} is more than the store's limit of 2147483647"),
    "tests_run 2**40": ({"tests__files__0__tests_run": HUGE},
                        f"tests.files[0].tests_run: {HUGE} is more than the store's limit of 2147483647"),
    "failures 2**40": ({"tests__files__0__failures": HUGE},
                       f"tests.files[0].failures: {HUGE} is more than the store's limit of 2147483647"),
    "attempts 2**31": ({"tests__files__0__attempts": BIG},
                       f"tests.files[0].attempts: {BIG} is more than the store's limit of 2147483647"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_name_or_count_the_store_cannot_keep_is_refused_before_it_is_opened(case, tmp_path, db_url):
    changes, says = REFUSED[case]
    path = _write(tmp_path, _document(**changes))
    fresh = tmp_path / "fresh.sqlite"
    # Into a store that does not exist yet: refused before it is opened, so none is made.
    result = _cli("ingest", "--db", f"sqlite:///{fresh}", str(path))
    assert result.returncode == 40, result.stderr
    assert not fresh.exists() and result.stdout == "" and "Traceback" not in result.stderr
    assert says in result.stderr, result.stderr
    # Into a store holding a run: the same answer on both databases, that run kept, nothing added.
    kept = make_run()
    assert _cli("ingest", "--db", db_url, str(write_run(kept, tmp_path))).returncode == 0
    result = _cli("ingest", "--db", db_url, str(path))
    assert (result.returncode, result.stdout) == (40, ""), result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and lines[-1].startswith("error: 1 of 1 results.json files refused")
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "\x00" not in result.stderr
    assert _runs(db_url) == [kept.run_id]


def test_a_refused_file_never_reaches_an_unreachable_store(tmp_path):
    """Refused before the store is opened: exit 40 for the file, not 51 for the store."""
    from status_support import free_port

    path = _write(tmp_path, _document(origin__builder="emscripten\x00node"))
    result = _cli("ingest", "--db", f"postgresql+psycopg://ci@127.0.0.1:{free_port()}/none", str(path))
    assert result.returncode == 40 and "cannot open status store" not in result.stderr, result.stderr


def test_record_run_refuses_before_it_opens_the_store(tmp_path, db_url):
    """The Buildbot hook's way in: ResultsError, no store made, nothing added to one."""
    fresh = tmp_path / "fresh.sqlite"
    for changes in ({"origin__builder": "emscripten\x00node"}, {"tests__files__0__failures": HUGE}):
        path = _write(tmp_path, _document(**changes))
        for url in (f"sqlite:///{fresh}", db_url):
            with pytest.raises(ResultsError, match="cannot be stored|is not valid"):
                record_run(path, url, builder="emscripten node")
    assert not fresh.exists() and _runs(db_url) == []


def test_counts_that_add_up_beyond_the_column_are_refused(tmp_path, db_url):
    """Each file's tests_run fits, their sum (the run's tests_run) does not."""
    data = _document(files={"test_os": "passed", "test_math": "passed"})
    for test_file in data["tests"]["files"]:
        test_file["tests_run"] = 2**31 - 1
    result = _cli("ingest", "--db", db_url, str(_write(tmp_path, data)))
    assert result.returncode == 40 and "Traceback" not in result.stderr, result.stderr
    assert "tests_run: 4294967294 over all test files, more than the store's limit of 2147483647" in result.stderr
    assert _runs(db_url) == []


TRACEBACK = "Traceback (most recent call last):\n  File \"x\x00y.py\", line 1\nValueError: embedded null byte \x00"
MESSAGE = "AssertionError: b'\\x00' != '\x00'"
CRASH = "RuntimeError: memory access out of bounds\x00\x00 at wasm://wasm/022be2e2"
EXCERPT = "test_os\x00 crashed \x1b[31mred\x1b[0m \ud83d"
COMMIT_MESSAGE = "gh-1: fix\x00 it"


def test_free_text_keeps_its_nul_as_u_fffd_on_both_databases(tmp_path, db_url):
    data = _document(tests__files__0__cases__1__traceback=TRACEBACK, tests__files__0__cases__1__message=MESSAGE,
                     tests__files__1__crash=CRASH, tests__files__1__log_excerpt=EXCERPT,
                     source__commit_message=COMMIT_MESSAGE, errors=["test: exit 2\x00"],
                     stages__1__log="logs/te\x00st.log",
                     pythoninfo={"host": {"status": "ok", "info": {"sys.version": "3.13\x00 \udcff"}}})
    result = _cli("ingest", "--db", db_url, str(_write(tmp_path, data)))
    assert result.returncode == 0, result.stderr
    store = Store(db_url)
    try:
        with store.reader() as session:
            case = session.execute(select(CaseRow.message, CaseRow.traceback)).one()
            crashed = session.execute(select(FileRow.crash, FileRow.log_excerpt).where(FileRow.name == "test_zlib")).one()
            run = session.execute(select(RunRow.commit_message, RunRow.errors, RunRow.stages,
                                         RunRow.pythoninfo)).one()
    finally:
        store.close()
    assert tuple(case) == (MESSAGE.replace("\x00", "\ufffd"), TRACEBACK.replace("\x00", "\ufffd"))
    # Other control characters are the test's own output (colour codes): kept; a lone
    # surrogate cannot be UTF-8 on either database: U+FFFD too.
    assert tuple(crashed) == (CRASH.replace("\x00", "\ufffd"),
                              EXCERPT.replace("\x00", "\ufffd").replace("\ud83d", "\ufffd"))
    assert run.commit_message == "gh-1: fix\ufffd it" and run.errors == ["test: exit 2\ufffd"]
    assert run.stages[1]["log"] == "logs/te\ufffdst.log"
    assert run.pythoninfo["host"]["info"] == {"sys.version": "3.13\ufffd \ufffd"}
    # Unchanged on a second ingest: the digest is of the file, not of what was stored.
    again = _cli("ingest", "--db", db_url, str(tmp_path / "edge.json"))
    assert again.returncode == 0 and again.stdout.startswith("unchanged: "), again.stderr
    run_id = data["run_id"]
    client = create_app(db_url).test_client()
    page = client.get(f"/run/{run_id}.html").get_data(as_text=True)
    assert "\x00" not in page and "memory access out of bounds\ufffd\ufffd" in page
    assert json.loads(client.get(f"/api/run/{run_id}.json").data)["run_id"] == run_id


def test_huge_durations_and_the_largest_counts_are_stored_alike(tmp_path, db_url):
    """Durations are floating point (8 bytes on both): 1e15 s is stored as given; a run's
    tests_run of exactly 2**31 - 1 fits its INTEGER column."""
    data = _document(stages__0__duration=1e15, tests__files__0__duration=10**15, tests__files__0__tests_run=2**31 - 11,
                     tests__files__0__cases__1__duration=5e-324, tests__files__1__duration=1e15)
    data["tests"]["files"] = data["tests"]["files"][:2]
    result = _cli("ingest", "--db", db_url, str(_write(tmp_path, data)))
    assert result.returncode == 0, result.stderr
    store = Store(db_url)
    try:
        with store.reader() as session:
            run = session.execute(select(RunRow.duration, RunRow.tests_run)).one()
            files = session.execute(select(FileRow.name, FileRow.duration, FileRow.tests_run)
                                    .order_by(FileRow.name)).all()
            case_duration = session.scalar(select(CaseRow.duration))
    finally:
        store.close()
    assert run.duration == pytest.approx(1e15 + data["stages"][1]["duration"])
    assert run.tests_run == 2**31 - 1
    assert [tuple(f) for f in files] == [("test_os", 1e15, 2**31 - 11), ("test_zlib", 1e15, 10)]
    assert case_duration == 5e-324
    client = create_app(db_url).test_client()
    assert client.get(f"/run/{data['run_id']}.html").status_code == 200
