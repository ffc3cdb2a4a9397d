"""The status store under SIGKILL: `emscripten-python status ingest` killed at random moments
(first stores and replacements of newer content) on SQLite and PostgreSQL; after each kill every
run is fully stored or absent (files and cases all there, or none), and a last ingest stores all."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fault_rig import Tally, check_store, kill_tree  # noqa: E402

from emscripten_python.results.model import Run, Stage, TestCase, TestFile  # noqa: E402
from emscripten_python.status.ingest import STORED_CASE_OUTCOMES  # noqa: E402

# The PostgreSQL cluster of the status tests (tests/status/conftest.py), loaded under its own
# name so this module can use the same fixture without a copy of it.
_STATUS = Path(__file__).parents[1] / "status"
sys.path.insert(0, str(_STATUS))
_spec = importlib.util.spec_from_file_location("status_fixtures_for_faults", _STATUS / "conftest.py")
_status = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_status)
postgres_server, postgresql_url, sqlite_url = _status.postgres_server, _status.postgresql_url, _status.sqlite_url

CLI = Path(sys.executable).parent / "emscripten-python"
RUNS, FILES, CASES = 24, 60, 8
pytestmark = pytest.mark.timeout(600)


def _write_runs(directory: Path, extra_files: int = 0, run_ids: list[str] | None = None) -> dict[str, tuple]:
    """RUNS results.json files; returns {run_id: (files, cases)} as they should be stored."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = {}
    for index in range(RUNS):
        run = Run(run_id=run_ids[index] if run_ids else uuid.uuid4().hex,
                  created=f"2026-11-{1 + index % 28:02d}T12:00:00+00:00")
        run.origin = {"kind": "buildbot", "builder": f"emscripten node {index % 3}"}
        run.source = {"cpython_version": "3.13.15", "branch": "3.13", "commit": f"{index:012x}"}
        run.toolchain, run.node = {"emcc_version": "3.1.69"}, {"version": "22.12.0"}
        run.stages = [Stage("test", "succeeded", 100.0 + index)]
        files = []
        for number in range(FILES + extra_files):
            outcome = "failed" if number % 17 == 0 else "passed"
            files.append(TestFile(name=f"test_mod{number}", outcome=outcome, duration=1.0, tests_run=CASES,
                                  failures=int(outcome == "failed"),
                                  cases=[TestCase(f"test.test_mod{number}.T.test_{k}",
                                                  "failed" if outcome == "failed" and k == 0 else "passed",
                                                  0.01, "boom" if outcome == "failed" and k == 0 else None)
                                         for k in range(CASES)]))
        run.tests = {"selection": [f.name for f in files], "files": files}
        run.decide_outcome()
        run.save(directory / f"run{index}" / "results.json")
        expected[run.run_id] = (len(files), sum(c.outcome in STORED_CASE_OUTCOMES for f in files for c in f.cases))
    return expected


def _ingest(url: str, directory: Path, writers: int = 4, stagger: float = 0.0,
            stop_at: float | None = None, only: tuple[int, ...] | None = None) -> list[subprocess.Popen]:
    """`status ingest` of every results.json in directory by `writers` processes (or only the
    writers numbered in `only`), started `stagger` seconds apart (one transaction each: a kill
    falls before, inside or after each); none is started after the monotonic time stop_at."""
    paths = sorted(directory.glob("run*/results.json"), key=lambda p: int(p.parent.name[3:]))
    processes = []
    for k in (range(writers) if only is None else only):
        if stop_at is not None and time.monotonic() >= stop_at:
            break
        processes.append(subprocess.Popen([str(CLI), "status", "ingest", "--db", url, *map(str, paths[k::writers])],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          start_new_session=True))
        time.sleep(stagger)
    return processes


def _finish(processes: list[subprocess.Popen]) -> tuple[int, str]:
    stderr = ""
    for process in processes:
        try:
            stderr += process.communicate(timeout=300)[1]
        finally:
            kill_tree(process)
    return max(abs(p.returncode) for p in processes), stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ingest_killed_anywhere_leaves_every_run_whole_or_absent(request, tmp_path, backend):
    url = request.getfixturevalue(f"{backend}_url")
    chooser = random.Random(24)
    first = _write_runs(tmp_path / "first")
    started = time.monotonic()
    rc, stderr = _finish(_ingest(request.getfixturevalue("sqlite_url").replace("status.sqlite", "timing.sqlite"),
                                 tmp_path / "first"))
    assert rc == 0, stderr[-2000:]
    whole = time.monotonic() - started
    tally, kills, seen_partial_progress = Tally(), 0, False
    # The same runs with one more file each: a re-ingest replaces each run (delete + insert).
    second = _write_runs(tmp_path / "second", extra_files=1, run_ids=list(first))
    for round_, (directory, expected) in enumerate([(tmp_path / "first", first), (tmp_path / "second", second)]):
        if round_ == 0:
            # One kill certainly between two writers' transactions (random moments on a loaded
            # machine may never give one): the first writer ends, the second is killed at once.
            rc, stderr = _finish(_ingest(url, directory, only=(0,)))
            assert rc == 0, stderr[-2000:]
            for process in _ingest(url, directory, only=(1,)):
                kills += process.poll() is None
                kill_tree(process)
            stored = check_store(url, tally)
            tally.check(all(counts == expected[run_id] for run_id, counts in stored.items()),
                        f"after the second writer's kill: {stored}")
            seen_partial_progress |= 0 < len(stored) < RUNS
        for _ in range(3):
            kill_at = time.monotonic() + chooser.uniform(0.3, 1.5) * whole
            processes = _ingest(url, directory, stagger=whole / 4, stop_at=kill_at)
            time.sleep(max(0.0, kill_at - time.monotonic()))
            for process in processes:
                kills += process.poll() is None
                kill_tree(process)
            stored = check_store(url, tally)
            for run_id, counts in stored.items():
                # Whole: this round's content or (in the second round) the first round's.
                tally.check(counts == expected[run_id] or (round_ == 1 and counts == first[run_id]),
                            f"run {run_id} stored as {counts}, neither old nor new whole")
            seen_partial_progress |= 0 < len(stored) < RUNS
        rc, stderr = _finish(_ingest(url, directory))
        assert rc == 0, stderr[-2000:]
        assert check_store(url, tally) == expected
    print(f"{backend}: {kills} kills, {tally.checks} checks, {len(tally.violations)} violations")
    assert tally.violations == [], tally.violations[:5]
    # Kills landed while writers were still running (how many of the random ones do depends on
    # the machine's load: 6 on a loaded CI run, 8 or more alone).
    assert kills >= 1, kills
    assert seen_partial_progress        # a kill fell after one writer's transaction, before another's
