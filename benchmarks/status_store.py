"""Benchmark of the status store (not a test): N runs through the normal ingest path, then the pages.

    python benchmarks/status_store.py [--runs 100000] [--pr-share 0.1] [--db URL | --db temp-postgresql] [--export]

Every run is a results.json file on disk, stored by the same code as `status ingest`
(ingest_paths: size check, strict JSON, validation, the result model, batched inserts,
ANALYZE as ingest does it): no bulk seed, no manual ANALYZE. 10% of the runs (--pr-share)
are pull request builds (branch refs/pull/N/merge, base branch in origin). Then the p50 of
10 requests (after one warm-up) of the overview, a branch page, the flaky and PEP 11 pages
and api/run for a 480-file run, the lane pager's newest and deepest pages. Aims (issue 16):
every page within 200 ms. `--export` also times `status export` (bounded by its window).
`--db temp-postgresql` starts a throwaway PostgreSQL cluster (Debian's postgresql package,
default configuration) for the run. Results in docs/status.rst.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from emscripten_python.results.model import Run, Stage, TestCase, TestFile
from emscripten_python.status import create_app
from emscripten_python.status.compare_views import PAGE_RUNS, lane_pages_link
from emscripten_python.status.export import export
from emscripten_python.status.ingest import BATCH, ingest, ingest_paths, load
from emscripten_python.status.store import Store

BRANCHES = ["main", "3.15", "3.14", "3.13", "3.12"]
# (builder, origin): two Buildbot builders (Tier 3 by default), a GitHub Actions job, a local run.
BUILDERS = [("WASM Emscripten node", "buildbot"), ("WASM Emscripten browser", "buildbot"),
            ("GitHub Actions", "github-actions"), ("local", "local")]
FILES = ["test_os", "test_math", "test_compile", "test_asyncio", "test_re", "test_json",
         "test_socket", "test_threading", "test_zipfile", "test_sqlite3"]
START = datetime(2025, 1, 1)
PAGES = ("/index.html", "/branch/main.html", "/flaky.html", "/pep11.html")


def _outcome(rng: random.Random) -> str:
    return rng.choices(["passed", "failed", "crashed", "flaky", "skipped"], [90, 4, 1, 3, 2])[0]


def fleet_run(rng: random.Random, i: int, pr_share: float, files: list[str]) -> dict:
    """Run number `i` of the fleet: round-robin over branch × builder, or a PR build."""
    builder, origin = BUILDERS[i % len(BUILDERS)]
    branch = BRANCHES[(i // len(BUILDERS)) % len(BRANCHES)]
    run = Run(run_id=uuid.UUID(int=rng.getrandbits(128)).hex,
              created=(START + timedelta(minutes=5 * i)).isoformat(timespec="seconds") + "+00:00")
    run.origin = {"kind": origin, "builder": builder, "url": f"https://buildbot.invalid/builds/{i}"}
    if rng.random() < pr_share:
        # ~3 builds per PR, PR numbers rising over time (the issue measured 2,889 PRs in 10k builds).
        run.origin["pr"] = 120_000 + int(i * pr_share / 3.5) + rng.randrange(3)
        run.origin["base_branch"] = branch
        branch = f"refs/pull/{run.origin['pr']}/merge"
    run.source = {"branch": branch, "commit": uuid.UUID(int=rng.getrandbits(128)).hex[:40],
                  "cpython_version": "3.14.0", "commit_message": f"gh-{i}: change {i}"}
    run.stages = [Stage(n, "succeeded", rng.uniform(60, 900)) for n in ("toolchain", "build", "test")]
    for name in files:
        outcome = _outcome(rng)
        test_file = TestFile(name, outcome, duration=rng.uniform(0.5, 30), tests_run=400,
                             failures=int(outcome == "failed"), attempts=2 if outcome in ("failed", "flaky") else 1)
        if outcome == "failed":
            test_file.cases = [TestCase(f"test.{name}.Tests.test_one", "failed", 0.1, "AssertionError: boom",
                                        "Traceback (most recent call last):\nAssertionError: boom")]
        if outcome == "crashed":
            test_file.crash = "RuntimeError: memory access out of bounds\n    at wasm://wasm/1:wasm-function[1]"
        run.tests["files"].append(test_file)
    run.decide_outcome()
    return run.to_dict()


def realistic_run(rng: random.Random, files: int) -> Run:
    """A full regrtest run: `files` test files, a few failing, one crashed, one flaky."""
    run = Run(created=datetime.now().isoformat(timespec="seconds") + "+00:00")
    run.origin = {"kind": "buildbot", "builder": BUILDERS[0][0]}
    run.source = {"branch": "main", "commit": uuid.uuid4().hex, "cpython_version": "3.14.0"}
    run.stages = [Stage(n, "succeeded", rng.uniform(30, 600)) for n in ("toolchain", "build", "test")]
    for i in range(files):
        outcome = "failed" if i % 97 == 0 else "crashed" if i == 5 else "flaky" if i == 7 else "passed"
        test_file = TestFile(f"test_file_{i}", outcome, duration=1.0, tests_run=80)
        if outcome == "failed":
            test_file.cases = [TestCase(f"test.test_file_{i}.T.test_{j}", "failed", 0.1, "AssertionError",
                                        "Traceback (most recent call last):\n  ...\nAssertionError") for j in range(3)]
        if outcome == "crashed":
            test_file.crash = "RuntimeError: memory access out of bounds\n    at wasm://wasm/1:wasm-function[1]"
        run.tests["files"].append(test_file)
    run.decide_outcome()
    return run


@contextmanager
def temp_postgresql():
    """A PostgreSQL cluster in a temporary directory (as `postgres` when run as root)."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        sys.exit("temp-postgresql: install Debian's postgresql package")
    bindir, home = os.path.dirname(initdbs[-1]), tempfile.mkdtemp(prefix="status-bench-pg-")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data = os.path.join(home, "data")
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run([*as_pg, f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(home, "log"), "-w", "-t", "60",
                    "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"], check=True,
                   capture_output=True)
    try:
        import psycopg
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE status")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/status", (bindir, data, home, as_pg)
    finally:
        if not os.environ.get("STATUS_BENCH_KEEP"):
            subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"kept PostgreSQL: {data} (stop: pg_ctl -D {data} stop)")


def fill(store: Store, runs: int, pr_share: float, files: list[str]) -> list[float]:
    """Write results.json files BATCH at a time and ingest them like `status ingest` does;
    the ms per run of each batch (writing the files not counted)."""
    rng = random.Random(16)
    per_run, work = [], Path(tempfile.mkdtemp(prefix="status-bench-files-"))
    started = time.perf_counter()
    try:
        for first in range(0, runs, BATCH):
            paths = []
            for i in range(first, min(first + BATCH, runs)):
                path = work / f"{i}.json"
                path.write_text(json.dumps(fleet_run(rng, i, pr_share, files)))
                paths.append(path)
            t0 = time.perf_counter()
            outcomes = ingest_paths(lambda: store, paths)
            per_run.append((time.perf_counter() - t0) * 1000 / len(paths))
            bad = [o for o in outcomes if o.error]
            if bad:
                raise SystemExit(f"refused: {bad[0].error}")
            for path in paths:
                path.unlink()
            done = first + len(paths)
            if done % 10_000 < BATCH:
                print(f"  {done:>7} runs ingested, {statistics.median(per_run[-20:]):.2f} ms/run lately, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return per_run


def _timed(action, repeat: int, cpu: list | None = None) -> list[float]:
    """Wall-clock ms of each call; with `cpu`, this thread's CPU ms of each call too."""
    times = []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.thread_time()
        action()
        times.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.thread_time() - started_cpu) * 1000)
    return times


def measure(url: str, args) -> None:
    store = Store(url)
    print(f"store: {store.safe_url}")
    if not args.pages_only:
        started = time.perf_counter()
        per_run = fill(store, args.runs, args.pr_share, FILES[:args.files])
        total = time.perf_counter() - started
        print(f"ingested {args.runs} runs ({args.pr_share:.0%} PR builds, {args.files} test files each) through "
              f"ingest_paths in {total:.0f} s: {statistics.median(per_run):.2f} ms/run median of batches "
              f"(first {per_run[0]:.2f}, last {per_run[-1]:.2f})")
        rng = random.Random(1)
        big = [realistic_run(rng, 480) for _ in range(20)]
        work = Path(tempfile.mkdtemp(prefix="status-bench-big-"))
        paths = []
        for n, run in enumerate(big):
            run.save(work / f"{n}.json")
            paths.append(work / f"{n}.json")
        one = _timed(lambda: None, 0)
        for path in paths:   # one file per call, as the master hook and `run` do
            t0 = time.perf_counter()
            ingest(store, load(path))
            one.append((time.perf_counter() - t0) * 1000)
        print(f"ingest of one 480-file results.json per call: median {statistics.median(one):.1f} ms, "
              f"max {max(one):.1f} ms")
        shutil.rmtree(work, ignore_errors=True)

    from sqlalchemy import func, select

    from emscripten_python.status.models import RunRow
    with store.reader() as session:
        total = session.scalar(select(func.count()).select_from(RunRow))
        prs = session.scalar(select(func.count(func.distinct(RunRow.pr))))
        pr_runs = session.scalar(select(func.count()).where(RunRow.pr.is_not(None)).select_from(RunRow))
        big_run = session.scalar(select(RunRow.run_id).where(RunRow.files_total >= 480).limit(1))
        # The lane pager's deepest page: the runs older than the lane's 51st-oldest run.
        lane = (RunRow.branch == "main", RunRow.builder == BUILDERS[0][0], RunRow.pr.is_(None))
        deep_edge = session.scalar(select(RunRow.run_id).where(*lane).order_by(RunRow.created, RunRow.id)
                                   .offset(PAGE_RUNS).limit(1))
    print(f"store holds {total} runs, {pr_runs} PR builds of {prs} PRs")
    client = create_app(url).test_client()
    pages = list(PAGES) + ([f"/api/run/{big_run}.json"] if big_run else []) + ["/api/overview.json",
                                                                              "/badge/main.svg"]
    pages.append("/" + quote(lane_pages_link("main", BUILDERS[0][0])))
    if deep_edge:
        pages.append("/" + quote(lane_pages_link("main", BUILDERS[0][0], "older", deep_edge)))
    worst = 0.0
    # The machine may be shared: the load average says how much, and the CPU time of this
    # process (the app, and SQLite's own work; not PostgreSQL's server) how much was ours.
    print("load average at the start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        cpu: list[float] = []
        times = _timed(lambda: client.get(page), 10, cpu)
        worst = max(worst, statistics.median(times))
        label = ("/api/run/<480 files>.json" if page.startswith("/api/run/") else
                 "lane pager, deepest page" if "/older/" in page else "lane pager, newest page"
                 if page.startswith("/runs/") else page)
        print(f"{label:28} p50 {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  "
              f"(app CPU p50 {statistics.median(cpu):6.1f} ms; {len(response.data)} bytes)")
    print("load average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"slowest page p50 {worst:.1f} ms: {'within' if worst <= 200 else 'OVER'} the 200 ms aim")
    _print_lane_plan(store)
    store.close()
    if args.export:
        site = Path(tempfile.mkdtemp(prefix="status-bench-export-"))
        t0 = time.perf_counter()
        count = export(url, site)
        print(f"status export: {count} files in {time.perf_counter() - t0:.1f} s "
              f"({sum(f.stat().st_size for f in site.rglob('*') if f.is_file()) / 1e6:.1f} MB)")
        shutil.rmtree(site, ignore_errors=True)
    if args.screenshots:
        screenshots(url, Path(args.screenshots))


def _print_lane_plan(store: Store) -> None:
    """The plan the database picks, at this size, for one lane's window (the overview's hot query)."""
    from sqlalchemy import event

    from emscripten_python.status.insight import health
    seen = []

    def capture(conn, cursor, statement, parameters, context, many):
        if "ORDER BY runs.created DESC" in statement and not seen:
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    with store.reader() as session:
        health(session, "main", BUILDERS[0][0])
    event.remove(store.engine, "before_cursor_execute", capture)
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        explain = "EXPLAIN QUERY PLAN " if store.engine.dialect.name == "sqlite" else "EXPLAIN "
        cursor.execute(explain + seen[0][0], seen[0][1])
        plan = " / ".join(str(row[-1]).strip() for row in cursor.fetchall())
    finally:
        raw.close()
    print(f"plan of a lane's window: {plan}")


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def screenshots(url: str, out_dir: Path) -> None:
    """The overview served by waitress (as `status serve`), in Debian's chromium through
    Playwright: full-page screenshots at desktop (1280) and phone (390) width."""
    import threading

    from playwright.sync_api import sync_playwright
    from waitress import create_server

    server = create_server(create_app(url), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    address = f"http://127.0.0.1:{server.effective_port}/index.html"
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, width, height, mobile in (("desktop", 1280, 900, False), ("phone", 390, 844, True)):
                context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile,
                                              has_touch=mobile)
                page = context.new_page()
                started = time.perf_counter()
                page.goto(address, wait_until="load")
                loaded = (time.perf_counter() - started) * 1000
                path = out_dir / f"status-overview-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"browser ({name}, {width} px): overview loaded in {loaded:.0f} ms -> {path}")
                context.close()
            browser.close()
    finally:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--pr-share", type=float, default=0.1)
    parser.add_argument("--files", type=int, default=10, help="test files per fleet run (at most 10)")
    parser.add_argument("--db", help="SQLAlchemy URL of an empty store, or temp-postgresql "
                                     "(default: a new SQLite file)")
    parser.add_argument("--pages-only", action="store_true", help="time the pages of an existing store")
    parser.add_argument("--export", action="store_true", help="also time `status export` of the store (its window)")
    parser.add_argument("--screenshots", metavar="DIR", help="also save screenshots of the overview (desktop, "
                                                             "phone) taken with Debian's chromium")
    args = parser.parse_args()
    if args.db == "temp-postgresql":
        with temp_postgresql() as (url, _):
            measure(url, args)
    else:
        measure(args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='status-bench-')) / 'status.sqlite'}", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
