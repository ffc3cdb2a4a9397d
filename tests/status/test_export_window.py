"""`status export` is bounded by its window (window.py), not by the history: a store of
5,000 runs, whose run pages link baselines back to the first run, exports a site whose
size the documented formula bounds, with no link to a file it does not hold."""

from __future__ import annotations

import re
from urllib.parse import unquote

from sqlalchemy import select

from emscripten_python.status import insight
from emscripten_python.status.export import export
from emscripten_python.status.ingest import ingest_many
from emscripten_python.status.models import CaseRow, FileRow, RunRow
from emscripten_python.status.store import Store
from emscripten_python.status.window import export_window
from status_factory import make_run

RUNS = 5000
LANES = (("main", "node"), ("3.13", "node"))
FIXED = 8   # index, pep11, flaky, crashes, api/{overview,pep11,flaky}.json, .nojekyll


def _history() -> list:
    """5,000 runs: two lanes, every 20th run a PR build of one of 50 PRs; test_os fails
    every 7th run and test_zlib crashes every 13th, so run pages have deltas and baselines."""
    runs = []
    for i in range(RUNS):
        branch, builder = LANES[i % 2]
        files = {"test_math": "passed", "test_os": "failed" if i % 7 == 0 else "passed",
                 "test_zlib": "crashed" if i % 13 == 0 else "passed"}
        run = make_run(branch=branch, builder=builder, hours=i / 4, files=files)
        if i % 20 == 0:
            run.source["branch"] = f"refs/pull/{1000 + i // 20 % 50}/merge"
            run.origin["base_branch"] = branch
        runs.append((run, {}, run.run_id))
    return runs


def _names_bound(session, window) -> int:
    """Test names the exported pages may link: the files and stored cases of the window's
    runs, and the crashed files of the crash lists' newest runs (insight.CRASH_RUNS)."""
    pks = select(RunRow.id).where(RunRow.run_id.in_(sorted(window.runs)))   # the window's run ids
    names = set(session.scalars(select(FileRow.name).where(FileRow.run_pk.in_(pks)).distinct()))
    names |= set(session.scalars(select(CaseRow.name).join(FileRow, CaseRow.file_pk == FileRow.id)
                                 .where(FileRow.run_pk.in_(pks)).distinct()))
    names |= set(session.scalars(select(FileRow.name).where(
        FileRow.run_pk.in_(insight.recent_runs(None, insight.CRASH_RUNS))).distinct()))
    return len(names)


def test_export_of_a_long_history_is_bounded_by_the_window(sqlite_url, tmp_path):
    store = Store(sqlite_url)
    try:
        runs = _history()
        for first in range(0, len(runs), 500):
            ingest_many(store, runs[first:first + 500])
        with store.reader() as session:
            window = export_window(session)
            names = _names_bound(session, window)
            branches = len(insight.branches(session))
    finally:
        store.close()
    lanes, prs = len(LANES), len(window.prs)
    assert prs == insight.RECENT_PRS
    assert len(window.runs) <= insight.WINDOW * (lanes + prs)

    site = tmp_path / "site"
    count = export(sqlite_url, site)
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert len(files) == count + 1   # + .nojekyll

    # The documented formula (docs/status.rst, export).
    bound = FIXED + 3 * branches + 2 * prs + 4 * len(window.runs) + names * (2 + 2 * lanes)
    assert len(files) <= bound, (len(files), bound)
    print(f"{RUNS} runs: window {len(window.runs)} runs, {len(files)} files (bound {bound})")
    run_pages = {f[len("run/"):-len(".html")] for f in files if f.startswith("run/")}
    assert run_pages <= set(window.runs) and len(run_pages) < RUNS / 20
    for compare in (f for f in files if f.startswith("compare/")):   # one way: the older run is the base
        base, head = compare[len("compare/"):-len(".html")].split("/")
        assert window.runs[base] < window.runs[head], compare
    assert not any(f.startswith("runs/") for f in files)   # no lane pager in a static copy

    # No link to a file the export does not hold, and the baselines outside the window are text.
    plain = 0
    for page in site.rglob("*.html"):
        text = page.read_text()
        for link in re.findall(r'(?:href|src)="([^"#:]+)"', text):
            assert (page.parent / unquote(link)).resolve().is_file(), (page, link)
        plain += len(re.findall(r"<a>run <bdi>[0-9a-f]{8}</bdi></a>", text))
    assert plain >= lanes   # the oldest run of each lane in the window: its baseline is not exported
