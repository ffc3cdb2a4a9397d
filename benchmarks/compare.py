"""Benchmark of the "what changed" pages (not a test): overview, compare, run page with its delta, test history.

    python benchmarks/compare.py [--runs 100000] [--db URL]

Without --db, a fresh SQLite store is filled the way benchmarks/status_store.py fills one
(its `fill`: --runs fleet runs of 10 files through the normal ingest path, 10% PR builds,
then 20 realistic 480-file runs of one builder on main, ingested one per call). With --db,
the pages of that existing store are timed (e.g. one filled by status_store.py). Then the
p50 of 10 requests (after one warm-up) of: the overview; the compare page and its JSON
between the two newest 480-file runs; the newer one's run page (its baseline looked up and
compared on every request); and a failing test's history page. Aim (issue 15): overview
and compare page within 200 ms at 100k stored runs. Results in docs/compare.rst.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import status_store as fleet  # noqa: E402  (benchmarks/status_store.py: the fleet and its ingest)

from emscripten_python.status import create_app  # noqa: E402
from emscripten_python.status.ingest import ingest  # noqa: E402
from emscripten_python.status.store import Store  # noqa: E402

AIM_MS = 200.0


def fill(url: str, runs: int) -> None:
    store = Store(url)
    try:
        started = time.perf_counter()
        fleet.fill(store, runs, 0.1, fleet.FILES)
        rng = random.Random(1)
        for _ in range(20):
            ingest(store, fleet.realistic_run(rng, 480))
        print(f"filled {runs} fleet runs + 20 runs of 480 files in {time.perf_counter() - started:.0f} s")
    finally:
        store.close()


def pages(url: str) -> list[tuple[str, str]]:
    from sqlalchemy import func, select

    from emscripten_python.status.compare_views import test_slug
    from emscripten_python.status.models import FileRow, RunRow

    store = Store(url)
    try:
        with store.reader() as session:
            total = session.scalar(select(func.count()).select_from(RunRow))
            big = session.execute(select(RunRow.run_id, RunRow.id).where(RunRow.files_total >= 480, RunRow.pr.is_(None))
                                  .order_by(RunRow.created.desc(), RunRow.id.desc()).limit(2)).all()
            failing = session.scalar(select(FileRow.name).where(FileRow.run_pk == big[0].id,
                                                                FileRow.outcome == "failed").limit(1))
    finally:
        store.close()
    if len(big) < 2:
        raise SystemExit("the store needs two branch builds of 480+ files (run without --db to fill one)")
    head, base = big[0].run_id, big[1].run_id
    print(f"store holds {total} runs; comparing {base[:8]} -> {head[:8]} (480 files each)")
    return [("overview", "/index.html"), ("compare page", f"/compare/{base}/{head}.html"),
            ("compare JSON", f"/api/compare/{base}/{head}.json"), ("run page + delta", f"/run/{head}.html"),
            ("test history", f"/test/{test_slug(failing)}.html")]


def measure(url: str) -> int:
    client = create_app(url).test_client()
    print("load average at the start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    slowest_aimed = 0.0
    for label, path in pages(url):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        times, cpu = [], []
        for _ in range(10):
            started, started_cpu = time.perf_counter(), time.thread_time()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
        p50 = statistics.median(times)
        aimed = label in ("overview", "compare page")
        if aimed:
            slowest_aimed = max(slowest_aimed, p50)
        print(f"{label:18} p50 {p50:7.1f} ms  max {max(times):7.1f} ms  (CPU p50 {statistics.median(cpu):6.1f} ms; "
              f"{len(response.data)} bytes){f'  {p50 / AIM_MS:.2f} of the aim' if aimed else ''}")
    print("load average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"overview and compare page: slowest p50 {slowest_aimed:.1f} ms = {slowest_aimed / AIM_MS:.2f} x the "
          f"{AIM_MS:.0f} ms aim ({'within' if slowest_aimed <= AIM_MS else 'OVER'})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--db", help="SQLAlchemy URL of an existing store (default: fill a new SQLite store)")
    args = parser.parse_args()
    url = args.db
    if url is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='compare-bench-')) / 'status.sqlite'}"
        fill(url, args.runs)
        print(f"store kept at {url} (time it again with --db)")
    return measure(url)


if __name__ == "__main__":
    sys.exit(main())
