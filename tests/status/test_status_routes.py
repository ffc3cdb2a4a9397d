"""Every route of the status app: any valid name routes (served by waitress), every method
answers as docs/status.rst says, the lane pager seeks by keyset on both databases, and a
store that cannot be reached is one line and exit 51."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import event, select

from emscripten_python.status import create_app
from emscripten_python.status.compare_views import PAGE_RUNS, lane_pages_link
from emscripten_python.status.ingest import ingest_many
from emscripten_python.status.models import RunRow
from emscripten_python.status.store import Store
from status_factory import make_run
from status_support import http_get, status_server

# Names a builder or branch may have (the store refuses only direction controls, control
# characters and, for a branch, what is not a URL path): slashes, spaces, %, ?, #, unicode,
# and for a builder a dot segment.
AWKWARD_BUILDERS = ["emscripten/node 20", "100% ?x=1#frag", "wasm ü 🐍", "..", "a%2Fb"]
AWKWARD_BRANCHES = ["feature/x y", "rel?1#2%3", "ü/🐍"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]


def _awkward_store(url: str) -> list:
    store = Store(url)
    runs = []
    try:
        for n, builder in enumerate(AWKWARD_BUILDERS):
            for h in range(PAGE_RUNS + 5 if n == 0 else 3):   # one lane long enough for an older page
                runs.append(make_run(branch="3.13", builder=builder, hours=h,
                                     files={"test_os": "failed" if h == 1 else "passed", "test_math": "passed"}))
        for branch in AWKWARD_BRANCHES:
            runs += [make_run(branch=branch, builder="emscripten/node 20", hours=h) for h in range(2)]
        pr = make_run(branch="refs/pull/7/merge", builder="emscripten/node 20", hours=3)
        pr.origin["base_branch"] = "feature/x y"
        runs.append(pr)
        ingest_many(store, [(run, {}, run.run_id) for run in runs])
    finally:
        store.close()
    return runs


def _sample_urls(runs) -> dict[str, str]:
    """One URL per endpoint, for names that need quoting where the route allows them."""
    red, green = runs[1].run_id, runs[2].run_id
    builder = AWKWARD_BUILDERS[0]
    return {
        "overview": "/index.html", "pep11": "/pep11.html", "flaky": "/flaky.html", "crashes": "/crashes.html",
        "branch": "/" + quote("branch/feature/x y.html"), "badge": "/" + quote("badge/rel?1#2%3.svg"),
        "pull_request": "/pr/7.html", "run": f"/run/{red}.html",
        "api_overview": "/api/overview.json", "api_flaky": "/api/flaky.json", "api_pep11": "/api/pep11.json",
        "api_branch": "/" + quote("api/branch/ü/🐍.json"), "api_pr": "/api/pr/7.json",
        "api_run": f"/api/run/{red}.json",
        "compare_page": f"/compare/{green}/{red}.html", "api_compare": f"/api/compare/{green}/{red}.json",
        "test_page": "/test/test_os.html", "api_test": "/api/test/test_os.json",
        "lane_newest": "/" + quote(lane_pages_link("3.13", builder)),
        "lane_seek": "/" + quote(lane_pages_link("3.13", builder, "older", runs[PAGE_RUNS].run_id)),
    }


@pytest.fixture
def awkward(sqlite_url):
    return sqlite_url, _awkward_store(sqlite_url)


def test_every_route_answers_get_and_head_and_405_with_allow_otherwise(awkward):
    url, runs = awkward
    app = create_app(url)
    samples = _sample_urls(runs)
    routed = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert routed == set(samples) | {"overview"}, "a route without a sample URL here"
    client = app.test_client()
    for endpoint, path in samples.items():
        for method in METHODS:
            response = client.open(path, method=method)
            if method in ("GET", "HEAD"):
                assert response.status_code == 200, (endpoint, path, method)
                assert "OPTIONS" not in response.headers.get("Allow", "")
            else:
                assert response.status_code == 405, (endpoint, path, method, response.status_code)
                assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}, (endpoint, method)
            # The security headers are on every answer, errors included.
            assert response.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in response.headers


def test_unknown_names_are_404_not_500(awkward):
    client = create_app(awkward[0]).test_client()
    for path in ("/runs/3.13/nobody/index.html", "/runs/no~ZZpe/x/index.html", "/runs/3.13/x/older/~FF.html",
                 "/runs/3.13/x/sideways/r.html", "/static/x.css", "/branch/.html", "/pr/0.html",
                 "/compare/a/b.html", "/test/~FF~FE.html"):
        assert client.get(path).status_code == 404, path


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'(?:href|src)="([^"]+)"', page)
            if not h.startswith(("http:", "https:", "#", "data:", "javascript:"))]


def _get(url: str) -> tuple[int, str]:
    status, body = http_get(url)
    return status, body.decode()


def test_awkward_names_route_on_the_live_server(awkward):
    """`status serve` (waitress): every page reachable from the overview answers 200, the
    lane pager of every awkward builder included, older pages too."""
    url, runs = awkward
    with status_server(url) as base:
        seen, queue = {"/index.html"}, ["/index.html"]
        while queue:
            path = queue.pop()
            status, text = _get(base + path)
            assert status == 200, path
            if not path.endswith(".html"):
                continue
            for href in _hrefs(text):
                target = urlsplit(urljoin(base + path, href))
                if target.path not in seen:
                    seen.add(target.path)
                    queue.append(target.path)
        lanes = {p for p in seen if p.startswith("/runs/")}
        for builder in AWKWARD_BUILDERS:
            assert "/" + quote(lane_pages_link("3.13", builder)) in lanes, builder
        assert any("/older/" in p for p in lanes) and any("/newer/" in p for p in lanes)
        for branch in AWKWARD_BRANCHES:
            assert "/" + quote(f"branch/{branch}.html") in seen, branch
            assert "/" + quote(lane_pages_link(branch, "emscripten/node 20")) in lanes, branch
        # The pager's heading names the lane as stored.
        status, text = _get(base + "/" + quote(lane_pages_link("3.13", "100% ?x=1#frag")))
        assert status == 200 and "<bdi>100% ?x=1#frag</bdi>" in html.unescape(text)


def _walk(client, branch: str, builder: str) -> tuple[list[str], list[str]]:
    """(run ids walking older from the newest page, run ids walking newer from the oldest
    run), each newest first."""
    def ids(text):
        return re.findall(r'href="(?:\.\./)+run/([^"]+)\.html"', text)

    def follow(text, label):
        found = re.search(rf'href="(?:\.\./)+(runs/[^"]+\.html)">{label}', text)
        return "/" + found[1] if found else None

    older, path = [], "/" + quote(lane_pages_link(branch, builder))
    while path:
        text = client.get(path).get_data(as_text=True)
        assert 0 < len(ids(text)) <= PAGE_RUNS, path
        older += ids(text)
        path = follow(text, "older →")
    newer, path = [older[-1]], "/" + quote(lane_pages_link(branch, builder, "newer", older[-1]))
    while path:
        text = client.get(path).get_data(as_text=True)
        assert 0 < len(ids(text)) <= PAGE_RUNS, path
        newer = ids(text) + newer
        path = follow(text, "← newer")
    return older, newer


def _pager_runs() -> list:
    """Two lanes of 3.13 and one of main; in the 3.13 node lane four runs an hour (ties on
    created, kept in one order by id), 4.5 pages of it."""
    runs = []
    for i in range(PAGE_RUNS * 4 + 25):
        runs.append(make_run(builder="node", hours=i // 4))
        runs.append(make_run(builder="browser", hours=i))
    runs += [make_run(builder="node", branch="main", hours=i) for i in range(10)]
    return runs


def test_lane_pager_pages_are_equal_on_sqlite_and_postgresql(sqlite_url, postgresql_url):
    runs = _pager_runs()
    lane = {r.run_id: r.created for r in runs if r.origin["builder"] == "node" and r.source["branch"] == "3.13"}
    walks, orders = [], []
    for url in (sqlite_url, postgresql_url):
        store = Store(url)
        try:
            ingest_many(store, [(run, {}, run.run_id) for run in runs])
            with store.reader() as session:   # the whole lane in one unpaged query: what the pages must add up to
                orders.append(session.scalars(
                    select(RunRow.run_id).where(RunRow.branch == "3.13", RunRow.builder == "node")
                    .order_by(RunRow.created.desc(), RunRow.id.desc())).all())
        finally:
            store.close()
        walks.append(_walk(create_app(url).test_client(), "3.13", "node"))
    assert walks[0] == walks[1]
    older, newer = walks[0]
    assert older == orders[0] and newer == orders[0]   # every run once, in one order, both ways
    assert sorted(older) == sorted(lane) and len(older) > 4 * PAGE_RUNS
    assert [lane[i] for i in older] == sorted(lane.values(), reverse=True)   # newest first
    assert len(set(lane.values())) < len(lane)        # runs of the same second: the id decides


def _deep_page_statement(url: str, runs) -> tuple[str, dict]:
    """The statement that reads the runs of the deepest older page of the big lane."""
    app = create_app(url)
    seen = []
    engine = app.extensions["emscripten_python_status"].engine
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, parameters, context, many: seen.append((statement, parameters)))
    older, _ = _walk(app.test_client(), "3.13", "node")
    seen.clear()
    edge = older[-PAGE_RUNS - 1]   # the last page: every run but PAGE_RUNS is newer than it
    assert app.test_client().get("/" + quote(lane_pages_link("3.13", "node", "older", edge))).status_code == 200
    [page] = [(s, p) for s, p in seen if "ORDER BY runs.created DESC, runs.id DESC" in s]
    return page


def test_deep_lane_page_seeks_the_grid_index(db_url):
    """The deepest page reads no more rows than the first: an index seek to (created, id),
    never OFFSET over the newer runs, nor every run older than the page. Asserted on the
    plan, not on time."""
    # Another lane holds most runs, all older than the pager's lane: "created < X" alone
    # would match them all.
    runs = [make_run(branch="3.12", builder="node", hours=-1 - i, files={}) for i in range(1500)] + _pager_runs()
    store = Store(db_url)
    try:
        ingest_many(store, [(run, {}, run.run_id) for run in runs])
        engine = store.engine
        statement, parameters = _deep_page_statement(db_url, runs)
        # SQLAlchemy's SQLite dialect always writes an OFFSET after LIMIT: it must be 0.
        assert "OFFSET" not in statement or (statement.endswith("LIMIT ? OFFSET ?") and parameters[-1] == 0)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
                # A range search on the grid index in its order: no table scan, no sort.
                assert re.search(r"SEARCH runs USING INDEX ix_runs_grid \(branch=\? AND builder=\? AND "
                                 r"(created|\(created,rowid\))<", plan), plan
                assert "TEMP B-TREE" not in plan, plan
            else:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                plan = cursor.fetchone()[0][0]["Plan"]
                nodes = list(_pg_nodes(plan))
                assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
                # The grid index walked backward from the page's edge, (created, id) in the
                # index condition: rows come in the page's order, nothing sorted.
                scans = [n for n in nodes if "Index" in n["Node Type"]]
                assert [(n["Node Type"], n["Index Name"], n["Scan Direction"]) for n in scans] == [
                    ("Index Scan", "ix_runs_grid", "Backward")], nodes
                assert "ROW(created, id) < ROW(" in scans[0]["Index Cond"], scans
                assert not [n for n in nodes if "Sort" in n["Node Type"]], nodes
                # The rows the index handed over: this page and the one that says "older" exists.
                assert scans[0]["Actual Rows"] <= PAGE_RUNS + 4, scans
        finally:
            raw.close()
    finally:
        store.close()


def _pg_nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _pg_nodes(child)
