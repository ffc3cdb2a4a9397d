"""8 writer processes on one fresh store: the same runs and their own, at the same time."""

from __future__ import annotations

import random
import subprocess
import sys

from sqlalchemy import func, select

from emscripten_python.status.models import CaseRow, FileRow, RunRow
from emscripten_python.status.store import Store
from status_factory import make_run, write_run

WRITERS, SHARED, OWN = 8, 20, 5
FILES = {"test_math": "passed", "test_os": "failed", "test_compile": "crashed"}


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(tmp_path, db_url):
    shared = [write_run(make_run(files=FILES, hours=i), tmp_path) for i in range(SHARED)]
    commands = []
    for writer in range(WRITERS):
        own = [write_run(make_run(files=FILES, builder=f"writer {writer}", hours=i), tmp_path) for i in range(OWN)]
        paths = shared + own
        random.Random(writer).shuffle(paths)
        commands.append([sys.executable, "-m", "emscripten_python.status", "ingest", "--db", db_url,
                         *map(str, paths)])
    # The store does not exist yet: the writers also race to create the schema.
    writers = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    outputs = [w.communicate(timeout=300) for w in writers]
    for writer, (stdout, stderr) in zip(writers, outputs):
        assert writer.returncode == 0, stderr
        assert len(stdout.splitlines()) == SHARED + OWN

    results = [line.split(":")[0] for stdout, _ in outputs for line in stdout.splitlines()]
    expected_runs = SHARED + WRITERS * OWN
    assert results.count("inserted") == expected_runs   # each run inserted exactly once...
    assert results.count("unchanged") == (WRITERS - 1) * SHARED   # ...and every other attempt saw it

    store = Store(db_url)
    with store.reader() as session:
        run_ids = session.scalars(select(RunRow.run_id)).all()
        assert len(run_ids) == len(set(run_ids)) == expected_runs
        assert set(run_ids) == {p.stem for p in tmp_path.glob("*.json")}
        assert session.scalar(select(func.count()).select_from(FileRow)) == expected_runs * len(FILES)
        assert session.scalar(select(func.count()).select_from(CaseRow)) == expected_runs * 1
    store.close()
