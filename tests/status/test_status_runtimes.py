"""A builder's history per runtime (node 20 / node 24 / chromium): issue 14 on the status pages."""

from __future__ import annotations

import re

from emscripten_python.results.model import TestFile
from emscripten_python.status import create_app
from emscripten_python.status.ingest import ingest
from status_factory import make_run

NODE20 = {"kind": "node", "name": "node", "version": "20.19.2", "path": "node", "flags": []}
NODE24 = {"kind": "node", "name": "node", "version": "24.11.1", "path": "node24", "flags": ["--experimental-wasm-jspi"]}
CHROMIUM = {"kind": "browser", "name": "chromium", "version": "142.0.7444.59", "page": "http://127.0.0.1/"}


def multi_runtime_run(hours: float, *, node24: str = "passed", chromium: str | None = "passed",
                      chromium_error: str | None = None, branch: str = "main", builder: str = "node"):
    run = make_run(branch=branch, builder=builder, hours=hours, files={"test_os": "passed", "test_math": "passed"})
    run.tests["runtime"] = NODE20
    run.runtimes = [{"runtime": NODE24, "selection": ["test_os"], "files": [TestFile("test_os", node24, tests_run=7)]}]
    if chromium is not None or chromium_error:
        section = {"runtime": CHROMIUM, "selection": ["test_os"],
                   "files": [] if chromium_error else [TestFile("test_os", chromium, tests_run=3,
                                                                crash="RuntimeError: unreachable")]}
        if chromium_error:
            section["error"] = chromium_error
        run.runtimes.append(section)
    run.decide_outcome()
    return run


def _cell(html: str, builder_column: int = 0) -> str:
    return re.findall(r'<td class="(?:green|red|pending)">(.*?)</td>', html, re.S)[builder_column]


def test_each_runtime_has_its_own_series(store):
    runs = [multi_runtime_run(i) for i in range(6)]
    runs.append(multi_runtime_run(6, node24="failed"))               # node 24 broke; node 20 and chromium fine
    runs.append(multi_runtime_run(7, node24="failed", chromium_error="chromium: page did not load"))
    for run in runs:
        ingest(store, run)
    client = create_app(store.url).test_client()

    data = client.get(f"/api/run/{runs[-1].run_id}.json").get_json()
    assert [(e["slug"], e["outcome"], e["files_total"], e["files_bad"], e["tests_run"]) for e in data["runtimes"]] == [
        ("node-20", "success", 2, 0, 20), ("node-24", "failure", 1, 1, 7), ("chromium", "error", 0, 0, 0)]
    assert [e["label"] for e in data["runtimes"]] == ["node 20.19.2", "node 24.11.1", "chromium 142.0.7444.59"]
    assert data["outcome"] == "error"

    branch = client.get("/api/branch/main.json").get_json()["builders"][0]
    series = {s["runtime"]: s for s in branch["by_runtime"]}
    assert list(series) == ["node-20", "node-24", "chromium"]
    assert series["node-20"]["state"] == "green" and series["node-20"]["pass_rate"] == 1.0
    assert series["node-24"]["state"] == "red" and series["node-24"]["pass_rate"] == 6 / 8
    assert series["chromium"]["state"] == "red" and series["chromium"]["last"]["outcome"] == "error"

    # Overview: the cell shows each runtime's state side by side.
    cell = _cell(client.get("/index.html").get_data(as_text=True))
    tags = re.findall(r'<span class="tag (\w+)" title="([^"]*)"><bdi>([\w.-]+)</bdi></span>', cell)
    assert [(state, slug) for state, _, slug in tags] == [("green", "node-20"), ("red", "node-24"),
                                                          ("red", "chromium")]
    assert tags[1][1].startswith("node 24.11.1: failure")

    # Branch page: one row per runtime with its own dots, each run's runtimes in the runs table.
    page = client.get("/branch/main.html").get_data(as_text=True)
    table = page[page.index("<th>Runtime</th>"):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr class="(\w+)"><td><bdi>([^<]*)</bdi></td>', table)
    assert rows == [("green", "node 20.19.2"), ("red", "node 24.11.1"), ("red", "chromium 142.0.7444.59")]
    node24_row = table[table.index("node 24.11.1"):table.index("chromium 142")]
    assert re.findall(r'class="dot (\w+)"', node24_row) == ["green"] * 6 + ["red"] * 2
    assert page.count('<bdi>chromium</bdi></span>') >= len(runs)    # the runs table: per run, side by side

    # Run page: per-runtime counts side by side.
    html = client.get(f"/run/{runs[-2].run_id}.html").get_data(as_text=True)
    side = html[html.index("<h2>Runtimes</h2>"):]
    side = side[:side.index("</table>")]
    assert re.findall(r"<th><bdi>([^<]*)</bdi></th>", side) == ["node 20.19.2", "node 24.11.1",
                                                                 "chromium 142.0.7444.59"]
    assert re.findall(r"<tr><th>Outcome</th>(.*?)</tr>", side)[0].count("</td>") == 3
    assert re.findall(r"<tr><th>Bad</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", side) == [("0", "1", "0")]
    assert re.findall(r"<tr><th>Tests run</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", side) == [("20", "7", "3")]


def test_a_run_without_runtimes_is_one_series(store):
    for i in range(3):
        ingest(store, make_run(branch="main", builder="node", hours=i))
    client = create_app(store.url).test_client()
    assert client.get("/api/branch/main.json").get_json()["builders"][0]["by_runtime"] == []
    assert "<th>Runtime</th>" not in client.get("/branch/main.html").get_data(as_text=True)
    run = make_run(branch="main", builder="node", hours=4)
    run.tests["runtime"] = NODE20             # one runtime named: stored, still one series
    ingest(store, run)
    data = client.get(f"/api/run/{run.run_id}.json").get_json()
    assert [e["slug"] for e in data["runtimes"]] == ["node-20"]
    assert "<h2>Runtimes</h2>" not in client.get(f"/run/{run.run_id}.html").get_data(as_text=True)
    assert client.get("/api/branch/main.json").get_json()["builders"][0]["by_runtime"] == []


def test_runtime_records_from_a_fork_are_plain_on_the_page(store):
    run = multi_runtime_run(0)
    run.runtimes[1]["runtime"] = {"kind": "browser", "name": "<script>alert(1)</script>\u202e",
                                  "version": "1\"><img src=x onerror=alert(1)>"}
    ingest(store, run)
    client = create_app(store.url).test_client()
    for path in ("/index.html", "/branch/main.html", f"/run/{run.run_id}.html"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "\u202e" not in html, path
