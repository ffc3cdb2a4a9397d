"""Fuzz `status ingest` with hostile results.json files: a valid run with one field replaced,
removed or added (any JSON value, NaN and huge numbers included), and raw bytes that are
not JSON at all. Each file is refused (exit 40, every line `error: …`, the store unchanged)
or stored (exit 0, and its pages then render): never a traceback, in bounded time.

A fixed, modest budget (derandomized); the examples Hypothesis found are kept as @example.
"""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from json_paths import mutate
from sqlalchemy import select

from emscripten_python.results.model import Run, Stage, TestCase, TestFile
from emscripten_python.status import create_app
from emscripten_python.status.__main__ import main
from emscripten_python.status.models import RunRow
from emscripten_python.status.store import Store

BUDGET = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = 20.0   # seconds for one ingest and its pages: a hang or a quadratic path is far above

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=60)
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
              source={"branch": "3.13", "commit": "4b1c0a7d9e2f", "cpython_version": "3.13.15"},
              stages=[Stage("build", "succeeded", 12.5, 0, "logs/build.log")])
    failed = TestFile("test_os", "failed", 1.5, tests_run=2, failures=1, attempts=2)
    failed.cases = [TestCase("test.test_os.T.test_x", "failed", 0.1, "AssertionError: boom", "Traceback\nboom")]
    run.tests["files"] = [failed, TestFile("test_zlib", "crashed", 0.5, crash="RuntimeError: unreachable")]
    run.decide_outcome()
    return run.to_dict()


@st.composite
def hostile_documents(draw) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(RAW)
    doc = _base()
    doc["run_id"] = draw(st.sampled_from(["a" * 32, "b" * 32, "c" * 32]))
    mutate(draw, doc, JSON, st)
    return json.dumps(doc).encode()   # allow_nan: NaN and Infinity written as JSON does not allow


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'status.sqlite'}"
    Store(url).close()
    return url


def _snapshot(url: str) -> list:
    store = Store(url)
    try:
        with store.reader() as session:
            return session.execute(select(RunRow.run_id, RunRow.digest).order_by(RunRow.run_id)).all()
    finally:
        store.close()


@BUDGET
@given(document=hostile_documents())
@example(document=b'{"schema_version": 1}')
@example(document=json.dumps({**_base(), "run_id": "a" * 32, "created": "\n::error::x"}).encode())
@example(document=b"[" * 50_000 + b"]" * 50_000)
@example(document=json.dumps({**_base(), "run_id": "a" * 32, "origin": {"kind": "buildbot", "pr": 2**40}}).encode())
@example(document=json.dumps({**_base(), "run_id": "a" * 32, "created": "9999-12-31T23:59:59+00:00"}).encode())
def test_hostile_results_are_refused_with_40_or_stored(store_url, tmp_path, document):
    path = tmp_path / "results.json"
    path.write_bytes(document)
    before = _snapshot(store_url)
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["ingest", "--db", store_url, str(path)])
    assert code in (0, 40), (code, err.getvalue())
    event(f"exit {code}")   # --hypothesis-show-statistics: how many were stored, how many refused
    assert "Traceback" not in out.getvalue() + err.getvalue()
    for line in (out.getvalue() + err.getvalue()).splitlines():   # nothing an Actions runner would run
        assert not line.lstrip().startswith("::") and "##[" not in line, line
    if code == 40:
        lines = err.getvalue().splitlines()
        assert lines[0].startswith("error: ") and lines[-1].startswith("error: 1 of 1 results.json files refused")
        assert out.getvalue() == "" and _snapshot(store_url) == before   # nothing stored, nothing lost
    else:
        assert err.getvalue() == ""
        [line] = out.getvalue().splitlines()
        assert line.split(":")[0] in ("inserted", "updated", "unchanged"), line
        run_id = line.split(": ", 1)[1].split(" from ")[0]
        app = create_app(store_url)
        app.testing = True   # an exception in a page raises here
        client = app.test_client()
        for page in (f"/run/{run_id}.html", f"/api/run/{run_id}.json", "/index.html", "/crashes.html",
                     "/flaky.html", "/api/overview.json"):
            assert client.get(page).status_code == 200, page
        app.extensions["emscripten_python_status"].close()
    assert time.monotonic() - started < SLOW
    assert path.read_bytes() == document   # ingest never rewrites the file it reads
