"""Status pages for "what changed": the delta of a run, a compare page, one test's history.

Registered on the status app by ``register(app)`` (web.py). URLs look like files, as every
other page does, so ``status export`` can save them:

* ``compare/<base>/<head>.html`` and ``api/compare/<base>/<head>.json``: two stored runs
  compared with ``emscripten_python.results.compare`` (the same rules as ``emscripten-python compare``).
* ``test/<slug>.html`` and ``api/test/<slug>.json``: one test file or test case on every
  branch × builder that ran it recently: first failed at run X / commit Y, last passed,
  and the recorded bisections of its file (bisections.py): the culprit commit
  (``test_slug``: the name with every character outside ``[A-Za-z0-9._-]`` as ``~XX``).
* ``runs/<branch>/<builder>/index.html``, ``…/older/<run>.html``, ``…/newer/<run>.html``:
  a lane's branch builds, PAGE_RUNS a page, the newest first (names as ``test_slug``).
* ``run_delta(run)`` for the run page: the run against its baseline (the latest completed
  branch build of the same builder on the same branch before it).
"""

from __future__ import annotations

import re

from flask import Flask, abort, g, jsonify, render_template, request

from datetime import datetime, timezone

from sqlalchemy import select, tuple_

from ..results.compare import KINDS, Comparison, compare, crash_signature
from ..results.model import BAD_FILE_OUTCOMES
from . import bisections, insight
from .history import TestHistory, baseline_for, find_run, run_from_row, test_history
from .models import FileRow, RunRow
from .window import EXPORT_ENV

HISTORY_RUNS = 50          # per branch × builder on a test's page
PAGE_RUNS = 50             # runs per page of a lane's older history
SECTIONS = (("new-crash", "New crashes"), ("new-failure", "New failures"),
            ("unexpectedly-passing", "Unexpectedly passing"), ("newly-flaky", "Newly flaky"),
            ("newly-skipped", "Newly skipped"), ("fixed", "Fixed"))
FOLDED = ((("still-failing", "still-crashing"), "Known failures, unchanged"), (("added",), "Added"),
          (("removed",), "Removed"))


_PLAIN = re.compile(r"[A-Za-z0-9._-]")


def test_slug(name: str) -> str:
    """A name as one safe path segment: unittest ids stay as they are, every other byte
    is ``~XX`` (no ``/``, ``%`` or markup in a URL or an exported file name; reversible).
    A name of dots only is escaped too: "." and ".." would be dot segments."""
    if not name.strip("."):
        return "~2E" * len(name)
    return "".join(ch if _PLAIN.fullmatch(ch) else "".join(f"~{b:02X}" for b in ch.encode()) for ch in name)


def from_slug(slug: str) -> str:
    try:
        return re.sub(rb"~([0-9A-F]{2})", lambda m: bytes([int(m[1], 16)]), slug.encode()).decode()
    except UnicodeDecodeError:
        abort(404)


def compare_rows(session, base: RunRow, head: RunRow) -> Comparison:
    return compare(run_from_row(session, base), run_from_row(session, head))


def run_delta(run: RunRow) -> dict:
    """{"comparison", "base"} for the run page; comparison None (and why) without a baseline."""
    head = run_from_row(g.session, run)
    if not head.test_files:
        return {"comparison": None, "base": None, "why": "this run has no test results"}
    base, why = baseline_for(g.session, head)
    if base is None:
        return {"comparison": None, "base": None, "why": why}
    return {"comparison": compare(base, head), "base": find_run(g.session, base.run_id), "why": why}


def _history_json(history: TestHistory) -> dict:
    def entry(e):
        return e and {**e, "created": e["created"].isoformat(timespec="seconds") + "Z"}
    return {"test": history.test, "branch": history.branch, "builder": history.builder,
            "first_failed": entry(history.first_failed), "last_passed": entry(history.last_passed),
            "runs": [entry(e) for e in history.runs]}


def test_histories(session, test: str) -> list[TestHistory]:
    """The test's history on every branch × builder whose recent branch builds ran it."""
    found = [test_history(session, test, builder=builder, branch=branch, limit=HISTORY_RUNS)
             for branch, builder in insight.groups(session)]
    return [h for h in found if h.runs]


MAX_NAMES = 8             # failing file names shown next to a count


def failing_files(runs) -> dict[int, list[str]]:
    """Run pk -> the names of its failed, crashed, timed-out or env-changed files: one query
    for a table of runs, so every count of bad files can say which files they are."""
    pks = [r.id for r in runs if r is not None and getattr(r, "files_bad", 1)]
    found: dict[int, list[str]] = {}
    if pks:
        query = (select(FileRow.run_pk, FileRow.name).where(FileRow.run_pk.in_(pks),
                                                             FileRow.outcome.in_(sorted(BAD_FILE_OUTCOMES)))
                 .order_by(FileRow.run_pk, FileRow.name))
        for run_pk, name in g.session.execute(query):
            found.setdefault(run_pk, []).append(name)
    return found


CRASH_SCAN = 5000         # at most this many crashed or timed-out files of those runs


def crash_groups(branch: str | None = None, runs: int | None = None) -> list[dict]:
    """Crashes grouped by signature (compare.crash_signature: the error line, numbers and
    addresses blurred), most frequent first: count, files, first and last seen; over the
    crashed and timed-out files of the newest `runs` (insight.CRASH_RUNS) runs of `branch`
    (or of the store), at most CRASH_SCAN of them. Bounded by runs, not by every crash the
    store (or the branch) ever had: the runs by ix_runs_created, their crashed files by
    ix_test_files_run_outcome, never a join over all crashes sorted by date."""
    query = (select(FileRow.name, FileRow.outcome, FileRow.crash, FileRow.log_excerpt, RunRow.run_id,
                    RunRow.created, RunRow.branch, RunRow.builder)
             .join(RunRow, FileRow.run_pk == RunRow.id)
             .where(FileRow.outcome.in_(("crashed", "timed-out")),
                    FileRow.run_pk.in_(insight.recent_runs(branch, runs or insight.CRASH_RUNS))))
    groups: dict[str, dict] = {}
    for row in g.session.execute(query.order_by(RunRow.created.desc()).limit(CRASH_SCAN)):
        signature = ("timed out" if row.outcome == "timed-out"
                     else crash_signature(row.crash or row.log_excerpt))
        group = groups.setdefault(signature, {"signature": signature, "count": 0, "files": {}, "last": row,
                                              "first": row, "lanes": set()})
        group["count"] += 1
        group["files"][row.name] = group["files"].get(row.name, 0) + 1
        group["first"] = row                 # rows come newest first: the last one seen is the oldest
        group["lanes"].add((row.branch, row.builder))
    return sorted(groups.values(), key=lambda grp: (-grp["count"], grp["signature"]))


_GITHUB_RUN = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/(?:actions|runs|pull|commit)/")


def commit_link(build_url: str | None, commit: str | None) -> str | None:
    """The GitHub page of `commit` when `build_url` is a GitHub Actions run (it names the
    repository) and `commit` a hex sha; None otherwise (the store knows no other repository)."""
    found = _GITHUB_RUN.match(build_url or "")
    if found and commit and re.fullmatch(r"[0-9a-f]{7,64}", commit):
        return f"https://github.com/{found[1]}/commit/{commit}"
    return None


def github_links(run) -> dict:
    """Commit and PR links of a run built by GitHub Actions (its build URL names the
    repository); {} for other runs, whose repository the store does not know."""
    found = _GITHUB_RUN.match(run.build_url or "")
    if not found:
        return {}
    links = {}
    if commit := commit_link(run.build_url, run.commit):
        links["commit"] = commit
    if run.pr is not None:
        links["pr"] = f"https://github.com/{found[1]}/pull/{int(run.pr)}"
    return links


def group_flaky(flaky: list) -> list[tuple[str, list]]:
    """Flaky rows (one per test × branch × builder, highest flake rate first) as one entry per
    test file, in the order of its highest rate, with its lanes: a test flaky on every builder
    is one row, not one per builder."""
    groups: dict[str, list] = {}
    for row in flaky:
        groups.setdefault(row.name, []).append(row)
    return list(groups.items())


def lane_pages_link(branch: str, builder: str, direction: str | None = None, run_id: str = "") -> str:
    """The site path of a lane pager page: the newest runs, or (`direction` "older" or
    "newer") the runs just before or after the run `run_id`."""
    page = "index" if direction is None else f"{direction}/{test_slug(run_id)}"
    return f"runs/{test_slug(branch)}/{test_slug(builder)}/{page}.html"


def lane_page(session, branch: str, builder: str, edge: RunRow | None, *, older: bool) -> tuple[list, bool, bool]:
    """(runs newest first, a newer run exists, an older run exists): PAGE_RUNS branch builds
    of the lane just older (or newer) than `edge` (the newest when None). A keyset seek on
    ix_runs_grid: (created, id) compared as a row, so runs of the same second keep one order."""
    lane = select(RunRow).where(RunRow.branch == branch, RunRow.builder == builder, insight.BRANCH_BUILD)
    key = tuple_(RunRow.created, RunRow.id)
    if edge is not None:
        edge_key = tuple_(edge.created, edge.id)
        lane = lane.where(key < edge_key if older else key > edge_key)
    order = (RunRow.created.desc(), RunRow.id.desc()) if older else (RunRow.created, RunRow.id)
    runs = session.scalars(lane.order_by(*order).limit(PAGE_RUNS + 1)).all()
    more = len(runs) > PAGE_RUNS
    runs = runs[:PAGE_RUNS]
    if older:
        return runs, edge is not None, more
    return runs[::-1], more, True


def _lane_page(branch: str, builder: str, run_id: str | None, *, older: bool):
    edge = None
    if run_id is not None:
        edge = g.session.scalars(select(RunRow).where(RunRow.run_id == run_id)).first()
        if edge is None or (edge.branch, edge.builder, edge.pr) != (branch, builder, None):
            abort(404)
    runs, newer, more = lane_page(g.session, branch, builder, edge, older=older)
    if not runs:
        abort(404)
    return render_template("lane_runs.html", branch=branch, builder=builder, runs=runs, newer=newer, older=more)


def exporting() -> bool:
    """True while `status export` renders the page: links to the paged history are left out,
    or the static copy would hold every run ever stored (window.py)."""
    return request.environ.get(EXPORT_ENV) is not None


def generated_at() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def register(app: Flask) -> None:
    app.jinja_env.globals.update(run_delta=run_delta, delta_sections=SECTIONS, delta_folded=FOLDED,
                                 delta_kinds=KINDS, failing_files=failing_files, max_names=MAX_NAMES,
                                 generated_at=generated_at, crash_groups=crash_groups, crash_scan=CRASH_SCAN,
                                 exporting=exporting, github_links=github_links, group_flaky=group_flaky,
                                 lane_pages_link=lane_pages_link, commit_link=commit_link,
                                 stored_runs=lambda rows: bisections.stored_runs(g.session, rows))
    app.jinja_env.filters["test_page"] = lambda name: f"test/{test_slug(name)}.html"

    def pair(base_id: str, head_id: str) -> tuple[RunRow, RunRow]:
        base, head = find_run(g.session, base_id), find_run(g.session, head_id)
        if base is None or head is None:
            abort(404)
        return base, head

    @app.get("/compare/<base_id>/<head_id>.html")
    def compare_page(base_id: str, head_id: str):
        base, head = pair(base_id, head_id)
        return render_template("compare.html", base=base, head=head, comparison=compare_rows(g.session, base, head))

    @app.get("/api/compare/<base_id>/<head_id>.json")
    def api_compare(base_id: str, head_id: str):
        base, head = pair(base_id, head_id)
        return jsonify(compare_rows(g.session, base, head).to_dict())

    # The lane pager: every name a slug (one path segment, so a builder or branch with "/",
    # "%", "?", "#" or a dot segment still routes), pages by keyset (seek by (created, id)
    # from the run at the page's edge, never OFFSET: a deep page costs what the first does).
    @app.get("/runs/<branch>/<builder>/index.html")
    def lane_newest(branch: str, builder: str):
        return _lane_page(from_slug(branch), from_slug(builder), None, older=True)

    @app.get("/runs/<branch>/<builder>/<any(older, newer):direction>/<run>.html")
    def lane_seek(branch: str, builder: str, direction: str, run: str):
        return _lane_page(from_slug(branch), from_slug(builder), from_slug(run), older=direction == "older")

    def test_pages(slug: str) -> tuple[str, list[TestHistory], list]:
        """The test's name, its lanes and its bisections: 404 when the store has neither."""
        test = from_slug(slug)
        histories, bisected = test_histories(g.session, test), bisections.for_test(g.session, test)
        if not histories and not bisected:
            abort(404)
        return test, histories, bisected

    @app.get("/test/<slug>.html")
    def test_page(slug: str):
        test, histories, bisected = test_pages(slug)
        return render_template("test_history.html", test=test, histories=histories, bisections=bisected)

    @app.get("/api/test/<slug>.json")
    def api_test(slug: str):
        test, histories, bisected = test_pages(slug)
        return jsonify({"test": test, "history": [_history_json(h) for h in histories],
                        "bisections": [bisections.bisection_json(b) for b in bisected]})
