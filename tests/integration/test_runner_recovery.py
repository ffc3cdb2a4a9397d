"""The crash-proof runner against a stand-in interpreter (real processes, real timeouts)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.building.host import HostPython
from emscripten_python.testing.runner import TestOptions, run_regrtest

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
    files = _run(tmp_path / "plain", ["test_flaky", "test_fail", "test_ok"])
    assert files["test_flaky"].outcome == "failed"        # no --rerun: a failure is a failure
    files = run_regrtest(_host(tmp_path), TestOptions(
        selection=["test_flaky", "test_fail", "test_ok"], regrtest_args=["-v", "--rerun"]),
        tmp_path / "rerun", log=lambda message: None)
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


# -- issue 10: each kind of death gives the right file the right outcome --------------------------------

def _run_rerun(tmp_path, selection, **options):
    files = run_regrtest(_host(tmp_path), TestOptions(selection=selection, regrtest_args=["-v", "--rerun"],
                                                      **options), tmp_path, log=lambda message: None)
    return {f.name: f for f in files}


def _run_outcome(files) -> str:
    from emscripten_python.results.model import Run
    run = Run()
    run.test_files.extend(files.values())
    return run.decide_outcome()


def test_crash_during_the_rerun_phase_is_a_crash_not_flaky(tmp_path):
    files = _run_rerun(tmp_path, ["test_ok1", "test_rerunboom", "test_ok2"])
    boom = files["test_rerunboom"]
    assert boom.outcome == "crashed" and boom.attempts == 2
    assert "RuntimeError: memory access out of bounds" in boom.crash
    assert files["test_ok1"].outcome == files["test_ok2"].outcome == "passed"
    assert _run_outcome(files) == "failure"


def test_death_right_after_a_verdict_blames_nobody(tmp_path):
    files = _run(tmp_path, ["test_ok1", "test_diesafter", "test_ok2", "test_fail"])
    assert {n: f.outcome for n, f in files.items()} == {
        "test_ok1": "passed", "test_diesafter": "passed", "test_ok2": "passed", "test_fail": "failed"}
    assert files["test_ok2"].tests_run == 3        # it really ran, in a new segment


def test_death_at_start_up_before_any_output_blames_nobody(tmp_path):
    counter = tmp_path / "deaths"
    counter.write_text("1")
    host = _host(tmp_path)
    host.env["FAKE_STARTUP_DEATHS"] = str(counter)
    files = {f.name: f for f in run_regrtest(host, TestOptions(selection=["test_ok1", "test_ok2"],
                                                               regrtest_args=["-v"]), tmp_path, log=lambda m: None)}
    assert {n: (f.outcome, f.tests_run) for n, f in files.items()} == {
        "test_ok1": ("passed", 3), "test_ok2": ("passed", 3)}


def test_file_that_kills_the_runtime_at_its_start_is_crashed(tmp_path):
    files = _run(tmp_path, ["test_ok1", "test_killstart", "test_ok2"])
    assert {n: f.outcome for n, f in files.items()} == {
        "test_ok1": "passed", "test_killstart": "crashed", "test_ok2": "passed"}
    assert "Aborted(killed at import)" in files["test_killstart"].crash
    # two such files in a row: each is blamed, the runtime is not declared broken
    files = _run(tmp_path, ["test_ok1", "test_killstart1", "test_killstart2", "test_ok2"])
    assert [f.outcome for f in files.values()] == ["passed", "crashed", "crashed", "passed"]


def test_truncated_file_name_is_still_recorded(tmp_path):
    files = _run(tmp_path, ["test_ok1", "test_truncated", "test_ok2"])
    assert {n: f.outcome for n, f in files.items()} == {
        "test_ok1": "passed", "test_truncated": "crashed", "test_ok2": "passed"}
    # the output stopped mid-line: the next segment's command still starts a line of the log
    assert len(_commands((tmp_path / "logs" / "test.log").read_text())) == 2


def test_deep_stack_crash_keeps_the_error_line(tmp_path):
    files = _run(tmp_path, ["test_deepstack", "test_ok"])
    crash = files["test_deepstack"].crash
    assert "RuntimeError: memory access out of bounds" in crash and "wasm-function[3230]" in crash
    assert len(crash) < 16_000


def test_crash_text_is_the_crash_not_an_earlier_traceback(tmp_path):
    files = _run(tmp_path, ["test_tbthencrash", "test_ok"])
    crash = files["test_tbthencrash"].crash
    assert "RuntimeError: memory access out of bounds" in crash and "unrelated" not in crash


def test_a_10_mb_line_does_not_reach_results_json(tmp_path):
    import json
    from dataclasses import asdict

    files = _run(tmp_path, ["test_bigline", "test_ok"])
    assert files["test_bigline"].outcome == "failed"
    assert len(json.dumps([asdict(f) for f in files.values()])) < 200_000
    assert (tmp_path / "logs" / "test.log").stat().st_size > 10_000_000     # the log keeps everything


def test_regrtest_is_asked_not_to_colour(tmp_path):
    files = _run(tmp_path, ["test_envcheck"])
    assert files["test_envcheck"].outcome == "passed"


def test_parsing_a_long_space_run_is_linear(tmp_path):
    # Before: `(?P<rest>.*?)\s*$` backtracked for seconds per 16 KB of spaces, and the parser
    # runs in the reading thread, so the per-file watchdog could not stop it. Run in a child
    # process so a regression cannot hang the test session.
    import subprocess
    code = ("from emscripten_python.testing.regrtest_output import parse_lines\n"
            "spaces = ' ' * 2_000_000\n"
            "out = parse_lines(['0:00:00 [1/2] test_a' + spaces + 'x', 'test_a (t.T.test_a) ...' + spaces + 'x',"
            " '0:00:00 [2/2] test_b', 'FAILED (failures=1' + spaces + 'x', 'Tests result: SUCCESS' + spaces + 'x'])\n"
            "print(len(out.attempts))\n"
            # Lines aimed at the patterns tried inside a line: a run of digits before "] test"
            # (the progress pattern searched after spliced stderr tried it once per digit: 8 s a
            # line) and before "Re-running", "... " runs before ")!" (faulthandler's Timeout).
            "n = 64 * 1024 - 16\n"
            "parse_lines(['0:00:00 [1/1] test_a'] + ['x' + '1' * n + '] test_a', '1' * n + ' Re-running',"
            " '... ' * (n // 4) + ')!', 'x' + '0:00:00 load avg: 1' * (n // 20) + '] test_a'] * 20)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr


def test_crash_inside_a_package_runs_the_rest_of_the_package(tmp_path):
    # regrtest runs test_pkg as test_pkg.test_ok_a, .test_crash_b, .test_ok_c; after the
    # crash in the middle, the runner asks regrtest for the package's files (--list-tests).
    files = _run(tmp_path, ["test_ok1", "test_pkg", "test_ok2"])
    assert list(files) == ["test_ok1", "test_pkg.test_ok_a", "test_pkg.test_crash_b", "test_pkg.test_ok_c",
                           "test_ok2"]
    assert {n: f.outcome for n, f in files.items()} == {
        "test_ok1": "passed", "test_ok2": "passed", "test_pkg.test_ok_a": "passed",
        "test_pkg.test_crash_b": "crashed", "test_pkg.test_ok_c": "passed"}


# -- issue 20: a file's outcome does not depend on which files shared its node process ----------

FLAKY_THEN_CRASH = ["test_ok1", "test_flaky1", "test_crash", "test_ok2", "test_flaky2", "test_fail", "test_ok3"]


def _run_args(out: Path, selection, args, version="3.13.15", **options):
    files = run_regrtest(_host(out), TestOptions(selection=selection, regrtest_args=list(args),
                                                 cpython_version=version, **options), out, log=lambda m: None)
    return files, (out / "logs" / "test.log").read_text()


def _commands(log: str) -> list[list[str]]:
    """The regrtest arguments of each segment, from the `$ …` lines of the console log."""
    return [line.split(" -m test ", 1)[1].split() for line in log.splitlines() if line.startswith("$ ")]


@pytest.mark.parametrize("args", [["-v", "--rerun", "--single-process"], ["-vw", "--single-process"],
                                  ["--rer", "-v", "--single-p"]])
def test_serial_and_sharded_agree_when_a_crash_follows_a_flaky_file(tmp_path, args):
    from emscripten_python.testing.shards import run_sharded

    serial, log = _run_args(tmp_path / "serial", FLAKY_THEN_CRASH, args)
    # Serially, test_flaky1 failed in the segment test_crash killed: regrtest's re-run phase
    # never came for it; the runner re-ran it, as regrtest would have (whole file, verbose).
    assert _commands(log)[-1][-1] == "test_flaky1" and "-v" in _commands(log)[-1]
    assert not {"--rerun", "-vw", "-w", "--rer"} & set(_commands(log)[-1])
    sharded = run_sharded(_host(tmp_path / "sharded"), TestOptions(
        selection=FLAKY_THEN_CRASH, regrtest_args=args, cpython_version="3.13.15"), tmp_path / "sharded", 3,
        log=lambda m: None)
    shard_logs = [p.read_text() for p in (tmp_path / "sharded" / "logs").glob("test-shard*.log")]
    # the shard that had test_flaky1 reached regrtest's own re-run phase (no crash after it)
    assert any("test_flaky1" in text and "Re-running" in text for text in shard_logs)

    def rows(files):
        return [(f.name, f.outcome, f.attempts, f.tests_run, f.failures) for f in files]
    assert rows(serial) == rows(sharded)
    assert {f.name: (f.outcome, f.attempts) for f in serial} == {
        "test_ok1": ("passed", 1), "test_flaky1": ("flaky", 2), "test_crash": ("crashed", 1),
        "test_ok2": ("passed", 1), "test_flaky2": ("flaky", 2), "test_fail": ("failed", 2), "test_ok3": ("passed", 1)}


def test_without_reruns_a_failure_stays_a_failure(tmp_path):
    files, log = _run_args(tmp_path, FLAKY_THEN_CRASH, ["-v", "--single-process"])
    assert {f.name: f.outcome for f in files}["test_flaky1"] == "failed"
    assert len(_commands(log)) == 2


@pytest.mark.parametrize("version, args, rerun_args", [
    # 3.12 (and 3.13 without --single-process): a worker per file, only its failed cases,
    # instead of the run's -m/-i patterns
    ("3.12.1", ["-v", "--rerun", "-m", "test_*", "-i", "test_c", "-u", "all"],
     ["-v", "-u", "all", "-m", "test_b"]),
    ("3.13.15", ["-vvw", "--ignore=test_c", "--timeout", "60"], ["-v", "--timeout", "60", "-m", "test_b"]),
    # 3.11.0-3.11.6: -w keeps the run's -m patterns and adds the failed cases'
    ("3.11.4", ["-w", "-v", "--match", "test_*"], ["-v", "--match", "test_*", "-m", "test_b"]),
    # --slow-ci stands for re-runs, -W, -u all, --timeout 1200 and --fail-env-changed
    ("3.13.15", ["--slow-ci", "--single-process"], ["-v", "-u", "all", "--fail-env-changed", "--timeout", "1200",
                                                    "--single-process"]),
    ("3.12.1", ["--fast-ci", "--slow-ci", "-j1", "--timeout=5"], ["-v", "-u", "all", "--fail-env-changed", "-j1",
                                                                  "--timeout=5", "-m", "test_b"]),
])
def test_the_runner_reruns_as_that_regrtest_would(tmp_path, version, args, rerun_args):
    files, log = _run_args(tmp_path, ["test_flaky", "test_crash", "test_ok"], args, version)
    assert {f.name: (f.outcome, f.attempts) for f in files} == {
        "test_flaky": ("flaky", 2), "test_crash": ("crashed", 1), "test_ok": ("passed", 1)}
    commands = _commands(log)
    assert len(commands) == 3
    assert commands[-1] == [*rerun_args, "--junit-xml", str(tmp_path / "junit" / "test-3.xml"), "test_flaky"]


def test_a_crash_during_the_runners_rerun_is_that_files_crash(tmp_path):
    files, _ = _run_args(tmp_path, ["test_rerunboom", "test_crash", "test_ok"], ["-v", "--rerun"])
    boom = files[0]
    assert (boom.outcome, boom.attempts) == ("crashed", 2) and "memory access out of bounds" in boom.crash
    assert [f.outcome for f in files[1:]] == ["crashed", "passed"]


def test_files_waiting_for_regrtests_rerun_when_it_died_are_rerun(tmp_path):
    # regrtest re-runs test_rerunboom first and dies in it: test_flaky, failed once and not yet
    # re-run, is re-run by the runner (before: it kept "failed").
    files, _ = _run_args(tmp_path, ["test_rerunboom", "test_flaky", "test_ok"], ["-v", "--rerun", "--single-process"])
    assert {f.name: (f.outcome, f.attempts) for f in files} == {
        "test_rerunboom": ("crashed", 2), "test_flaky": ("flaky", 2), "test_ok": ("passed", 1)}


def test_progress_counts_each_file_once_with_reruns(tmp_path):
    seen = []
    _run_args(tmp_path, ["test_flaky", "test_crash", "test_ok"], ["-v", "--rerun"],
              on_file_done=lambda name, outcome: seen.append(name))
    assert sorted(seen) == ["test_crash", "test_flaky", "test_ok"]


def test_a_death_in_the_runners_rerun_of_several_files_leaves_the_rest_to_the_next(tmp_path):
    # --single-process: both files are re-run in one node process; test_rerunboom kills it,
    # test_flaky is re-run in the next one
    files, log = _run_args(tmp_path, ["test_rerunboom", "test_flaky", "test_crash", "test_ok"],
                           ["-v", "--rerun", "--single-process"])
    assert {f.name: (f.outcome, f.attempts) for f in files} == {
        "test_rerunboom": ("crashed", 2), "test_flaky": ("flaky", 2), "test_crash": ("crashed", 1),
        "test_ok": ("passed", 1)}
    assert [command[-2:] for command in _commands(log)[2:]] == [["test_rerunboom", "test_flaky"],
                                                                 [str(tmp_path / "junit" / "test-4.xml"), "test_flaky"]]
