"""The runner's decisions, pure: classify() and RunState.apply() on real captured output cut
at chosen lines (no processes; tests/integration has the process plumbing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.testing.regrtest_output import parse_text
from emscripten_python.testing.runner import (
    DiedBetween, DiedIn, Finished, NeverStarted, RunState, SegmentReport, Selection, Silent, classify,
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
