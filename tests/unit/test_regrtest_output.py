"""The console parser on output captured from real runs (CPython 3.13.15, emcc 3.1.69, node 20)."""

from __future__ import annotations

from pathlib import Path

from emscripten_python.testing.junit import file_for_case, read_regrtest_junit
from emscripten_python.testing.regrtest_output import looks_like_crash, parse_lines, parse_text

DATA = Path(__file__).with_name("data")


def _attempts(output):
    return {(a.name, a.attempt): a for a in output.attempts}


def test_crashed_run_has_results_up_to_the_crash():
    output = parse_text((DATA / "regrtest-3.13.15-emscripten-crash.txt").read_text())
    assert not output.finished
    assert [a.name for a in output.attempts] == [
        "test_math", "test_zlib", "test_json", "test_list", "test_subprocess", "test_os", "test_compile"]
    attempts = _attempts(output)
    assert attempts[("test_math", 1)].outcome() == "passed"
    assert attempts[("test_math", 1)].tests_run == 86
    assert attempts[("test_subprocess", 1)].outcome() == "skipped"
    test_os = attempts[("test_os", 1)]
    assert test_os.outcome() == "failed"
    assert (test_os.tests_run, test_os.failures, test_os.skipped) == (370, 17, 170)
    failing = [c for c in test_os.cases.values() if c.outcome in ("failed", "error")]
    assert len(failing) == 17
    walk = test_os.cases["test.test_os.WalkTests.test_walk_symlink"]
    assert walk.outcome == "failed" and walk.message == "AssertionError: Didn't follow symlink with followlinks=True"
    assert output.unfinished.name == "test_compile"
    assert output.running_case == "test.test_compile.TestSpecifics.test_compiler_recursion_limit"
    crash = looks_like_crash(list(output.unfinished.tail))
    assert crash.startswith("test_compiler_recursion_limit (test.test_compile.TestSpecifics")
    assert "RuntimeError: memory access out of bounds" in crash


def test_finished_run_with_rerun():
    output = parse_text((DATA / "regrtest-3.13.15-emscripten-rerun.txt").read_text())
    assert output.finished
    assert output.final_result == "FAILURE then FAILURE"
    assert output.totals["tests"] == "run=818 failures=18 skipped=340"
    assert output.lists["re-run"] == ["test_os"]
    assert "test_os" in output.lists["failed again"]
    attempts = _attempts(output)
    assert attempts[("test_os", 2)].outcome() == "failed"
    assert attempts[("test_bool", 1)].outcome() == "passed" and attempts[("test_bool", 1)].tests_run == 31
    assert output.unfinished is None


def test_old_format_progress_suffix_and_tests_result_line():
    # regrtest <= 3.12: the verdict of the previous file rides on the next progress line.
    output = parse_lines([
        "0:00:00 load avg: 0.00 [1/3] test_a",
        "0:00:01 load avg: 0.00 [2/3] test_b -- test_a failed (2 failures)",
        "0:00:02 [3/3/1] test_c -- test_b skipped (resource denied)",
        "test_c passed in 31.2 sec",
        "== Tests result: FAILURE ==",
        "",
        "1 test failed:",
        "    test_a",
        "",
        "Total duration: 3 sec",
        "Tests result: FAILURE",
    ])
    attempts = _attempts(output)
    assert attempts[("test_a", 1)].outcome() == "failed"
    assert attempts[("test_b", 1)].outcome() == "resource-denied"
    assert attempts[("test_c", 1)].outcome() == "passed"
    assert output.finished and output.lists["failed"] == ["test_a"]


def test_case_result_on_a_later_line():
    output = parse_lines([
        "0:00:00 [1/1] test_x",
        "test_prints (test.test_x.T.test_prints) ... some output the test wrote",
        "ok",
        "test_doc (test.test_x.T.test_doc)",
        "Docstring first line ... skipped 'needs a tty'",
        "Ran 2 tests in 0.1s",
        "OK (skipped=1)",
    ])
    cases = output.attempts[0].cases
    assert cases["test.test_x.T.test_prints"].outcome == "passed"
    assert cases["test.test_x.T.test_doc"].outcome == "skipped"
    assert cases["test.test_x.T.test_doc"].message == "needs a tty"
    assert output.attempts[0].skipped == 1


def test_regrtest_junit_from_real_run():
    cases = read_regrtest_junit(DATA / "regrtest-3.13.15-emscripten-rerun.junit.xml")
    names = {c.name for c in cases}
    assert "test.test_os.WalkTests.test_walk_symlink" in names
    walk = [c for c in cases if c.name == "test.test_os.WalkTests.test_walk_symlink"]
    assert walk[0].outcome == "failed" and "followlinks" in walk[0].traceback
    assert any(c.outcome == "error" for c in cases)
    assert any(c.outcome == "skipped" for c in cases)
    owners = {file_for_case(c.name, ["test_os", "test_bool", "test_int"]) for c in cases}
    assert owners == {"test_os", "test_bool", "test_int"}


def test_missing_or_broken_junit_is_empty(tmp_path):
    assert read_regrtest_junit(tmp_path / "missing.xml") == []
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testcase")
    assert read_regrtest_junit(broken) == []
