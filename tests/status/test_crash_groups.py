"""The crash groups of the branch and crashes pages are bounded by runs (issue 16's margin):
the newest insight.CRASH_RUNS runs of the branch, their crashed and timed-out files."""

from __future__ import annotations

from emscripten_python.status import insight
from emscripten_python.status.ingest import ingest
from emscripten_python.status.web import create_app
from status_factory import make_run

OLD = "RangeError: Maximum call stack size exceeded"
NEW = "RuntimeError: memory access out of bounds\n    at wasm://wasm/0001"


def test_crash_groups_look_at_the_newest_runs_of_the_branch(store, monkeypatch):
    for h in range(3):   # an old crash, then runs that pass, then new crashes (and a PR build's)
        ingest(store, make_run(hours=h, files={"test_re": "crashed", "test_os": "passed"}, crash=OLD))
    for h in range(3, 9):
        ingest(store, make_run(hours=h))
    for h in range(9, 12):
        ingest(store, make_run(hours=h, files={"test_compile": "crashed", "test_os": "timed-out"}, crash=NEW))
    pr_run = make_run(hours=12, files={"test_compile": "crashed"}, crash=NEW)
    pr_run.origin["pr"] = 7
    ingest(store, pr_run)
    ingest(store, make_run(branch="main", hours=13, files={"test_re": "crashed"}, crash=OLD))
    client = create_app(store.url).test_client()

    def groups(path: str) -> str:
        html = client.get(path).get_data(as_text=True)
        start = html.index("<th>Signature</th>") if "<th>Signature</th>" in html else len(html)
        return html[start:html.index("</table>", start) if start < len(html) else start]

    def counts(table: str) -> dict[str, str]:
        rows = [row for row in table.split("<tr>")[1:]]
        return {row.split("<bdi>")[1].split("</bdi>")[0][:10]: row.split("</td><td>")[1].split("<")[0] for row in rows}

    every = groups("/branch/3.13.html")
    # main's RangeError is not 3.13's: 3 of them; 3 runs + the PR build of 3.13 crashed in test_compile.
    assert counts(every) == {"RangeError": "3", "RuntimeErr": "4", "timed out": "3"}

    monkeypatch.setattr(insight, "CRASH_RUNS", 10)          # the newest 10 runs of 3.13: hours 3..12
    recent = groups("/branch/3.13.html")
    assert counts(recent) == {"RuntimeErr": "4", "timed out": "3"}
    page = client.get("/branch/3.13.html").get_data(as_text=True)
    assert "files of the newest 10 runs (at most 5,000 files)" in page

    monkeypatch.setattr(insight, "CRASH_RUNS", 1)           # the store's newest run: main's crash
    assert "RangeError" in groups("/crashes.html") and "RuntimeError" not in groups("/crashes.html")
