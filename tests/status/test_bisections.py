"""Recorded bisections: bisect.json into the store (SQLite and PostgreSQL), `status record-bisect`
refusing bad files before the store is opened, and the test and branch pages showing the culprit."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from emscripten_python.status import migrations
from emscripten_python.status.__main__ import main
from emscripten_python.status.bisections import bisection_json, for_branch, for_test, record_bisection
from emscripten_python.status.ingest import ingest
from emscripten_python.status.models import Base, BisectionRow, BisectionTestRow
from emscripten_python.status.store import Store
from emscripten_python.status.web import create_app
from status_factory import make_bisection, make_run, sha, write_bisection

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _count(url: str) -> int:
    store = Store(url)
    try:
        with store.reader() as session:
            return session.scalar(select(func.count()).select_from(BisectionRow))
    finally:
        store.close()


def test_round_trip_found_and_inconclusive(store, tmp_path):
    """On both databases: what bisect.json said is what the store gives back, filed under
    builder, branch and each test file; the same file again is "unchanged"."""
    found = make_bisection(tests=["test_os", "test_posix"], author="Ünïcode Äuthor", from_run="a" * 32)
    path = write_bisection(found, tmp_path)
    recorded = record_bisection(path, store.url)
    assert recorded.result == "inserted"
    assert record_bisection(path, store.url).result == "unchanged"
    ambiguous = write_bisection(make_bisection(state="inconclusive", culprit=8, skipped=2, branch="main",
                                               builder=None, started=None), tmp_path, "b2.json")
    assert record_bisection(ambiguous, store.url, builder="emscripten browser").result == "inserted"

    with store.reader() as session:
        [row] = for_branch(session, "3.13")
        assert (row.state, row.builder, row.origin, row.failure) == ("found", "emscripten node", "buildbot", "fail")
        assert (row.first_bad_commit, row.first_bad_subject, row.first_bad_author) == (
            sha(7), "gh-1: os.walk() follows symlinks", "Ünïcode Äuthor")
        assert (row.good_commit, row.bad_commit, row.commits, row.builds, row.steps) == (sha(0), sha(12), 12, 4, 4)
        assert row.started == datetime(2026, 11, 1, 15, 0) and row.duration == 250.25
        assert [t.name for t in row.tests] == ["test_os", "test_posix"] and row.from_run == "a" * 32
        [other] = for_branch(session, "main")
        assert other.state == "inconclusive" and other.first_bad_commit is None and other.started is None
        assert other.builder == "emscripten browser"        # the override wins over bisect.json
        assert [s["commit"] for s in other.suspects] == [sha(6), sha(7), sha(8)]
        # A test file's page and each of its test cases' find it; another file's does not.
        assert [b.state for b in for_test(session, "test_os")] == ["inconclusive", "found"]
        assert [b.id for b in for_test(session, "test.test_posix.PosixTester.test_stat")] == [row.id]
        assert for_test(session, "test_math") == []
        data = bisection_json(row)
        assert data["first_bad"]["commit"] == sha(7) and data["tests"] == ["test_os", "test_posix"]
        assert data["started"] == "2026-11-01T15:00:00Z"
        assert session.scalar(select(func.count()).select_from(BisectionRow)) == 2


def test_a_schema_5_store_gets_the_tables_on_open(db_url, tmp_path):
    """A store made before bisections (schema 5) is migrated when it is opened, on both databases."""
    engine = create_engine(db_url)
    migrations.migrate(engine, target=5)
    with engine.begin() as conn:
        for table in (BisectionTestRow.__table__, BisectionRow.__table__):
            table.drop(conn)
    assert "bisections" not in inspect(engine).get_table_names()
    engine.dispose()
    path = write_bisection(make_bisection(), tmp_path)
    assert record_bisection(path, db_url).result == "inserted"
    store = Store(db_url)
    try:
        assert {"bisections", "bisection_tests"} <= set(inspect(store.engine).get_table_names())
        with store.reader() as session:
            assert session.scalar(text("SELECT max(version) FROM schema_version")) == migrations.SCHEMA_VERSION
            assert [b.first_bad_commit for b in for_test(session, "test_os")] == [sha(7)]
    finally:
        store.close()
    assert {t.name for t in Base.metadata.sorted_tables} >= {"bisections", "bisection_tests"}


def test_cli_records_then_says_unchanged(sqlite_url, tmp_path):
    path = write_bisection(make_bisection(), tmp_path)
    code, out, err = _cli("record-bisect", "--db", sqlite_url, str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"inserted: bisection of test_os on 3.13 / emscripten node ({sha(7)})")
    code, out, _ = _cli("record-bisect", "--db", sqlite_url, str(tmp_path))   # the directory holding it
    assert code == 0 and out.startswith("unchanged: ")
    assert _count(sqlite_url) == 1


def _hostile(**changes) -> dict:
    data = make_bisection()
    data.update(changes)
    return data


REFUSED = [
    ("not json", b"{\"schema\": 1,", "is not valid JSON"),
    ("nan", json.dumps(_hostile(duration=float("nan"))).encode(), "NaN is not valid JSON"),
    ("array", b"[1, 2]", "bisect.json is not a JSON object"),
    ("tests a string", json.dumps(_hostile(tests="test_os")).encode(), "tests: expected a list, got a string"),
    ("builds a string", json.dumps(_hostile(builds="4")).encode(), "builds: expected an integer, got a string"),
    ("no tests", json.dumps(_hostile(tests=[])).encode(), "tests: no test file named"),
    ("script test name", json.dumps(_hostile(tests=[f"test_{XSS}"])).encode(),
     "tests[0]: \"test_<script>alert('x')</script><img src=x onerror=alert... has characters or a form not allowed"),
    ("huge subject", json.dumps(_hostile(first_bad={"commit": sha(7), "subject": "x" * 100_000})).encode(),
     "first_bad.subject: 100,000 characters, more than the limit of 4,096"),
    ("huge file", json.dumps(_hostile(source="x" * (5 * 1024 * 1024))).encode(), "more than the limit of 4,194,304"),
    ("not a sha", json.dumps(_hostile(first_bad={"commit": "HEAD~1", "subject": "s"})).encode(),
     "first_bad.commit: 'HEAD~1' has characters or a form not allowed here"),
    ("found without commit", json.dumps(_hostile(first_bad=None)).encode(),
     "state is found but no first bad commit is named"),
    ("nul in subject", json.dumps(_hostile(first_bad={"commit": sha(7), "subject": "a\x00b"})).encode(),
     "first_bad.subject: 'a\\x00b' contains control characters"),
    ("first bad of an ambiguous one", json.dumps(_hostile(state="inconclusive", suspects=[
        {"commit": sha(7), "subject": "s"}])).encode(), "a first bad commit is named but state is 'inconclusive'"),
    ("still running", json.dumps(_hostile(state="running", first_bad=None)).encode(),
     "the bisection is 'running'; only a finished one (found or inconclusive) is recorded"),
    ("branch a path", json.dumps(_hostile(origin={"kind": "local", "branch": "../etc"})).encode(),
     "branch: '../etc' has an empty, '.' or '..' path segment"),
    ("javascript url", json.dumps(_hostile(origin={"kind": "local", "url": "javascript:alert(1)"})).encode(),
     "origin.url: 'javascript:alert(1)' has characters or a form not allowed here"),
]


@pytest.mark.parametrize("document, says", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_bad_bisect_json_is_one_line_exit_40_before_the_store_is_opened(tmp_path, document, says):
    path = tmp_path / "bisect.json"
    path.write_bytes(document)
    db = tmp_path / "status.sqlite"
    code, out, err = _cli("record-bisect", "--db", f"sqlite:///{db}", str(path))
    assert (code, out) == (40, "")
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and says in err, err
    assert not db.exists()        # the store was never opened: nothing made, nothing written


def test_refusal_leaves_an_existing_store_as_it_was(sqlite_url, tmp_path):
    record_bisection(write_bisection(make_bisection(), tmp_path), sqlite_url)
    path = write_bisection(_hostile(tests=["test_os", "<b>x</b>"]), tmp_path, "hostile.json")
    code, _, err = _cli("record-bisect", "--db", sqlite_url, str(path))
    assert code == 40 and "tests[1]" in err
    code, _, err = _cli("record-bisect", "--db", sqlite_url, "--branch", "a\u202eb", str(path.with_name("bisect.json")))
    assert code == 40 and "branch: " in err and "control or format characters" in err
    code, _, err = _cli("record-bisect", "--db", sqlite_url, str(tmp_path / "missing.json"))
    assert code == 40 and "does not exist" in err
    assert _count(sqlite_url) == 1


def test_what_postgresql_would_refuse_is_refused_first_on_both(db_url, tmp_path):
    """A count beyond a 32-bit INTEGER column: exit 40 on SQLite (which would store it) and on
    PostgreSQL (which would raise), never 51 for a file's mistake."""
    record_bisection(write_bisection(make_bisection(), tmp_path), db_url)
    path = write_bisection(_hostile(builds=2**40), tmp_path, "big.json")
    code, _, err = _cli("record-bisect", "--db", db_url, str(path))
    assert code == 40 and "builds: 1099511627776 is more than the store's limit of 2147483647" in err, err
    assert _count(db_url) == 1


def test_a_store_that_cannot_be_opened_is_exit_51(tmp_path):
    path = write_bisection(make_bisection(), tmp_path)
    code, _, err = _cli("record-bisect", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", str(path))
    assert code == 51 and err.startswith("error: cannot open status store") and len(err.splitlines()) == 1


@pytest.fixture
def pages(sqlite_url, tmp_path):
    """test_os red on 3.13 from its third run; a bisection of it found, one ambiguous, with hostile text."""
    store = Store(sqlite_url)
    runs = [make_run(branch="3.13", hours=i, commit=sha(i * 4), files={"test_os": "failed" if i >= 2 else "passed"},
                     build_url="https://github.com/python/cpython/actions/runs/1") for i in range(4)]
    for run in runs:
        ingest(store, run)
    store.close()
    found = make_bisection(subject=f"gh-9: {XSS}", author=f"Mallory {XSS}", from_run=runs[3].run_id,
                           build_url="https://github.com/python/cpython/actions/runs/77")
    found["good"]["commit"] = "abc1234"     # a short sha is a commit too
    ambiguous = make_bisection(state="inconclusive", culprit=9, skipped=1, build_url=None, from_run="f" * 32,
                               started=None)
    ambiguous["suspects"][0]["subject"] = XSS
    for name, data in (("found.json", found), ("ambiguous.json", ambiguous)):
        record_bisection(write_bisection(data, tmp_path, name), sqlite_url)
    app = create_app(sqlite_url)
    yield app.test_client(), runs
    app.extensions["emscripten_python_status"].close()


def test_test_page_shows_the_culprit_range_builds_and_when(pages):
    client, runs = pages
    html = client.get("/test/test_os.html").get_data(as_text=True)
    section = html[html.index("<h2>Bisections</h2>"):html.index('<div class="lane">')]
    # Found: the culprit's sha linked to the repository the GitHub Actions build URL names.
    assert f'<strong><a href="https://github.com/python/cpython/commit/{sha(7)}"><code><bdi>{sha(7)[:12]}' in section
    assert "4 builds, 4.2 min" in section and "2026-11-01 15:00 UTC" in section and "12 commits" in section
    assert '<a href="https://github.com/python/cpython/actions/runs/77">build</a>' in section
    assert f'<a href="../run/{runs[3].run_id}.html">run <bdi>{runs[3].run_id[:8]}' in section
    # Ambiguous: the range, oldest first, no commit links without a repository, the run not stored: no link.
    assert "<strong>Ambiguous:</strong> one of 2 commits" in section
    assert section.index(sha(8)[:12]) < section.index(sha(9)[:12])
    assert f'<code><bdi>{sha(8)[:12]}</bdi></code>' in section and f"run <bdi>{'f' * 8}</bdi></td>" in section
    assert "recorded 20" in section       # no `started` in its bisect.json: the time it was recorded
    # Every text from the bisection is escaped.
    assert "<script>" not in html and "<img src=x" not in html
    assert "gh-9: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in section and "Mallory &lt;script&gt;" in section
    # A test case's page shows its file's bisections; the JSON says the same.
    case = client.get("/test/test.test_os.WalkTests.test_walk_symlink.html").get_data(as_text=True)
    assert "<h2>Bisections</h2>" in case and sha(7)[:12] in case
    api = client.get("/api/test/test_os.json").get_json()
    assert [b["state"] for b in api["bisections"]] == ["inconclusive", "found"]
    assert api["bisections"][1]["first_bad"]["author"] == f"Mallory {XSS}"


def test_a_short_hex_sha_is_a_commit_link_too(pages):
    """A commit is a link only as a hex sha (validation refuses any other, REFUSED "not a sha")."""
    html = pages[0].get("/test/test_os.html").get_data(as_text=True)
    assert '<a href="https://github.com/python/cpython/commit/abc1234"><code><bdi>abc1234</bdi>' in html


def test_branch_page_lists_recent_bisections_with_their_culprit(pages):
    client, _ = pages
    html = client.get("/branch/3.13.html").get_data(as_text=True)
    section = html[html.index("<h2>Recent bisections</h2>"):html.index("<h2>Recent crashes</h2>")]
    assert sha(7)[:12] in section and '<a href="../test/test_os.html"><bdi>test_os</bdi></a>' in section
    assert "<script>" not in html and "&lt;script&gt;" in section
    assert len(client.get("/api/branch/3.13.json").get_json()["bisections"]) == 2


def test_a_test_only_bisected_has_a_page(sqlite_url, tmp_path):
    """A bisection of a file no stored run has: its link from the branch page still resolves."""
    store = Store(sqlite_url)
    ingest(store, make_run(branch="3.13"))
    store.close()
    record_bisection(write_bisection(make_bisection(tests=["test_zipfile"]), tmp_path), sqlite_url)
    client = create_app(sqlite_url).test_client()
    html = client.get("/test/test_zipfile.html").get_data(as_text=True)
    assert "<h2>Bisections</h2>" in html and "No recent branch build ran this test." in html
    assert client.get("/test/test_nothing.html").status_code == 404
