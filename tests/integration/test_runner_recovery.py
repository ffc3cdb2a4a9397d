"""The crash-proof runner against a stand-in interpreter (real processes, real timeouts)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.testing.runner import HostPython, TestOptions, run_regrtest

FAKE = Path(__file__).with_name("fake_regrtest.py")


def _host(tmp_path: Path) -> HostPython:
    return HostPython(argv=[sys.executable, str(FAKE)], cwd=tmp_path, env=dict(os.environ))


def _run(tmp_path, selection, **options):
    files = run_regrtest(_host(tmp_path), TestOptions(selection=selection, regrtest_args=["-v"], **options),
                         tmp_path, log=lambda message: None)
    return {f.name: f for f in files}


def test_crash_is_recorded_and_following_files_still_run(tmp_path):
    files = _run(tmp_path, ["test_ok1", "test_crash", "test_ok2", "test_fail", "test_skip"])
    assert list(files) == ["test_ok1", "test_crash", "test_ok2", "test_fail", "test_skip"]
    assert files["test_crash"].outcome == "crashed"
    assert "memory access out of bounds" in files["test_crash"].crash
    assert files["test_ok2"].outcome == "passed" and files["test_ok2"].tests_run == 3
    assert files["test_fail"].outcome == "failed"
    assert files["test_fail"].cases[1].traceback.endswith("AssertionError: 1 != 2")
    assert files["test_skip"].outcome == "skipped"
    log = (tmp_path / "logs" / "test.log").read_text()
    assert log.count("-m test") == 2      # one restart, from the file after the crash


def test_two_crashes_in_a_row(tmp_path):
    files = _run(tmp_path, ["test_crash1", "test_crash2", "test_ok"])
    assert [f.outcome for f in files.values()] == ["crashed", "crashed", "passed"]


def test_hanging_file_times_out_and_run_continues(tmp_path):
    files = _run(tmp_path, ["test_hang", "test_ok"], file_timeout=2)
    assert files["test_hang"].outcome == "timed-out"
    assert files["test_ok"].outcome == "passed"


def test_flaky_and_failed_again(tmp_path):
    files = _run(tmp_path, ["test_flaky", "test_fail", "test_ok"])
    assert files["test_flaky"].outcome == "failed"        # no --rerun: a failure is a failure
    files = run_regrtest(_host(tmp_path), TestOptions(
        selection=["test_flaky", "test_fail", "test_ok"], regrtest_args=["-v", "--rerun"]),
        tmp_path, log=lambda message: None)
    outcomes = {f.name: (f.outcome, f.attempts) for f in files}
    assert outcomes == {"test_flaky": ("flaky", 2), "test_fail": ("failed", 2), "test_ok": ("passed", 1)}


def test_vanished_stdout_is_an_error_not_success(tmp_path):
    host = HostPython(argv=[sys.executable, "-c", "pass"], cwd=tmp_path, env=dict(os.environ))
    with pytest.raises(TestRunError, match="stdout vanished"):
        run_regrtest(host, TestOptions(selection=["test_ok"]), tmp_path, log=lambda m: None)


def test_interpreter_that_never_starts(tmp_path):
    host = HostPython(argv=[sys.executable, "-c", "import sys; print('Aborted(boom)'); sys.exit(7)"],
                      cwd=tmp_path, env=dict(os.environ))
    with pytest.raises(TestRunError, match="died 3 times before running a test file"):
        run_regrtest(host, TestOptions(selection=["test_a", "test_b", "test_c", "test_d"]), tmp_path,
                     log=lambda m: None)


def test_sharded_and_serial_give_the_same_outcomes(tmp_path):
    from emscripten_python.testing.shards import run_sharded

    selection = ["test_ok1", "test_fail1", "test_crash1", "test_ok2", "test_skip1", "test_ok3",
                 "test_crash2", "test_ok4"]
    serial = run_regrtest(_host(tmp_path / "serial"), TestOptions(selection=selection, regrtest_args=["-v"]),
                          tmp_path / "serial", log=lambda m: None)
    sharded = run_sharded(_host(tmp_path / "sharded"), TestOptions(selection=selection, regrtest_args=["-v"]),
                          tmp_path / "sharded", 3, log=lambda m: None)
    assert [f.name for f in sharded] == selection == [f.name for f in serial]
    assert [(f.outcome, f.tests_run) for f in sharded] == [(f.outcome, f.tests_run) for f in serial]
    # Each shard had its own temp dir and log; a crash in one shard lost nothing.
    logs = sorted(p.name for p in (tmp_path / "sharded" / "logs").iterdir())
    assert logs == ["test-shard0.log", "test-shard1.log", "test-shard2.log"]
    assert sum(f.outcome == "crashed" for f in sharded) == 2
