"""The console parser on output captured from real runs (CPython 3.13.15, emcc 3.1.69, node 20)."""

from __future__ import annotations

from pathlib import Path

from emscripten_python.testing.junit import (
    attempt_counts, file_counts, file_for_case, junit_suites_by_file, read_regrtest_junit, read_regrtest_junit_suites,
    suite_of,
)
from emscripten_python.testing.regrtest_output import UNREADABLE, file_outcome, looks_like_crash, parse_lines, parse_text

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
    crash = output.crash
    assert crash == looks_like_crash(output.tail)
    assert crash.startswith("test_compiler_recursion_limit (test.test_compile.TestSpecifics")
    assert "RuntimeError: memory access out of bounds" in crash


def test_finished_run_with_rerun():
    output = parse_text((DATA / "regrtest-3.13.15-emscripten-rerun.txt").read_text())
    assert output.finished
    assert output.final_result == "FAILURE then FAILURE"
    assert output.totals["tests"] == "run=818 failures=18 skipped=340"
    assert output.lists["re-run"] == ["test_os"]
    assert output.lists["failed"] == ["test_os"]      # the last summary's lists: failed again
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


# -- issue 10: real 3.14 / 3.15 formats and adversarial variants of real output -------------------------

EXPECTED_EP = {   # the files of tests/e2e/test_regrtest_formats.py, as regrtest's own summary lists them
    ("test_ep_pass", 1): "passed", ("test_ep_fail", 1): "failed", ("test_ep_skip", 1): "skipped",
    ("test_ep_flaky", 1): "failed", ("test_ep_norun", 1): "no-tests", ("test_ep_resource", 1): "resource-denied",
    ("test_ep_envchanged", 1): "env-changed",
    ("test_ep_fail", 2): "failed", ("test_ep_flaky", 2): "passed", ("test_ep_envchanged", 2): "env-changed",
}


def test_coloured_314_output_gives_each_file_its_own_verdict():
    # CPython 3.14 colours verdicts and list headers (FORCE_COLOR); re-run in a worker process,
    # where the verdict line comes before the file's output.
    output = parse_text((DATA / "regrtest-3.14.10-native-color-rerun.txt").read_text())
    assert {key: a.outcome() for key, a in _attempts(output).items()} == EXPECTED_EP
    assert output.finished and output.final_result == "FAILURE"
    assert output.lists["skipped (resource denied)"] == ["test_ep_resource"]


def test_verbose_315_rerun_and_ran_no_tests():
    output = parse_text((DATA / "regrtest-3.15.2-native-verbose-rerun.txt").read_text())
    assert {key: a.outcome() for key, a in _attempts(output).items()} == EXPECTED_EP
    fail = _attempts(output)[("test_ep_fail", 1)]
    assert (fail.tests_run, fail.failures) == (3, 2)
    assert fail.cases["test_ep_fail.T.test_errors"].message == "TypeError: unrelated"


def test_counts_without_verbose_come_from_the_verdict_suffix_and_totals():
    output = parse_text((DATA / "regrtest-3.14.10-native-color-rerun.txt").read_text())
    assert _attempts(output)[("test_ep_fail", 1)].failures == 2          # "failed (1 error, 1 failure)"
    assert _attempts(output)[("test_ep_flaky", 1)].failures == 1
    assert output.total_tests == {"run": 12, "failures": 3, "skipped": 1}
    assert parse_lines(["Total tests: run=1,234 failures=5 skipped=67"]).total_tests == \
        {"run": 1234, "failures": 5, "skipped": 67}


def _rerun_lines() -> list[str]:
    return (DATA / "regrtest-3.13.15-emscripten-rerun.txt").read_text().splitlines()


def _outcomes(output):
    return {key: (a.outcome(), a.tests_run) for key, a in _attempts(output).items()}


def test_escape_codes_and_invalid_bytes_after_a_file_name():
    clean = parse_lines(_rerun_lines())
    noisy = []
    for line in _rerun_lines():
        if line.endswith("] test_os"):
            line += "\x1b[0m"
        elif line.endswith("] test_bool"):
            line += "\ufffd\udcff"
        elif line.endswith("] test_int passed"):
            line = line.replace("test_int passed", "\x1b[32mtest_int passed\x1b[0m\x1b[K")
        noisy.append(line)
    assert _outcomes(parse_lines(noisy)) == _outcomes(clean)
    assert ("test_bool", 1) in _outcomes(clean) and ("test_int", 1) in _outcomes(clean)


def test_stderr_spliced_into_a_progress_line():
    clean = parse_lines(_rerun_lines())
    spliced = ["Warning -- a line on stderr without a newline" + line if line.endswith("] test_bool") else line
               for line in _rerun_lines()]
    assert _outcomes(parse_lines(spliced)) == _outcomes(clean)
    # and stderr glued to the end of the name: the selection says which file it is
    glued = [line + "DeprecationWarning: x" if line.endswith("] test_bool") else line for line in _rerun_lines()]
    assert _outcomes(parse_lines(glued, names=["test_subprocess", "test_os", "test_bool", "test_int"])) \
        == _outcomes(clean)


def test_finished_files_keep_no_log_lines():
    output = parse_lines(_rerun_lines())
    for attempt in output.attempts:
        assert not getattr(attempt, "tail", None), attempt.name     # memory: no 40 lines per file
    failed = _attempts(output)[("test_os", 1)]
    assert failed.excerpt and "test_os failed" in failed.excerpt      # a bad outcome keeps an excerpt


def test_overlong_lines_are_capped_everywhere():
    huge = "x" * 10_000_000
    output = parse_lines([
        "0:00:00 [1/2] test_a", f"test_big (test.test_a.T.test_big) ... {huge}", "FAIL", "",
        "=" * 70, "FAIL: test_big (test.test_a.T.test_big)", "-" * 70, "Traceback (most recent call last):",
        huge, f"AssertionError: {huge}", "", "-" * 70, "Ran 1 test in 0.1s", "", "FAILED (failures=1)",
        "0:00:01 [1/2] test_a failed (1 failure)", "0:00:01 [2/2] test_b", huge, "RuntimeError: " + huge,
    ])
    failed = _attempts(output)[("test_a", 1)]
    case = failed.cases["test.test_a.T.test_big"]
    assert case.outcome == "failed"
    assert len(case.traceback) < 70_000 and len(case.message) < 70_000
    assert len(failed.excerpt) < 70_000
    assert output.unfinished.name == "test_b"
    assert "RuntimeError" in output.crash and len(output.crash) < 70_000


def _crash_lines() -> list[str]:
    return (DATA / "regrtest-3.13.15-emscripten-crash.txt").read_text().splitlines()


def test_crash_text_keeps_the_error_line_under_a_deep_stack():
    lines = _crash_lines()
    frame = "    at wasm://wasm/022be2e2:wasm-function[3230]:0x27c86a"
    at = lines.index("RuntimeError: memory access out of bounds")
    deep = lines[:at + 1] + [frame] * 5000 + lines[at + 1:]
    output = parse_lines(deep)
    assert output.unfinished.name == "test_compile"
    assert "RuntimeError: memory access out of bounds" in output.crash
    assert "test_compiler_recursion_limit" in output.crash and frame in output.crash
    assert len(output.crash) < 16_000


def test_crash_text_is_the_last_error_not_an_earlier_traceback():
    lines = _crash_lines()
    at = lines.index("RuntimeError: memory access out of bounds")
    unrelated = ["Traceback (most recent call last):", '  File "/x/test_compile.py", line 3, in helper',
                 "TypeError: an unrelated error the test caught and printed"]
    output = parse_lines(lines[:at - 10] + unrelated + lines[at - 10:])
    assert "RuntimeError: memory access out of bounds" in output.crash
    assert "unrelated" not in output.crash
    # the old helper too, given only lines
    assert "RuntimeError" in looks_like_crash(unrelated + lines[at - 3:at + 3])
    assert "unrelated" not in looks_like_crash(unrelated + lines[at - 3:at + 3])


def test_quiet_314_output_of_stdlib_files():
    # Non-verbose, uncoloured: a file that does not exist and one that fails to import are
    # "failed (uncaught exception)"; a network test is resource-denied.
    output = parse_text((DATA / "regrtest-3.14.10-native-quiet.txt").read_text())
    outcomes = {a.name: a.outcome() for a in output.attempts}
    assert len(outcomes) == 18
    assert {n for n, o in outcomes.items() if o == "failed"} == set(output.lists["failed"]) == {
        "test_dummy_thread", "test_this_file_does_not_exist"}
    assert [n for n, o in outcomes.items() if o == "resource-denied"] == output.lists["skipped (resource denied)"]
    assert sum(o == "passed" for o in outcomes.values()) == 15
    assert output.total_tests == {"run": 603, "skipped": 6}


def test_output_in_pieces_of_any_size_parses_the_same():
    from emscripten_python.testing.regrtest_output import RegrtestParser

    def summary(output):
        return ([(a.name, a.attempt, a.outcome(), a.tests_run, a.failures, a.skipped,
                  sorted((c.name, c.outcome, c.message) for c in a.cases.values())) for a in output.attempts],
                output.lists, output.finished, output.crash)

    for name in ("regrtest-3.13.15-emscripten-rerun.txt", "regrtest-3.13.15-emscripten-crash.txt",
                 "regrtest-3.14.10-native-color-rerun.txt", "regrtest-3.15.2-native-verbose-rerun.txt"):
        text = (DATA / name).read_text()
        whole = summary(parse_lines(text.splitlines()))
        for size in (1, 7, 64, 4096):
            parser = RegrtestParser()
            for at in range(0, len(text), size):
                parser.feed_text(text[at:at + size])
            assert summary(parser.close()) == whole, (name, size)


def test_subtest_and_odd_lines_that_end_like_a_verdict():
    output = parse_text("0:00:00 [1/1] test_x\n"
                        "test_sub (test.test_x.T.test_sub) (i=1) ... FAIL\n"
                        "test_a (test.test_x.T.test_a) ... ok\n"
                        "the test printed this ... ok\n"
                        " ... ok\n"
                        "test_b (test.test_x.T.test_b) ... some output ... skipped 'no'\n")
    cases = output.attempts[0].cases
    assert {c.name: (c.outcome, c.message) for c in cases.values()} == {
        "test.test_x.T.test_sub": ("failed", None), "test.test_x.T.test_a": ("passed", None),
        "test.test_x.T.test_b": ("skipped", "no")}


# -- counts, eras, crash text, known files (issue 20), on output of this machine's CPythons -------
# Captured from `python -m test --testdir DIR -u network [-v] [-w|--rerun] --junit-xml X` over
# purpose-written files (tests/e2e/test_regrtest_truth.py writes the same files and checks
# them live); regrtest's own summary in each log is what the assertions restate.

def _by_file(output):
    files = {}
    for attempt in output.attempts:
        files.setdefault(attempt.name, []).append(attempt)
    return files


def test_expected_failures_are_not_failures_and_unexpected_successes_are():
    files = _by_file(parse_text((DATA / "regrtest-3.12.1-native-verbose-rerun.txt").read_text()))
    xfail = attempt_counts(files["test_truth_xfail"][0])        # OK (expected failures=2)
    assert (xfail.tests_run, xfail.failures, xfail.expected_failures) == (3, 0, 2)
    assert file_outcome(files["test_truth_xfail"]) == "passed"
    xpass = attempt_counts(files["test_truth_xpass"][0])        # FAILED (unexpected successes=1)
    assert (xpass.tests_run, xpass.failures, xpass.unexpected_successes, xpass.failed) == (2, 1, 1, 0)
    skip = attempt_counts(files["test_truth_skip"][0])          # OK (skipped=2)
    # 3.12.1's unittest does not count the test skipped by its decorator in testsRun (`Ran 2 tests`)
    assert (skip.tests_run, skip.skipped, skip.failures) == (2, 2, 0)
    error = attempt_counts(files["test_truth_error"][0])        # FAILED (errors=1)
    assert (error.failures, error.errors, error.failed) == (1, 1, 0)


def test_attempt_counts_add_up_to_regrtests_total_tests():
    """regrtest's `Total tests:` adds every attempt's testsRun, FAIL cases and skips
    (libregrtest results.py accumulate_result, result.py TestStats.from_unittest)."""
    for log in ("regrtest-3.12.1-native-verbose-rerun.txt", "regrtest-3.15.2-native-verbose-rerun.txt"):
        output = parse_text((DATA / log).read_text())
        counts = [attempt_counts(a) for a in output.attempts]
        assert {"run": sum(c.tests_run for c in counts), "failures": sum(c.failed for c in counts),
                "skipped": sum(c.skipped for c in counts)} == \
            {key: output.total_tests.get(key, 0) for key in ("run", "failures", "skipped")}, log


def test_without_verbose_counts_come_from_the_junit_file_per_attempt():
    output = parse_text((DATA / "regrtest-3.13.0-native-rerun.txt").read_text())
    files = _by_file(output)
    suites = junit_suites_by_file(read_regrtest_junit_suites(DATA / "regrtest-3.13.0-native-rerun.junit.xml"),
                                  list(files))
    skip = file_counts(files["test_truth_skip"], suites["test_truth_skip"])
    assert (skip.tests_run, skip.skipped) == (3, 2)               # no `OK (skipped=2)` without -v
    xfail = file_counts(files["test_truth_xfail"], suites["test_truth_xfail"])
    assert (xfail.tests_run, xfail.failures, xfail.expected_failures) == (3, 0, 2)
    # a re-run file counts its re-run attempt only: test_truth_fail ran 3, then its 2 failing cases
    fail = file_counts(files["test_truth_fail"], suites["test_truth_fail"])
    assert (fail.tests_run, fail.failures) == (2, 2)
    flaky = file_counts(files["test_truth_flaky"], suites["test_truth_flaky"])
    assert (flaky.tests_run, flaky.failures) == (1, 0) and file_outcome(files["test_truth_flaky"]) == "flaky"
    every = [attempt_counts(a, suite_of(i, suites.get(name, []))) for name in files
             for i, a in enumerate(files[name])]
    assert (sum(c.tests_run for c in every), sum(c.failed for c in every), sum(c.skipped for c in every)) \
        == (24, 5, 2) == tuple(output.total_tests[k] for k in ("run", "failures", "skipped"))


def test_311_same_process_rerun_is_an_era_of_its_own():
    """3.11.0-3.11.6 `-w`: `Re-running test_x in verbose mode` and the verbose output, no
    progress line; the first `== Tests result` comes before the re-run."""
    for log in ("regrtest-3.11.2-native-verbose-rerun.txt", "regrtest-3.11.2-native-rerun.txt"):
        output = parse_text((DATA / log).read_text())
        files = _by_file(output)
        assert output.finished and output.summary_state == "FAILURE then FAILURE"
        assert [len(files[name]) for name in ("test_truth_fail", "test_truth_error", "test_truth_flaky",
                                              "test_truth_pass")] == [2, 2, 2, 1]
        assert file_outcome(files["test_truth_flaky"]) == "flaky"
        assert file_outcome(files["test_truth_fail"]) == "failed"
        assert file_outcome(files["test_truth_error"]) == "failed"
        # the re-run's cases are its own, not added to the file before it
        assert set(files["test_truth_flaky"][1].cases) == {"test_truth_flaky.T.test_flaky"}
        assert files["test_truth_flaky"][1].cases["test_truth_flaky.T.test_flaky"].outcome == "passed"
        assert files["test_truth_skipmod"][0].cases == {}
        assert output.lists["failed"] == ["test_truth_error", "test_truth_fail"]


def test_crash_glued_to_the_running_case_line():
    output = parse_text((DATA / "regrtest-3.13.0-native-verbose-abort.txt").read_text())
    assert output.unfinished.name == "test_truth_abort"
    assert output.running_case == "test_truth_abort.T.test_z_abort"
    assert "test_z_abort (test_truth_abort.T.test_z_abort) ... Fatal Python error: Aborted" in output.crash
    glued = next(i for i, line in enumerate(output.tail) if line.endswith("... Fatal Python error: Aborted"))
    assert "... Fatal Python error: Aborted" in looks_like_crash(output.tail[glued - 1:])
    plain = parse_text((DATA / "regrtest-3.11.2-native-abort.txt").read_text())
    assert plain.unfinished.name == "test_truth_abort" and plain.crash.startswith("Fatal Python error: Aborted")


def test_text_inside_a_fail_or_error_section_is_never_crash_text():
    # A file printed an ERROR section (its traceback ends in `RuntimeError: boom`), then the
    # runtime died without a word: there is no crash text to show.
    lines = (DATA / "regrtest-3.12.1-native-verbose-rerun.txt").read_text().splitlines()
    upto = next(i for i, line in enumerate(lines) if line.startswith("FAILED (errors=1)"))
    output = parse_lines(lines[:upto - 3])
    assert output.unfinished.name == "test_truth_error"
    assert any("RuntimeError: boom inside a test" in line for line in output.tail)
    assert output.crash is None
    text = parse_text("\n".join(lines[:upto - 3]))
    assert text.crash is None


def test_known_files_never_report_a_spliced_fragment_as_a_file():
    lines = (DATA / "regrtest-3.13.0-native-rerun.txt").read_text().splitlines()
    known = ["test_truth_pass", "test_truth_fail", "test_truth_error", "test_truth_skip", "test_truth_xfail",
             "test_truth_xpass", "test_truth_flaky", "test_truth_resource", "test_truth_skipmod"]
    at = next(i for i, line in enumerate(lines) if "] test_truth_error -- " in line)
    start = lines[at]
    # stderr written into the middle of the name: `test_tr` + `warning: stderr text` / `uth_error -- …`
    cut = start.index("test_truth_error") + 7
    spliced = lines[:at] + [start[:cut] + "warning: stderr text", start[cut:]] + lines[at + 1:]
    assert {a.name for a in parse_lines(spliced).attempts} - set(known) == {"test_trwarning"}
    output = parse_lines(spliced, known=known)
    assert {a.name for a in output.attempts} <= set(known)
    files = _by_file(output)
    # test_truth_error's verdict rides on the next progress line: it is reported with it
    assert files["test_truth_error"][0].outcome() == "failed"
    # test_truth_fail's went with the spliced line: unreadable, so the summary lists decide
    assert files["test_truth_fail"][0].state == UNREADABLE
    assert file_outcome(files["test_truth_fail"], "failed") == "failed"
    # its cases are not given to another file
    assert files["test_truth_pass"][0].outcome() is None
