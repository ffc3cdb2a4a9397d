"""The status app: pages, JSON API, badges, read-only, escaping, static export."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest

from emscripten_python.status import create_app
from emscripten_python.status.export import export
from emscripten_python.status.ingest import ingest
from emscripten_python.status.bisections import record_bisection
from status_factory import make_bisection, make_run, write_bisection

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def seeded(store, tmp_path):
    """3.13 red on one builder, main green and stable, a flaky test, a crash, hostile text
    (in runs, and in a recorded bisection of test_os on 3.13)."""
    runs = []
    for i in range(12):
        runs.append(make_run(branch="main", builder="node", hours=i,
                             files={"test_math": "passed", "test_os": "flaky" if i == 5 else "passed"}))
    runs.append(make_run(branch="3.13", builder="node", hours=1))
    runs.append(make_run(branch="3.13", builder="node", hours=2, commit_message=f"gh-1: {XSS}",
                         files={"test_os": "failed", f"test_{XSS}": "crashed"}, case_name=f"test.{XSS}",
                         crash=f"RuntimeError: {XSS}", build_url="javascript:alert(1)"))
    runs.append(make_run(branch="3.13", builder="browser", hours=2))
    for run in runs:
        ingest(store, run)
    bisection = make_bisection(subject=f"gh-2: {XSS}", author=XSS, builder=f"node {XSS}", from_run=runs[-2].run_id)
    bisection["suspects"] = [{"commit": "abc1234", "subject": XSS}]
    record_bisection(write_bisection(bisection, tmp_path), store.url, build_url="javascript:alert(1)")
    return store, runs


@pytest.fixture
def client(seeded):
    return create_app(seeded[0].url).test_client()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("href", "src") and v and not v.startswith(("http", "#", "data:"))]


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def test_every_page_renders_and_every_link_resolves(client, seeded):
    seen, queue = set(), ["/index.html"]
    while queue:
        path = queue.pop()
        response = client.get(path)
        assert response.status_code == 200, (path, response.headers.get("Location"))
        if path.endswith(".html"):
            for link in _links(response.get_data(as_text=True)):
                target = urljoin("http://h" + path, link)[len("http://h"):]
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
    red_run = seeded[1][-2].run_id
    for page in ("/index.html", "/pep11.html", "/flaky.html", "/crashes.html", "/branch/main.html",
                 "/branch/3.13.html", f"/run/{red_run}.html", "/badge/main.svg", "/api/overview.json"):
        assert page in seen


def test_overview_content(client):
    html = client.get("/").get_data(as_text=True)
    assert "main" in html and "3.13" in html and "browser" in html
    assert "green for 12 runs" in html and "red for 1 run" in html
    assert "last 10 finished builds are all green" in html   # the PEP 11 rule, stated


def test_run_detail_shows_failures_crashes_and_artifacts(client, seeded):
    html = client.get(f"/run/{seeded[1][-2].run_id}.html").get_data(as_text=True)
    assert "Crashes (1)" in html and "Failures (1)" in html
    assert "AssertionError: boom" in html and "emscripten-python-3.13.15.tar.gz" in html


def test_hostile_text_is_escaped_everywhere(client, seeded):
    red_run = seeded[1][-2].run_id
    for page in ("/index.html", "/branch/3.13.html", f"/run/{red_run}.html", "/crashes.html", "/flaky.html",
                 "/test/test_os.html"):
        html = client.get(page).get_data(as_text=True)
        assert "<script>" not in html and "<img src=x" not in html, page
        assert 'href="javascript:' not in html, page
    for page in ("/branch/3.13.html", "/test/test_os.html"):    # the bisection's subject, author, builder
        html = client.get(page).get_data(as_text=True)
        assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") >= 3, page
    html = client.get(f"/run/{red_run}.html").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html       # shown, as text
    assert 'href="javascript:' not in html                                 # a non-web URL is not a link
    assert "default-src 'none'" in client.get("/").headers["Content-Security-Policy"]


def test_badge_escapes_and_says_state(client, store):
    ingest(store, make_run(branch="<b>&", builder="node"))
    main, hostile = client.get("/badge/main.svg"), client.get("/badge/<b>&.svg")
    assert main.mimetype == "image/svg+xml" and "passing, stable" in main.get_data(as_text=True)
    assert "failing" in client.get("/badge/3.13.svg").get_data(as_text=True)
    assert "&lt;b&gt;&amp;" in hostile.get_data(as_text=True) and "<b>" not in hostile.get_data(as_text=True)


def test_json_api(client, seeded):
    overview = client.get("/api/overview.json").get_json()
    cells = {(c["branch"], c["builder"]): c for c in overview["cells"]}
    assert cells[("main", "node")]["stable"] is True and cells[("3.13", "node")]["state"] == "red"
    run = client.get(f"/api/run/{seeded[1][-2].run_id}.json").get_json()
    assert {f["outcome"] for f in run["files"]} == {"failed", "crashed"}
    flaky = client.get("/api/flaky.json").get_json()
    assert [t["test"] for t in flaky["tests"]] == ["test_os"] and "flaky" in flaky["rule"]
    pep11 = {b["branch"]: b["stable"] for b in client.get("/api/pep11.json").get_json()["branches"]}
    assert pep11 == {"main": True, "3.13": False}
    assert len(client.get("/api/branch/main.json").get_json()["builders"][0]["runs"]) == 12


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
@pytest.mark.parametrize("path", ["/", "/index.html", "/api/overview.json", "/badge/main.svg"])
def test_public_endpoints_are_read_only(client, method, path):
    assert getattr(client, method)(path, data={"x": "1"}).status_code == 405


def test_unknown_things_are_404(client):
    for path in ("/run/nope.html", "/branch/nope.html", "/api/run/nope.json", "/badge/nope.svg"):
        assert client.get(path).status_code == 404


def test_empty_store_says_how_to_fill_it(sqlite_url):
    html = create_app(sqlite_url).test_client().get("/").get_data(as_text=True)
    assert "status ingest" in html


def test_export_writes_a_static_site(seeded, tmp_path):
    count = export(seeded[0].url, tmp_path / "site")
    site = tmp_path / "site"
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert len(files) == count + 1   # + .nojekyll
    assert {"index.html", "pep11.html", "flaky.html", "branch/main.html", "badge/main.svg",
            "api/overview.json", f"run/{seeded[1][-2].run_id}.html"} <= files
    assert json.loads((site / "api" / "overview.json").read_text())["branches"] == ["main", "3.13"]
    for page in site.rglob("*.html"):   # every relative link points to an exported file
        for link in _links(page.read_text()):
            assert (page.parent / link).resolve().is_file(), (page, link)
