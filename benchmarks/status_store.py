"""Benchmark of the status store (not a test): seed N runs, time the overview and ingest.

    python benchmarks/status_store.py [--runs 100000] [--db URL]

Aims (issue 6): overview render <= 200 ms, ingest <= 50 ms per run. Results in docs/status.rst.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from emscripten_python.results import Run, Stage, TestCase, TestFile
from emscripten_python.status import create_app
from emscripten_python.status.ingest import ingest
from emscripten_python.status.models import FileRow, RunRow
from emscripten_python.status.store import Store

BRANCHES = ["main", "3.15", "3.14", "3.13", "3.12"]
BUILDERS = ["WASM Emscripten node", "WASM Emscripten browser", "GitHub Actions", "local"]
SEED_FILES = ["test_os", "test_math", "test_compile", "test_asyncio", "test_re", "test_json",
              "test_socket", "test_threading", "test_zipfile", "test_sqlite3"]
START = datetime(2024, 1, 1)
BATCH = 5_000


def _outcome(rng: random.Random) -> str:
    return rng.choices(["passed", "failed", "crashed", "flaky", "skipped"], [90, 4, 1, 3, 2])[0]


def seed(store: Store, runs: int) -> float:
    """Bulk-insert `runs` runs (ten test files each) round-robin over branch × builder."""
    rng = random.Random(6)
    started = time.perf_counter()
    file_pk = 0
    with store.writer() as session, session.begin():
        for first in range(0, runs, BATCH):
            run_rows, file_rows = [], []
            for pk in range(first + 1, min(first + BATCH, runs) + 1):
                outcomes = [_outcome(rng) for _ in SEED_FILES]
                bad = sum(o in ("failed", "crashed") for o in outcomes)
                run_rows.append(dict(
                    id=pk, run_id=uuid.uuid4().hex, digest="seed", created=START + timedelta(minutes=10 * pk),
                    ingested=START, origin="buildbot", builder=BUILDERS[pk % len(BUILDERS)],
                    branch=BRANCHES[(pk // len(BUILDERS)) % len(BRANCHES)], commit=uuid.uuid4().hex[:12],
                    outcome="failure" if bad else "warnings" if "flaky" in outcomes else "success",
                    duration=rng.uniform(1200, 2400), files_total=len(SEED_FILES), files_bad=bad,
                    files_crashed=outcomes.count("crashed"), files_flaky=outcomes.count("flaky"),
                    tests_run=4000, stages=[], artifacts=[], errors=[]))
                for name, outcome in zip(SEED_FILES, outcomes):
                    file_pk += 1
                    file_rows.append(dict(id=file_pk, run_pk=pk, name=name, outcome=outcome, tests_run=400,
                                          crash="RuntimeError: memory access out of bounds"
                                          if outcome == "crashed" else None))
            session.execute(insert(RunRow), run_rows)
            session.execute(insert(FileRow), file_rows)
    if store.engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; and the planner needs fresh statistics.
        with store.engine.begin() as conn:
            for table in ("runs", "test_files"):
                conn.exec_driver_sql(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    else:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def realistic_run(rng: random.Random, files: int) -> Run:
    """A full regrtest run: `files` test files, a few failing, one crashed, one flaky."""
    run = Run(created=datetime.now().isoformat(timespec="seconds") + "+00:00")
    run.origin = {"kind": "buildbot", "builder": rng.choice(BUILDERS)}
    run.source = {"branch": rng.choice(BRANCHES), "commit": uuid.uuid4().hex, "cpython_version": "3.14.0"}
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


def _timed(action, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--db", help="SQLAlchemy URL of an empty store (default: a new SQLite file)")
    parser.add_argument("--ingest-files", type=int, default=480, help="test files per ingested run")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='status-bench-')) / 'status.sqlite'}"
    store = Store(url)
    print(f"store: {store.safe_url}")
    print(f"seeded {args.runs} runs ({args.runs * len(SEED_FILES)} test files) in {seed(store, args.runs):.1f} s")

    client = create_app(url).test_client()
    for page in ("/index.html", "/pep11.html", "/branch/main.html", "/flaky.html", "/api/overview.json"):
        times = _timed(lambda: client.get(page), 1 + 10)[1:]   # the first request warms caches
        print(f"{page:24} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms")

    rng = random.Random(1)
    runs = [realistic_run(rng, args.ingest_files) for _ in range(30)]
    times = [t for run in runs for t in _timed(lambda run=run: ingest(store, run), 1)]
    print(f"ingest ({args.ingest_files} files/run)  median {statistics.median(times):7.1f} ms  "
          f"max {max(times):7.1f} ms")
    again = [t for run in runs[:10] for t in _timed(lambda run=run: ingest(store, run), 1)]
    print(f"re-ingest (unchanged)     median {statistics.median(again):7.1f} ms")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
