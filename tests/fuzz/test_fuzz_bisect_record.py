"""Fuzz `status record-bisect` with hostile bisect.json files: a valid one with one to three
fields replaced, removed or added (any JSON value, NaN and huge numbers included), and raw
bytes that are not JSON at all. Each file is refused (exit 40, one line `error: …`, the store
not even opened) or recorded (exit 0, and the test and branch pages then render it escaped):
never a traceback, in bounded time.

A fixed, modest budget (derandomized); the examples Hypothesis found are kept as @example.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from json_paths import mutate
from sqlalchemy import select
from test_fuzz_status_ingest import JSON, RAW

from emscripten_python.status import create_app
from emscripten_python.status.__main__ import main
from emscripten_python.status.models import BisectionRow
from emscripten_python.status.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "status"))
from status_factory import make_bisection  # noqa: E402

BUDGET = settings(max_examples=80, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = 20.0   # seconds for one record and its pages: a hang or a quadratic path is far above


@st.composite
def hostile_documents(draw) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(RAW)
    doc = make_bisection(state=draw(st.sampled_from(["found", "inconclusive"])), skipped=1)
    mutate(draw, doc, JSON, st)
    return json.dumps(doc).encode()   # allow_nan: NaN and Infinity written as JSON does not allow


def _with(**changes) -> bytes:
    return json.dumps({**make_bisection(), **changes}).encode()


@BUDGET
@given(document=hostile_documents())
@example(document=_with(tests=["<script>alert(1)</script>"]))
@example(document=_with(first_bad={"commit": "a" * 40, "subject": "<script>alert(1)</script>",
                                   "author": "\u202e<b>x</b>"}))
@example(document=_with(origin={"kind": "buildbot", "branch": "x\n::error::injected"}))
@example(document=_with(duration=1e308, builds=2**80))
@example(document=_with(started="9999-12-31T23:59:59-01:00"))
def test_hostile_bisect_json_is_refused_with_40_or_recorded(tmp_path, document):
    here = Path(tempfile.mkdtemp(dir=tmp_path))       # tmp_path is shared by every example
    path = here / "bisect.json"
    path.write_bytes(document)
    db = here / "status.sqlite"
    url = f"sqlite:///{db}"
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["record-bisect", "--db", url, str(path)])
    assert code in (0, 40), (code, err.getvalue())
    event(f"exit {code}")
    assert "Traceback" not in out.getvalue() + err.getvalue()
    for line in (out.getvalue() + err.getvalue()).splitlines():   # nothing an Actions runner would run
        assert not line.lstrip().startswith("::") and "##[" not in line, line
    if code == 40:
        [line] = err.getvalue().splitlines()
        assert line.startswith("error: ") and out.getvalue() == ""
        assert not db.exists()           # refused before the store was opened: nothing written
    else:
        assert err.getvalue() == "" and out.getvalue().startswith("inserted: ")
        store = Store(url)
        with store.reader() as session:
            row = session.scalars(select(BisectionRow)).one()
            tests = [t.name for t in row.tests]
        store.close()
        app = create_app(url)
        app.testing = True   # an exception in a page raises here
        client = app.test_client()
        # (The branch page is a lane's: a branch with no run is 404, bisections or not.)
        for page in (f"/test/{tests[0]}.html", f"/api/test/{tests[0]}.json"):
            response = client.get(page)
            assert response.status_code == 200, page
            if page.endswith(".html"):
                assert "<script" not in response.get_data(as_text=True)
        app.extensions["emscripten_python_status"].close()
    assert time.monotonic() - started < SLOW
    assert path.read_bytes() == document   # record-bisect never rewrites the file it reads
