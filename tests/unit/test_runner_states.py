"""The runner's decisions, pure: classify() and RunState.apply() on real captured output cut
at chosen lines (no processes; tests/integration has the process plumbing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.testing.regrtest_output import parse_text
from emscripten_python.testing.runner import (
    DiedBetween, DiedIn, Finished, NeverStarted, Rerun, RunState, SegmentReport, Selection, Silent, classify,
)

DATA = Path(__file__).with_name("data")
RERUN = (DATA / "regrtest-3.13.15-emscripten-rerun.txt").read_text()
CRASH = (DATA / "regrtest-3.13.15-emscripten-crash.txt").read_text()
RERUN_FILES = ["test_subprocess", "test_os", "test_bool", "test_int"]


def _report(text: str, returncode: int = 1) -> SegmentReport:
    return SegmentReport(parse_text(text), returncode, len(text))


def _cut(text: str, after: str) -> str:
    return text[:text.index(after) + len(after) + 1]


def test_classify():
    assert classify(_report(RERUN, 2)) == Finished()
    died = classify(_report(CRASH))
    assert isinstance(died, DiedIn) and died.attempt.name == "test_compile" and not died.timed_out
    assert classify(_report(_cut(RERUN, "[1/4] test_subprocess skipped"))) == DiedBetween()
    assert classify(_report(_cut(RERUN, "Run 4 tests sequentially in a single process"))) == NeverStarted()
    assert classify(_report("")) == Silent()
    # the runtime died while test_os was re-run, after the first summary
    rerun = classify(_report(_cut(RERUN, "Run 1 test sequentially in a single process") + "0:00:02 [1/1] test_os\n"))
    assert isinstance(rerun, DiedIn) and (rerun.attempt.name, rerun.attempt.attempt) == ("test_os", 2)


def test_apply_died_between_blames_nobody():
    state = RunState(Selection(RERUN_FILES))
    report = _report(_cut(RERUN, "[3/4/1] test_bool passed"))
    state.apply(classify(report), report)
    assert {n: f.outcome for n, f in state.results.items()} == {
        "test_subprocess": "skipped", "test_os": "failed", "test_bool": "passed"}
    assert state.remaining == ["test_int"]


def test_apply_died_in_a_rerun_is_a_crash_of_that_file():
    state = RunState(Selection(RERUN_FILES))
    text = _cut(RERUN, "Run 1 test sequentially in a single process")
    text += "0:00:02 [1/1] test_os\nRuntimeError: memory access out of bounds\n    at wasm://x\n"
    report = _report(text)
    state.apply(classify(report), report)
    os_result = state.results["test_os"]
    assert (os_result.outcome, os_result.attempts) == ("crashed", 2)
    assert os_result.crash == "RuntimeError: memory access out of bounds\n    at wasm://x"
    assert state.remaining == []
    assert [f.name for f in state.ordered()] == RERUN_FILES


def test_apply_never_started_twice_blames_the_first_file_and_three_times_stops():
    state = RunState(Selection(["test_a", "test_b"]))
    report = _report("== CPython 3.13.15\nAborted(oom)\n")
    state.apply(classify(report), report)
    assert state.results == {} and state.remaining == ["test_a", "test_b"]
    state.apply(classify(report), report)
    assert state.results["test_a"].outcome == "crashed" and "Aborted(oom)" in state.results["test_a"].crash
    assert state.remaining == ["test_b"]
    with pytest.raises(TestRunError, match="died 3 times"):
        state.apply(classify(report), report)


def test_vanished_stdout_is_an_error():
    with pytest.raises(TestRunError, match="stdout vanished"):
        RunState(Selection(["test_a"])).apply(Silent(), _report("", returncode=0))


def test_selection_expands_a_package_after_a_crash_in_it():
    selection = Selection(["test_a", "test_asyncio", "test_z"],
                          lister=lambda names: [f"test_asyncio.test_{x}" for x in "bcd"])
    state = RunState(selection)
    text = ("0:00:00 [1/5] test_a\n0:00:01 [1/5] test_a passed\n0:00:01 [2/5] test_asyncio.test_b\n"
            "0:00:02 [2/5] test_asyncio.test_b passed\n0:00:02 [3/5] test_asyncio.test_c\nRangeError: Maximum call stack size exceeded\n")
    report = _report(text)
    state.apply(classify(report), report)
    assert state.results["test_asyncio.test_c"].outcome == "crashed"
    assert state.remaining == ["test_asyncio.test_d", "test_z"]
    assert selection.owner("test_asyncio.test_d") == selection.owner("test.test_asyncio.test_d") == "test_asyncio"


# -- issue 20: files a dead segment left failed are re-run as regrtest would have ------------------

OS_FAILED = ["test_compare_to_walk", "test_dir_fd", "test_walk_symlink", "test_yields_correct_dir_fd",
             "test_pathconf_negative_fd_uses_fd_semantics", "test_utime", "test_utime_by_indexed",
             "test_utime_by_times", "test_utime_dir_fd", "test_utime_directory", "test_utime_fd"]
FIRST_PHASE = _cut(RERUN, "[3/4/1] test_bool passed")     # test_os failed; then the runtime died


def _state(args: list[str], version: str = "3.13.15", names=RERUN_FILES) -> RunState:
    return RunState(Selection(names), rerun=Rerun.of(args, version))


def _apply(state: RunState, text: str, returncode: int = 1):
    report = _report(text, returncode)
    end = classify(report)
    return end, state.apply(end, report)


def test_a_failed_file_of_a_dead_segment_waits_for_a_rerun_only_when_reruns_are_on():
    state = _state(["-v", "--rerun", "--single-process"])
    _apply(state, FIRST_PHASE)
    assert list(state.to_rerun) == ["test_os"] and state.results["test_os"].outcome == "failed"
    assert state.remaining == ["test_int"]
    off = _state(["-v", "--single-process"])
    _apply(off, FIRST_PHASE)
    assert off.rerun is None and off.to_rerun == {}
    # regrtest's own re-run phase came: nothing left for the runner
    done = _state(["-v", "--rerun", "--single-process"])
    _apply(done, RERUN, returncode=2)
    assert done.to_rerun == {} and (done.results["test_os"].outcome, done.results["test_os"].attempts) == ("failed", 2)


def test_a_death_in_regrtests_rerun_phase_leaves_the_files_not_yet_rerun_to_the_runner():
    text = ("0:00:00 [1/3] test_a\ntest_x (test.test_a.T.test_x) ... FAIL\nRan 1 test in 0.1s\nFAILED (failures=1)\n"
            "0:00:00 [1/3] test_a failed (1 failure)\n0:00:00 [2/3] test_b\ntest_y (test.test_b.T.test_y) ... FAIL\n"
            "Ran 1 test in 0.1s\nFAILED (failures=1)\n0:00:00 [2/3] test_b failed (1 failure)\n"
            "0:00:00 [3/3] test_c\n0:00:00 [3/3] test_c passed\n\n== Tests result: FAILURE ==\n\n"
            "0:00:01 Re-running 2 failed tests in verbose mode\n0:00:01 [1/2] test_a\n"
            "RuntimeError: memory access out of bounds\n")
    state = _state(["-v", "--rerun", "--single-process"], names=["test_a", "test_b", "test_c"])
    end, _ = _apply(state, text)
    assert isinstance(end, DiedIn) and end.attempt.attempt == 2
    assert (state.results["test_a"].outcome, state.results["test_a"].attempts) == ("crashed", 2)
    assert list(state.to_rerun) == ["test_b"]       # before: it kept "failed" without its re-run


@pytest.mark.parametrize("args, version, files, expected", [
    # 3.13+ --single-process: all files at once, whole files (no match), verbose
    (["-v", "-uall", "--rerun", "--single-process", "-m", "test_*"], "3.13.15", ["test_os", "test_b"],
     ["-v", "-uall", "--single-process", "-m", "test_*"]),
    # 3.12+ workers: one file, its failed cases instead of the run's patterns
    (["-vv", "-w", "-m", "test_*", "--ignore", "x", "-u", "cpu"], "3.12.1", ["test_os"],
     ["-v", "-u", "cpu", *[arg for name in OS_FAILED for arg in ("-m", name)]]),
    # 3.11.0-3.11.6: one file, the run's patterns and its failed cases
    (["-w", "-m", "test_*"], "3.11.4", ["test_os"],
     ["-v", "-m", "test_*", *[arg for name in OS_FAILED for arg in ("-m", name)]]),
])
def test_the_rerun_command_of_each_era(args, version, files, expected):
    state = _state(args, version, names=["test_os", "test_b", "test_int"])
    _apply(state, _cut(RERUN, "[2/4/1] test_os failed (8 errors, 9 failures)"))
    state.to_rerun.setdefault("test_b", state.to_rerun["test_os"])
    assert state.next_rerun() == (files, expected)


def test_a_module_level_error_reruns_the_whole_file_as_regrtest_does():
    text = ("0:00:00 [1/2] test_a\n" + "=" * 70 + "\nERROR: setUpModule (test.test_a)\n" + "-" * 70 +
            "\nTraceback (most recent call last):\nOSError: no\n\nRan 0 tests in 0.1s\nFAILED (errors=1)\n"
            "0:00:00 [1/2] test_a failed (1 error)\n0:00:00 [2/2] test_b\nAborted(oom)\n")
    state = _state(["-v", "--rerun", "-m", "test_*"], "3.12.1", names=["test_a", "test_b"])
    _apply(state, text)
    assert state.next_rerun() == (["test_a"], ["-v", "-m", "test_*"])       # the run's own patterns


def _rerun_report(name: str, verdict: str, index: str = "1/1") -> str:
    body = {"passed": f"test_x (test.{name}.T.test_x) ... ok\nRan 1 test in 0.1s\nOK\n",
            "failed": f"test_x (test.{name}.T.test_x) ... FAIL\nRan 1 test in 0.1s\nFAILED (failures=1)\n"}[verdict]
    return (f"0:00:00 Run 1 test sequentially in a single process\n0:00:00 [{index}] {name}\n{body}"
            f"0:00:00 [{index}] {name} {verdict}\n\n== Tests result: {'SUCCESS' if verdict == 'passed' else 'FAILURE'}"
            " ==\n\nResult: X\n")


@pytest.mark.parametrize("verdict, outcome", [("passed", "flaky"), ("failed", "failed")])
def test_apply_rerun_records_the_second_attempt(verdict, outcome):
    state = _state(["-v", "--rerun", "--single-process"])
    _apply(state, FIRST_PHASE)
    first = state.results["test_os"]
    report = _report(_rerun_report("test_os", verdict), 0)
    message = state.apply_rerun(classify(report), report, ["test_os"])
    result = state.results["test_os"]
    assert (result.outcome, result.attempts) == (outcome, 2) and state.to_rerun == {}
    # the counts of the attempt whose verdict holds (the re-run's: 1 case); the first's duration
    assert (result.tests_run, result.failures) == (1, 0 if verdict == "passed" else 1)
    assert (first.tests_run, first.failures) == (370, 17) and result.duration == first.duration
    assert message == f"re-run of test_os: test_os {outcome}"


def test_apply_rerun_a_death_in_it_is_a_crash_of_its_second_attempt():
    state = _state(["-v", "--rerun", "--single-process"])
    _apply(state, FIRST_PHASE)
    report = _report("0:00:00 [1/1] test_os\ntest_x (test.test_os.T.test_x) ... \nRuntimeError: memory access out of bounds\n")
    state.apply_rerun(classify(report), report, ["test_os"])
    result = state.results["test_os"]
    assert (result.outcome, result.attempts) == ("crashed", 2) and "memory access" in result.crash


def test_apply_rerun_start_up_deaths_blame_the_file_after_two_and_finished_keeps_the_first_verdict():
    state = _state(["-v", "--rerun", "--single-process"], names=["test_a", "test_b"])
    text = ("0:00:00 [1/2] test_a\ntest_x (test.test_a.T.test_x) ... FAIL\nRan 1 test in 0.1s\nFAILED (failures=1)\n"
            "0:00:00 [1/2] test_a failed (1 failure)\n0:00:00 [2/2] test_b\ntest_x (test.test_b.T.test_x) ... FAIL\n"
            "Ran 1 test in 0.1s\nFAILED (failures=1)\n0:00:00 [2/2] test_b failed (1 failure)\nAborted(x)\n")
    _apply(state, text)
    assert list(state.to_rerun) == ["test_a", "test_b"]
    dead = _report("== CPython 3.13.15\nAborted(oom)\n")
    assert "no result yet" in state.apply_rerun(classify(dead), dead, ["test_a", "test_b"])
    state.apply_rerun(classify(dead), dead, ["test_a", "test_b"])
    assert (state.results["test_a"].outcome, state.results["test_a"].attempts) == ("crashed", 2)
    finished = _report("0:00:00 Run 1 test sequentially\n\n== Tests result: SUCCESS ==\n\nResult: SUCCESS\n", 0)
    state.apply_rerun(classify(finished), finished, ["test_b"])
    assert state.to_rerun == {} and (state.results["test_b"].outcome, state.results["test_b"].attempts) == ("failed", 1)


def test_apply_rerun_vanished_stdout_is_an_error():
    state = _state(["-v", "--rerun", "--single-process"])
    _apply(state, FIRST_PHASE)
    with pytest.raises(TestRunError, match="stdout vanished"):
        state.apply_rerun(Silent(), _report("", 0), ["test_os"])


def test_env_changed_files_are_rerun_since_312_only():
    text = ("0:00:00 [1/2] test_a\ntest_x (test.test_a.T.test_x) ... ok\nRan 1 test in 0.1s\nOK\n"
            "0:00:00 [1/2] test_a failed (env changed)\n0:00:00 [2/2] test_b\nAborted(x)\n")
    for version, expected in (("3.12.1", ["test_a"]), ("3.11.4", [])):
        state = _state(["-v", "-w"], version, names=["test_a", "test_b"])
        _apply(state, text)
        assert state.results["test_a"].outcome == "env-changed" and list(state.to_rerun) == expected
