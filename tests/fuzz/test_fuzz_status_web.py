"""Fuzz the status app's routes (Flask test client, exceptions propagated): generated names,
page numbers and query strings in every route never give a 500 or a traceback, only the
documented status codes (200, 404; 405 for other methods), in bounded time.

A fixed, modest budget (derandomized); the examples Hypothesis found are kept as @example.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emscripten_python.results.model import Run, Stage, TestCase, TestFile
from emscripten_python.status import create_app
from emscripten_python.status.compare_views import test_slug as slug_of
from emscripten_python.status.bisections import store_bisection, stored_values
from emscripten_python.status.ingest import ingest
from emscripten_python.status.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "status"))
from status_factory import make_bisection  # noqa: E402

BUDGET = settings(max_examples=100, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = 10.0   # seconds: far above any page of this store; a hang or a quadratic path is not

# Every route, with {} for a generated segment.
ROUTES = ["/{}", "/branch/{}.html", "/api/branch/{}.json", "/badge/{}.svg", "/pr/{}.html", "/api/pr/{}.json",
          "/run/{}.html", "/api/run/{}.json", "/compare/{}/{}.html", "/api/compare/{}/{}.json",
          "/test/{}.html", "/api/test/{}.json", "/runs/{}/{}/index.html", "/runs/{}/{}/older/{}.html",
          "/runs/{}/{}/newer/{}.html", "/index.html", "/flaky.html", "/crashes.html", "/pep11.html",
          "/api/overview.json", "/api/flaky.json", "/api/pep11.json"]

NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str),
                    st.sampled_from(["0", "-1", "2147483647", "2147483648", "9223372036854775808", "1e3", "0x10",
                                     "٣", "１２", "NaN", "", " 1", "1 "]))
NAMES = st.one_of(st.text(max_size=40), st.sampled_from(["3.13", "main", "emscripten/node", "..", ".", "~2F",
                                                          "~ZZ", "~FF", "%", "%2F", "a/b/../c", "🐍"]))
SEGMENT = st.one_of(NUMBERS, NAMES, NAMES.map(slug_of))


def _run(branch: str, builder: str, hours: int, bad: bool) -> Run:
    run = Run(created=f"2026-11-01T{hours:02d}:00:00+00:00",
              origin={"kind": "buildbot", "builder": builder, "url": "https://ci.invalid/1"},
              source={"branch": branch, "commit": f"{hours:040x}"}, stages=[Stage("build", "succeeded", 1.0, 0)])
    test_os = TestFile("test_os", "failed" if bad else "passed", 1.0, tests_run=2, failures=int(bad))
    if bad:
        test_os.cases = [TestCase("test.test_os.T.test_x", "failed", 0.1, "boom", "Traceback\nboom")]
    run.tests["files"] = [test_os, TestFile("test_math", "passed", 1.0, tests_run=3)]
    run.decide_outcome()
    return run


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-status') / 'status.sqlite'}"
    store = Store(url)
    try:
        for hours in range(6):
            for branch, builder in (("3.13", "emscripten/node"), ("feature/x y", "100% ?#"), ("main", "..")):
                ingest(store, _run(branch, builder, hours, bad=hours % 2 == 1))
        pr = _run("refs/pull/7/merge", "emscripten/node", 7, bad=True)
        ingest(store, pr, base_branch="3.13")
        # Recorded bisections of test_os on every lane: the test and branch pages show them.
        for branch, builder in (("3.13", "emscripten/node"), ("feature/x y", "100% ?#"), ("main", "..")):
            values, tests = stored_values(make_bisection(branch=branch, builder=builder, from_run="a" * 32,
                                                         subject="<script>alert(1)</script>"), {}, "fuzz")
            store_bisection(store, values, tests)
    finally:
        store.close()
    app = create_app(url)
    app.testing = True   # an exception in a view raises here instead of becoming a 500 page
    return app.test_client()


def _check(client, path: str, method: str = "GET") -> None:
    started = time.monotonic()
    response = client.open(path, method=method)
    assert time.monotonic() - started < SLOW, path
    body = response.get_data(as_text=True)
    if method in ("GET", "HEAD"):
        assert response.status_code in (200, 404), (path, response.status_code)
    else:
        assert response.status_code == 405 and response.headers["Allow"] in ("GET, HEAD", "HEAD, GET"), path
    assert "Traceback" not in body and "Internal Server Error" not in body, path
    if response.mimetype == "text/html":    # the bisections' subjects are hostile: shown escaped only
        assert "<script" not in body, path
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@BUDGET
@given(route=st.sampled_from(ROUTES), segments=st.lists(SEGMENT, min_size=3, max_size=3),
       quoted=st.booleans(), query=st.one_of(st.none(), st.text(max_size=30), NUMBERS.map(lambda n: f"page={n}")))
@example(route="/pr/{}.html", segments=["99999999999999999999", "", ""], quoted=True, query=None)
@example(route="/api/pr/{}.json", segments=["9223372036854775808", "", ""], quoted=True, query=None)
@example(route="/runs/{}/{}/older/{}.html", segments=["3.13", "emscripten~2Fnode", "~FF"], quoted=False, query=None)
@example(route="/test/{}.html", segments=["test_os", "", ""], quoted=False, query=None)
@example(route="/branch/{}.html", segments=["feature/x y", "", ""], quoted=True, query=None)
def test_generated_paths_answer_200_or_404(client, route, segments, quoted, query):
    parts = [quote(s, safe="") if quoted else s.replace("?", "%3F").replace("#", "%23") for s in segments]
    path = route.format(*parts)
    if query is not None:
        path += "?" + quote(query, safe="=&")
    _check(client, path)


@BUDGET
@given(route=st.sampled_from(ROUTES), name=SEGMENT,
       method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]))
def test_other_methods_are_405_on_every_route(client, route, name, method):
    path = route.format(*[quote(name, safe="")] * route.count("{}"))
    response = client.open(path, method=method)
    # A path no route matches is 404 whatever the method; a route's path is 405.
    assert response.status_code in (404, 405), (path, method, response.status_code)
    if response.status_code == 405:
        _check(client, path, method)


def test_the_fuzzed_store_shows_its_bisections(client):
    """The generated paths above reach pages with recorded bisections (so their checks cover them)."""
    test_page = client.get("/test/test_os.html").get_data(as_text=True)
    assert test_page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    for path in ("/branch/feature/x%20y.html", "/branch/3.13.html"):
        assert "<h2>Recent bisections</h2>" in client.get(path).get_data(as_text=True), path
