"""Fuzz `status ingest` with hostile results.json files: a valid run with one field replaced,
removed or added (any JSON value, NaN and huge numbers included), pushed to an edge (a NUL,
a control character or a lone surrogate put into a string; a number beyond a 32- or 64-bit
column), and raw bytes that are not JSON at all. Each file is ingested into SQLite and into
PostgreSQL, which must give the same answer: refused on both (exit 40, every line
`error: …`, each store unchanged) or stored on both (exit 0, the same rows, and its pages
then render): never a traceback, never a store error (51), in bounded time.

A fixed, modest budget (derandomized); the examples Hypothesis found are kept as @example.
"""

from __future__ import annotations

import io
import json
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from json_paths import EDGE_CHARACTERS, EDGE_NUMBERS, mutate
from sqlalchemy import select

from emscripten_python.results.model import Run, Stage, TestCase, TestFile
from emscripten_python.status import create_app
from emscripten_python.status.__main__ import main
from emscripten_python.status.models import CaseRow, FileRow, LaneRow, RunRow
from emscripten_python.status.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "status"))
from status_support import new_database, postgres_cluster  # noqa: E402

BUDGET = settings(max_examples=100, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = 40.0   # seconds for an ingest and its pages on both databases: a hang or a quadratic path is far above

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=60) | st.sampled_from(EDGE_NUMBERS)
    | st.text(st.sampled_from(EDGE_CHARACTERS) | st.characters(exclude_categories=()), max_size=20)
    | st.sampled_from(["../../etc/passwd", "refs/pull/1/merge", "a/../b", "\u202egnp.exe", "x" * 400, "🐍", "",
                       "2026-13-45T99:00:00Z", "javascript:alert(1)", "<script>alert(1)</script>",
                       "x\n::error::injected", "::add-mask::x", "\r\n##[group]x", "%0A::warning::x"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)
RAW = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), st.sampled_from([
    b"", b"null", b"[]", b"{}", b'{"schema_version": 1}', b"NaN", b"\xef\xbb\xbf{}", b"\xff\xfe{",
    b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"run_id": "x", "run_id": "y"}']))


def _base() -> dict:
    run = Run(created="2026-11-01T12:00:00+00:00",
              origin={"kind": "buildbot", "builder": "emscripten node", "url": "https://ci.invalid/1", "pr": None},
              source={"branch": "3.13", "commit": "4b1c0a7d9e2f", "cpython_version": "3.13.15",
                      "commit_message": "gh-1: fix it"},
              toolchain={"emcc_version": "3.1.69"}, node={"version": "20.19.2"},
              stages=[Stage("build", "succeeded", 12.5, 0, "logs/build.log")], errors=["test: exit 2"])
    failed = TestFile("test_os", "failed", 1.5, tests_run=2, failures=1, attempts=2, log_excerpt="test_x FAIL")
    failed.cases = [TestCase("test.test_os.T.test_x", "failed", 0.1, "AssertionError: boom", "Traceback\nboom")]
    run.tests["files"] = [failed, TestFile("test_zlib", "crashed", 0.5, crash="RuntimeError: unreachable")]
    run.decide_outcome()
    return run.to_dict()


@st.composite
def hostile_documents(draw) -> bytes:
    kind = draw(st.sampled_from(["raw", "any", "any", "edge", "edge"]))
    if kind == "raw":
        return draw(RAW)
    doc = _base()
    doc["run_id"] = draw(st.sampled_from(["a" * 32, "b" * 32, "c" * 32]))
    # "edge": one string or number pushed to an edge, the rest of the file valid, so the edge
    # reaches the store (where SQLite and PostgreSQL differ) rather than stopping at the schema.
    if kind == "edge":
        mutate(draw, doc, JSON, st, actions=("edge",), most=1)
    else:
        mutate(draw, doc, JSON, st)
    return json.dumps(doc).encode()   # allow_nan: NaN and Infinity written as JSON does not allow


def _edited(path: list, value) -> bytes:
    doc = {**_base(), "run_id": "a" * 32}
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def postgres_server():
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def store_urls(tmp_path, postgres_server):
    """An empty SQLite store and an empty PostgreSQL store, shared by the examples of a test."""
    urls = (f"sqlite:///{tmp_path / 'status.sqlite'}", new_database(postgres_server))
    for url in urls:
        Store(url).close()
    return urls


def _rows(url: str) -> dict:
    """Everything the store holds of its runs, without the ids and times it chose itself."""
    def columns(table, *left_out):
        return [c for c in table.c if c.name not in ("id", *left_out)]

    store = Store(url)
    try:
        with store.reader() as session:
            return {
                "runs": session.execute(select(*columns(RunRow.__table__, "ingested")).order_by(RunRow.run_id)).all(),
                "files": session.execute(select(RunRow.run_id, *columns(FileRow.__table__, "run_pk"))
                                         .join(RunRow, FileRow.run_pk == RunRow.id)
                                         .order_by(RunRow.run_id, FileRow.id)).all(),
                "cases": session.execute(select(RunRow.run_id, FileRow.name, *columns(CaseRow.__table__, "file_pk"))
                                         .join(FileRow, CaseRow.file_pk == FileRow.id)
                                         .join(RunRow, FileRow.run_pk == RunRow.id)
                                         .order_by(RunRow.run_id, FileRow.id, CaseRow.id)).all(),
                "lanes": session.execute(select(*LaneRow.__table__.c).order_by(LaneRow.branch, LaneRow.builder)).all(),
            }
    finally:
        store.close()


def _ingest(url: str, path: Path) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `status ingest` of `path` into `url`, the URL itself
    written as <store> (so the two databases' answers compare)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["ingest", "--db", url, str(path)])
    return code, out.getvalue().replace(url, "<store>"), err.getvalue().replace(url, "<store>")


def _pages_render(url: str, run_id: str) -> None:
    app = create_app(url)
    app.testing = True   # an exception in a page raises here
    client = app.test_client()
    try:
        for page in (f"/run/{run_id}.html", f"/api/run/{run_id}.json", "/index.html", "/crashes.html",
                     "/flaky.html", "/api/overview.json"):
            assert client.get(page).status_code == 200, (url.split(":")[0], page)
    finally:
        app.extensions["emscripten_python_status"].close()


@BUDGET
@given(document=hostile_documents())
@example(document=b'{"schema_version": 1}')
@example(document=json.dumps({**_base(), "run_id": "a" * 32, "created": "\n::error::x"}).encode())
@example(document=b"[" * 50_000 + b"]" * 50_000)
@example(document=json.dumps({**_base(), "run_id": "a" * 32, "origin": {"kind": "buildbot", "pr": 2**40}}).encode())
@example(document=json.dumps({**_base(), "run_id": "a" * 32, "created": "9999-12-31T23:59:59+00:00"}).encode())
# What SQLite stored and PostgreSQL refused with exit 51 before ingest checked it (or, for
# a lone surrogate, a traceback on both).
@example(document=_edited(["tests", "files", 0, "cases", 0, "traceback"], "Traceback\x00boom"))
@example(document=_edited(["tests", "files", 0, "tests_run"], 2**31))
@example(document=_edited(["origin", "builder"], "emscripten\x00node"))
@example(document=_edited(["tests", "files", 1, "crash"], "RuntimeError: \udc80"))
def test_hostile_results_are_refused_with_40_or_stored_alike_on_both_databases(store_urls, tmp_path, document):
    path = tmp_path / "results.json"
    path.write_bytes(document)
    before = [_rows(url) for url in store_urls]
    started = time.monotonic()
    (code, out, err), other = (_ingest(url, path) for url in store_urls)
    assert other == (code, out, err), f"SQLite said {(code, out, err)}, PostgreSQL {other}"
    assert code in (0, 40), (code, err)
    event(f"exit {code}")   # --hypothesis-show-statistics: how many were stored, how many refused
    assert "Traceback" not in out + err
    for line in (out + err).splitlines():   # nothing an Actions runner would run
        assert not line.lstrip().startswith("::") and "##[" not in line, line
    after = [_rows(url) for url in store_urls]
    assert after[0] == after[1]   # the same rows, value for value
    if code == 40:
        lines = err.splitlines()
        assert lines[0].startswith("error: ") and lines[-1].startswith("error: 1 of 1 results.json files refused")
        assert out == "" and after == before   # nothing stored, nothing lost
    else:
        assert err == ""
        [line] = out.splitlines()
        assert line.split(":")[0] in ("inserted", "updated", "unchanged"), line
        run_id = line.split(": ", 1)[1].split(" from ")[0]
        for url in store_urls:
            _pages_render(url, run_id)
    assert time.monotonic() - started < SLOW
    assert path.read_bytes() == document   # ingest never rewrites the file it reads
