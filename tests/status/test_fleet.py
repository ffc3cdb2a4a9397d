"""The store at fleet scale: PR builds apart from branch builds, which builders count for
PEP 11, bounded queries per page, headers and bidi isolation, export of awkward ids."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event, insert

from emscripten_python.status import create_app
from emscripten_python.status.export import export
from emscripten_python.status.ingest import ingest
from emscripten_python.status.models import RunRow
from status_factory import make_run


def _pr_run(number: int, base: str | None = "3.13", ref: str = "merge", **kwargs):
    run = make_run(branch=f"refs/pull/{number}/{ref}", **kwargs)
    if base is not None:
        run.origin["base_branch"] = base
    return run


@pytest.fixture
def fleet(store):
    """3.13 green on two Buildbot builders; many red PR builds against 3.13; a red GitHub
    Actions job and a red local run on 3.13 (neither is Tier 3 by default)."""
    for i in range(12):
        for builder in ("node", "browser"):
            ingest(store, make_run(branch="3.13", builder=builder, hours=i))
    for n in range(30):
        ingest(store, _pr_run(1000 + n, hours=20 + n, files={"test_os": "failed"}))
    ingest(store, _pr_run(77, base=None, ref="head", hours=60, files={"test_os": "failed"}))
    gha = make_run(branch="3.13", builder="GitHub Actions", hours=30, files={"test_os": "failed"})
    gha.origin["kind"] = "github-actions"
    ingest(store, gha)
    local = make_run(branch="3.13", builder="laptop", hours=31, files={"test_os": "failed"})
    local.origin["kind"] = "local"
    ingest(store, local)
    return store


@pytest.fixture
def client(fleet):
    return create_app(fleet.url).test_client()


def test_pr_builds_are_filed_under_their_pr_and_base_branch(fleet):
    with fleet.reader() as session:
        rows = {r.pr: r.branch for r in session.query(RunRow).filter(RunRow.pr.is_not(None))}
    assert rows[1000] == "3.13" and rows[77] == "refs/pull/77/head"   # base unknown: filed under its ref
    assert len(rows) == 31


def test_pr_builds_never_reach_the_grid_the_verdict_or_the_badge(client):
    grid = client.get("/api/overview.json").get_json()
    assert grid["branches"] == ["3.13"]
    assert {c["builder"] for c in grid["cells"]} == {"node", "browser", "GitHub Actions", "laptop"}
    assert next(c for c in grid["cells"] if c["builder"] == "node")["state"] == "green"
    html = client.get("/index.html").get_data(as_text=True)
    assert "refs/pull" not in html.split("<h2>Pull requests</h2>")[0]
    # The newest pull requests are listed below the grid, linked to their pages.
    assert [p["pr"] for p in grid["pull_requests"]][:3] == [77, 1029, 1028] and len(grid["pull_requests"]) == 10
    assert 'href="pr/1029.html"' in html
    pep11 = client.get("/api/pep11.json").get_json()["branches"]
    assert pep11 == [{"branch": "3.13", "stable": True, "builders": [
        {"builder": "browser", "stable": True, "last": ["success"] * 10},
        {"builder": "node", "stable": True, "last": ["success"] * 10}]}]
    assert "passing, stable" in client.get("/badge/3.13.svg").get_data(as_text=True)
    assert client.get("/badge/refs/pull/77/head.svg").status_code == 404
    assert client.get("/branch/refs/pull/1000/merge.html").status_code == 404


def test_each_pr_has_its_page(client):
    page = client.get("/pr/1005.html")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Pull request #1005" in html and "failure" in html and "base <bdi>3.13</bdi>" in html
    data = client.get("/api/pr/1005.json").get_json()
    assert data["pr"] == 1005 and data["base_branch"] == "3.13" and data["runs"][0]["outcome"] == "failure"
    run_id = data["runs"][0]["run_id"]
    assert 'href="../pr/1005.html"' in client.get(f"/run/{run_id}.html").get_data(as_text=True)
    assert client.get("/pr/4242.html").status_code == 404


def test_configured_tier3_builders_decide_the_verdict(fleet):
    only_gha = create_app(fleet.url, tier3_builders=["GitHub Actions", "node"]).test_client()
    pep11 = only_gha.get("/api/pep11.json").get_json()["branches"]
    assert [b["builder"] for b in pep11[0]["builders"]] == ["GitHub Actions", "node"]
    assert pep11[0]["stable"] is False
    assert "failing" in only_gha.get("/badge/3.13.svg").get_data(as_text=True)
    assert only_gha.get("/api/overview.json").get_json()["tier3_builders"] == ["GitHub Actions", "node"]


def test_tier3_builders_from_the_environment(fleet, monkeypatch):
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_TIER3_BUILDERS", " laptop , ")
    client = create_app(fleet.url).test_client()
    assert [b["builder"] for b in client.get("/api/pep11.json").get_json()["branches"][0]["builders"]] == ["laptop"]


def test_api_run_is_a_fixed_number_of_queries(store):
    small = make_run(files={f"test_{i}": "failed" for i in range(3)})
    large = make_run(files={f"test_{i}": "failed" for i in range(120)})
    ingest(store, small)
    ingest(store, large)
    app = create_app(store.url)
    counted = []
    engine = app.extensions["emscripten_python_status"].engine
    event.listen(engine, "before_cursor_execute", lambda *args: counted.append(args[2]))
    client = app.test_client()
    sizes = {}
    for run in (small, large):
        counted.clear()
        data = client.get(f"/api/run/{run.run_id}.json").get_json()
        sizes[len(data["files"])] = sum(s.lstrip().upper().startswith("SELECT") for s in counted)
        assert sum(len(f["cases"]) for f in data["files"]) == len(data["files"])
    assert sizes == {3: 3, 120: 3}, sizes   # the run, its files, their cases


def test_security_headers_and_badge_caching(client):
    page = client.get("/index.html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    badge = client.get("/badge/3.13.svg")
    assert "no-cache" in badge.headers["Cache-Control"] and "max-age=0" in badge.headers["Cache-Control"]
    assert badge.headers["X-Frame-Options"] == "DENY"


BIDI = "\u202e\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d"


def test_direction_controls_are_stripped_and_names_isolated(store):
    run = make_run(branch="3.14", builder="node", commit_message=f"gh-1: \u202eevil\u202c",
                   files={f"test_os": "failed"}, case_name="test.test_os.T.test_\u202etxt.exe",
                   crash="boom \u2067RTL\u2069")
    run.tests["files"][0].cases[1].message = "AssertionError: \u202egnp.exe"
    ingest(store, run)
    client = create_app(store.url).test_client()
    for path in ("/index.html", "/branch/3.14.html", f"/run/{run.run_id}.html", "/flaky.html", "/crashes.html",
                 f"/api/run/{run.run_id}.json"):
        text = client.get(path).get_data(as_text=True)
        if path.endswith(".html"):
            assert not re.search(f"[{BIDI}]", text), path
        else:
            assert "\u202e" in json.loads(text)["files"][0]["cases"][0]["name"]   # the data itself is kept
    html = client.get(f"/run/{run.run_id}.html").get_data(as_text=True)
    assert "<bdi>test.test_os.T.test_txt.exe</bdi>" in html and "<bdi>AssertionError: gnp.exe</bdi>" in html
    assert "<bdi>node</bdi>" in client.get("/index.html").get_data(as_text=True)


def test_bidi_controls_in_a_branch_or_builder_are_refused(store):
    from emscripten_python.errors import ResultsError
    with pytest.raises(ResultsError, match="branch: .* control or format characters"):
        ingest(store, make_run(branch="ma\u202ein"))
    with pytest.raises(ResultsError, match="builder: .* direction controls"):
        ingest(store, make_run(builder="no\u2067de"))


def test_export_of_awkward_ids_succeeds(store, tmp_path):
    """An id the validation allows but a file system or a URL makes awkward, and ids a store
    written before the validation may hold (slash, query, fragment, percent, spaces)."""
    runs = [make_run(run_id="-1..x.html", hours=1), make_run(run_id="A.B_c-D", hours=2),
            make_run(branch="feature/x-1.2", hours=3)]
    for run in runs:
        ingest(store, run)
    legacy = ["gh/123/1", "build #7 ?a=b&c 100% \u00fc"]
    with store.writer() as session, session.begin():
        base = {c.name: getattr(r, c.name) for r in [session.query(RunRow).first()] for c in RunRow.__table__.columns
                if c.name not in ("id", "run_id")}
        for n, run_id in enumerate(legacy):
            session.execute(insert(RunRow).values({**base, "run_id": run_id, "digest": f"legacy{n}"}))
    site = tmp_path / "site"
    count = export(store.url, site)
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert len(files) == count + 1
    for run_id in ["-1..x.html", "A.B_c-D", *legacy]:
        assert f"run/{run_id}.html" in files and f"api/run/{run_id}.json" in files, run_id
        assert json.loads((site / "api" / "run" / f"{run_id}.json").read_text())["run_id"] == run_id
    assert "branch/feature/x-1.2.html" in files
    from urllib.parse import unquote
    for page in site.rglob("*.html"):   # every relative link points to an exported file
        for link in re.findall(r'(?:href|src)="([^"#:]+)"', page.read_text()):
            assert (page.parent / unquote(link)).resolve().is_file(), (page, link)


def test_every_runtime_of_a_run_is_stored_under_its_own_name(store):
    """A run tested under node and chromium (results.json `runtimes`): the browser's files are
    stored as chromium/<name>, so their crashes and history stay apart from node's."""
    from emscripten_python.results.model import TestFile

    run = make_run(files={"test_os": "passed", "test_math": "passed"})
    run.tests["runtime"] = {"kind": "node", "name": "node", "version": "20.19.2"}
    run.runtimes = [{"runtime": {"kind": "browser", "name": "chromium", "version": "142.0"},
                     "selection": [], "files": [TestFile("test_os", "crashed", crash="RuntimeError: unreachable"),
                                                TestFile("test_math", "passed")]}]
    run.decide_outcome()
    ingest(store, run)
    client = create_app(store.url).test_client()
    data = client.get(f"/api/run/{run.run_id}.json").get_json()
    assert {f["name"]: f["outcome"] for f in data["files"]} == {
        "test_os": "passed", "test_math": "passed", "chromium/test_os": "crashed", "chromium/test_math": "passed"}
    assert data["files_total"] == 4 and data["files_crashed"] == 1 and data["outcome"] == "failure"
    assert "chromium/test_os" in client.get("/crashes.html").get_data(as_text=True)
