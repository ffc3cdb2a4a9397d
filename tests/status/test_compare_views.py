"""The "what changed" pages: the delta on a run page, the compare page, one test's history."""

from __future__ import annotations

import html
import re

import pytest

from emscripten_python.status.compare_views import from_slug, test_slug as slug_of
from emscripten_python.status.ingest import ingest
from emscripten_python.status.store import Store
from emscripten_python.status.web import create_app
from status_factory import make_run

EVIL = "test.test_os.T.test_<script>alert(1)</script>"


@pytest.fixture
def history(db_url):
    """One lane: passing, then test_os failing from the third run on, then test_zlib crashes.
    On SQLite and on PostgreSQL (db_url)."""
    url = db_url
    store = Store(url)
    runs = [make_run(hours=0, commit="c0" * 20, files={"test_math": "passed", "test_os": "passed"}),
            make_run(hours=1, commit="c1" * 20, files={"test_math": "passed", "test_os": "passed"}),
            make_run(hours=2, commit="c2" * 20, files={"test_math": "passed", "test_os": "failed"}),
            make_run(hours=3, commit="c3" * 20, files={"test_math": "passed", "test_os": "failed",
                                                       "test_zlib": "crashed"}),
            make_run(hours=4, commit="c4" * 20, files={"test_math": "passed", "test_os": "failed"},
                     case_name=EVIL),
            make_run(hours=5, outcome="pending", files={})]
    try:
        for run in runs:
            ingest(store, run)
    finally:
        store.close()
    return create_app(url).test_client(), runs


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_run_page_leads_with_its_delta_against_the_baseline(history):
    client, runs = history
    text = page(client, f"/run/{runs[2].run_id}.html")
    what = text[text.index("<h2>What changed</h2>"):text.index("<h2>Stages")]
    assert "1 new failure vs 3.13 @c1c1c1c" in what
    assert f'href="../run/{runs[1].run_id}.html"' in what
    assert f'href="../compare/{runs[1].run_id}/{runs[2].run_id}.html">compare page' in what
    assert 'href="../test/test.test_os.WalkTests.test_walk_symlink.html"' in what
    # The first run has no earlier one: it says so.
    first = page(client, f"/run/{runs[0].run_id}.html")
    assert "No baseline: <bdi>no completed run of emscripten node on 3.13 before this one" in first


def test_new_crash_and_known_failure_on_the_next_run(history):
    client, runs = history
    text = page(client, f"/run/{runs[3].run_id}.html")
    assert "1 new failure vs 3.13 @c2c2c2c (1 crash), 1 known failure unchanged" in text
    assert "New crashes (1)" in text and "RuntimeError: memory access out of bounds" in text


def test_compare_page_between_any_two_runs_escapes_test_names(history):
    client, runs = history
    text = page(client, f"/compare/{runs[0].run_id}/{runs[4].run_id}.html")
    assert "New failures (1)" in text and "<script>alert(1)</script>" not in text
    assert html.escape(EVIL, quote=False) in text
    assert f'href="../../run/{runs[4].run_id}.html"' in text
    data = client.get(f"/api/compare/{runs[0].run_id[:10]}/{runs[4].run_id}.json").get_json()
    assert data["base"]["run_id"] == runs[0].run_id and data["head"]["run_id"] == runs[4].run_id
    assert [(c["kind"], c["test"]) for c in data["changes"]] == [("new-failure", EVIL)]
    assert client.get(f"/compare/{runs[0].run_id}/{'f' * 32}.html").status_code == 404
    # The name links to its history through a safe, reversible slug.
    slug = slug_of(EVIL)
    assert "/" not in slug and "<" not in slug and from_slug(slug) == EVIL
    assert f'href="../../test/{slug}.html"' in text
    history_page = page(client, f"/test/{slug}.html")
    assert "<script>alert(1)</script>" not in history_page and "Now: <strong>failed</strong>" in history_page


def test_test_history_first_failed_and_last_passed(history):
    client, runs = history
    text = page(client, "/test/test_os.html")
    assert f'First failed at <a href="../run/{runs[2].run_id}.html">run <bdi>{runs[2].run_id[:8]}</bdi></a>' in text
    assert "commit <code><bdi>c2c2c2c2c2c2</bdi></code>" in text
    assert f'Last passed in <a href="../run/{runs[1].run_id}.html">' in text
    assert f'href="../compare/{runs[1].run_id}/{runs[2].run_id}.html">What changed between them' in text
    # Every build dot is a link to its run; the pending run is not one of them.
    assert text.count('class="red" href="../run/') == 3 and text.count('class="green" href="../run/') == 2
    assert runs[5].run_id not in text
    data = client.get("/api/test/test.test_os.WalkTests.test_walk_symlink.json").get_json()
    assert slug_of("test.test_os.WalkTests.test_walk_symlink") == "test.test_os.WalkTests.test_walk_symlink"
    (lane,) = data["history"]
    assert [e["state"] for e in lane["runs"]] == ["passed", "failed", "failed", "passed", "passed"]
    assert lane["first_failed"] is None and lane["last_passed"]["run_id"] == runs[4].run_id
    assert client.get("/test/test_nothing_like_it.html").status_code == 404


def test_overview_names_what_fails_links_every_dot_and_never_shows_pending_green(history):
    client, runs = history
    text = page(client, "/index.html")
    # The newest run is pending: its tag is grey, never green.
    assert '<span class="tag pending">pending</span>' in text
    assert '1 failing: <span class="names"><a href="test/test_os.html"><bdi>test_os</bdi></a></span>' in text
    dots = re.findall(r'<a class="dot (\w+)" href="run/(\w+)\.html"', text)
    assert [state for state, _ in dots] == ["green", "green", "red", "red", "red"]
    assert [run_id for _, run_id in dots] == [r.run_id for r in runs[:5]]
    assert "Generated at 20" in text


def test_branch_page_lists_failing_files_next_to_the_count(history):
    client, runs = history
    text = page(client, "/branch/3.13.html")
    row = text[text.index(f"run/{runs[3].run_id}.html"):]
    row = row[:row.index("</tr>")]
    assert '<a href="../test/test_os.html"><bdi>test_os</bdi></a>, <a href="../test/test_zlib.html">' in row


def test_crashes_grouped_by_signature_with_counts_and_first_seen(sqlite_url):
    store = Store(sqlite_url)
    runs = [make_run(hours=h, files={"test_compile": "crashed", "test_os": "passed"},
                     crash=f"RuntimeError: memory access out of bounds\n    at wasm://wasm/{h:08x}") for h in range(3)]
    runs.append(make_run(hours=3, files={"test_compile": "passed", "test_os": "crashed"},
                         crash="RangeError: Maximum call stack size exceeded"))
    runs.append(make_run(hours=4, files={"test_compile": "crashed", "test_os": "passed"},
                         crash="RuntimeError: memory access out of bounds\n    at wasm://wasm/0001"))
    try:
        for run in runs:
            ingest(store, run)
    finally:
        store.close()
    client = create_app(sqlite_url).test_client()
    text = page(client, "/crashes.html")
    table = text[text.index("<h2>By signature</h2>"):text.index("<h2>Newest</h2>")]
    rows = table.split("<tr>")[2:]
    assert "RuntimeError: memory access out of bounds" in rows[0] and "<td>4</td>" in rows[0]
    assert '<bdi>test_compile</bdi></a> (4)' in rows[0]
    assert f'href="run/{runs[0].run_id}.html"' in rows[0] and f'href="run/{runs[4].run_id}.html"' in rows[0]
    assert "RangeError: Maximum call stack size exceeded" in rows[1] and "<td>1</td>" in rows[1]
    branch = page(client, "/branch/3.13.html")
    assert "RuntimeError: memory access out of bounds" in branch and "<td>4</td>" in branch


def test_older_history_is_reachable_page_by_page(sqlite_url, tmp_path):
    store = Store(sqlite_url)
    runs = [make_run(hours=h, builder="node 20", commit=f"{h:040x}") for h in range(120)]
    try:
        for run in runs:
            ingest(store, run)
    finally:
        store.close()
    client = create_app(sqlite_url).test_client()
    branch = page(client, "/branch/3.13.html")
    assert 'href="../runs/3.13/node~2020/index.html">Every run of <bdi>node 20</bdi>, page by page' in branch
    first = page(client, "/runs/3.13/node~2020/index.html")
    assert f"run/{runs[119].run_id}.html" in first and f"run/{runs[70].run_id}.html" in first
    assert f"run/{runs[69].run_id}.html" not in first and "newer" not in first
    assert f'href="../../../runs/3.13/node~2020/older/{runs[70].run_id}.html">older →' in first
    second = page(client, f"/runs/3.13/node~2020/older/{runs[70].run_id}.html")
    assert f"run/{runs[69].run_id}.html" in second and f"run/{runs[20].run_id}.html" in second
    assert f"run/{runs[70].run_id}.html" not in second and f"run/{runs[19].run_id}.html" not in second
    assert f'href="../../../../runs/3.13/node~2020/newer/{runs[69].run_id}.html">← newer' in second
    assert f'href="../../../../runs/3.13/node~2020/older/{runs[20].run_id}.html">older →' in second
    assert 'href="../../../../runs/3.13/node~2020/index.html">« newest' in second
    # The static export keeps the newest runs of each lane (the branch page): no pager there.
    from emscripten_python.status.export import export
    site = tmp_path / "site"
    export(sqlite_url, site)
    assert (site / "branch" / "3.13.html").is_file() and not (site / "runs").exists()
    assert "Generated at 20" in (site / "index.html").read_text()
    last = page(client, f"/runs/3.13/node~2020/older/{runs[20].run_id}.html")
    assert f"run/{runs[0].run_id}.html" in last and "older →" not in last
    back = page(client, f"/runs/3.13/node~2020/newer/{runs[19].run_id}.html")
    assert f"run/{runs[20].run_id}.html" in back and f"run/{runs[69].run_id}.html" in back
    assert f"run/{runs[70].run_id}.html" not in back and f"run/{runs[19].run_id}.html" not in back
    assert client.get(f"/runs/3.13/node~2020/older/{runs[0].run_id}.html").status_code == 404
    assert client.get("/runs/3.13/nobody/index.html").status_code == 404
    assert client.get(f"/runs/3.13/nobody/older/{runs[5].run_id}.html").status_code == 404   # not its lane
    assert client.get("/runs/3.13/node~2020/older/nope.html").status_code == 404


def test_run_page_links_commit_pr_and_stage_logs(sqlite_url):
    store = Store(sqlite_url)
    gha = make_run(hours=1, commit="4b1c0a7d9e2f" * 3 + "abcd",
                   build_url="https://github.com/python/cpython/actions/runs/123/job/4")
    gha.origin["pr"] = 4242
    other = make_run(hours=2, builder="bb", build_url="https://buildbot.python.org/#/builders/3/builds/7")
    try:
        ingest(store, gha)
        ingest(store, other)
    finally:
        store.close()
    client = create_app(sqlite_url).test_client()
    text = page(client, f"/run/{gha.run_id}.html")
    assert f'<a href="https://github.com/python/cpython/commit/{gha.source["commit"]}" rel="nofollow">' in text
    assert '<a href="https://github.com/python/cpython/pull/4242" rel="nofollow">PR #4242</a>' in text
    assert ('<a href="https://github.com/python/cpython/actions/runs/123/job/4" rel="nofollow" '
            'title="in the build\'s logs"><bdi>logs/test.log</bdi></a>') in text
    text = page(client, f"/run/{other.run_id}.html")
    assert "github.com" not in text and 'title="in the build\'s logs"><bdi>logs/build.log' in text


def test_flaky_page_has_one_row_per_test_file_with_its_lanes(sqlite_url):
    store = Store(sqlite_url)
    try:
        for builder in ("node", "browser", "node 24"):
            for hour in range(4):
                files = {"test_math": "passed", "test_threading": "flaky" if hour % 2 else "passed"}
                ingest(store, make_run(builder=builder, hours=hour, files=files))
    finally:
        store.close()
    client = create_app(sqlite_url).test_client()
    text = page(client, "/flaky.html")
    assert text.count('<bdi>test_threading</bdi></a>') == 1
    assert '<td rowspan="3"><a href="test/test_threading.html"><bdi>test_threading</bdi></a><br>' \
           '<span class="muted">on 3 lanes</span>' in text
    assert all(f"<bdi>{b}</bdi></td>" in text for b in ("node", "browser", "node 24"))
