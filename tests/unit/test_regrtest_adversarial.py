"""Adversarial variants of real regrtest output, written from regrtest's own source
(Lib/test/libregrtest: Logger.display_progress, TestResult.__str__, Regrtest.run_tests_sequentially,
TestResults.display_result / display_summary) and checked through the runner's own decisions
(`classify` + `RunState.apply`), the way a segment's output is judged.

The central property: wherever the output stops (every byte of a small real log, every byte of
every progress line and every line end of the larger ones), parsing does not raise and no file
comes out `passed` (or `flaky`) unless regrtest had already printed that it passed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.testing.regrtest_output import RegrtestParser, parse_text
from emscripten_python.testing.runner import RunState, SegmentReport, Selection, classify

DATA = Path(__file__).with_name("data")
LOGS = sorted(p.name for p in DATA.glob("regrtest-*.txt"))
COLOUR = rb"(?:\x1b\[[0-9;]*m)*"
P = "0:00:00 load avg: 0.10 "


def _names(raw: bytes) -> list[str]:
    """The files of a log, read with a pattern of our own from regrtest's `[ i/N] name` shape."""
    found = re.findall(rb"\[ *\d+/\d+(?:/\d+)?\] " + COLOUR + rb"(test\w*)", raw)
    return list(dict.fromkeys(name.decode() for name in found))


def _passed_at(raw: bytes, names: list[str]) -> dict[str, int]:
    """Where regrtest has said, for each file, that it passed: the end of `] name passed`."""
    ends = {}
    for name in names:
        said = re.search(rb"\] " + COLOUR + re.escape(name.encode()) + rb" passed", raw)
        if said:
            ends[name] = said.end()
    return ends


def _judge(text: str, names: list[str], returncode: int = 1):
    """What the runner records from one segment that printed `text`."""
    parser = RegrtestParser(names=names)
    parser.feed_text(text)
    output = parser.close()
    report = SegmentReport(output, returncode, len(text))
    state = RunState(Selection(names))
    end = classify(report)
    try:
        state.apply(end, report)
    except TestRunError:
        pass
    return state, end


def _cut_points(raw: bytes) -> list[int]:
    if len(raw) <= 8_000:
        return list(range(len(raw) + 1))
    cuts, pos = {len(raw)}, 0
    for line in raw.split(b"\n"):
        cuts.update((pos, pos + 1))
        if re.search(rb"\] (?:test|\x1b)", line) or line.startswith((b"==", b"Result", b"Total", b"Tests result")):
            cuts.update(range(pos, pos + len(line) + 1))
        pos += len(line) + 1
    return sorted(cut for cut in cuts if cut <= len(raw))


# The oracle `_passed_at` reads regrtest's `name passed` verdict lines (printed for every
# file from 3.13.1); up to 3.13.0 a pass is silent (the next start line has no `-- name`
# suffix), and cut points of those logs are covered by tests/fuzz/test_fuzz_regrtest_grammar.py.
VERDICT_LINE_LOGS = [log for log in LOGS if re.search(rb"\] " + COLOUR + rb"test\w* (?:passed|failed)",
                                                      (DATA / log).read_bytes().split(b"Re-running")[0])]


@pytest.mark.parametrize("log", VERDICT_LINE_LOGS)
def test_output_cut_anywhere_never_invents_a_pass(log):
    raw = (DATA / log).read_bytes()
    names = _names(raw)
    passed_at = _passed_at(raw, names)
    invented = []
    for cut in _cut_points(raw):
        state, end = _judge(raw[:cut].decode("utf-8", "replace"), names)
        for name, result in state.results.items():
            if result.outcome in ("passed", "flaky") and passed_at.get(name, len(raw) + 1) > cut:
                invented.append((cut, name, result.outcome, type(end).__name__))
    assert not invented, invented[:10]


@pytest.mark.parametrize("log", LOGS)
def test_crlf_line_ends_give_the_same_results(log):
    text = (DATA / log).read_text(errors="replace")
    names = _names(text.encode())
    plain, _ = _judge(text, names)
    crlf, _ = _judge(text.replace("\n", "\r\n"), names)
    assert {n: (r.outcome, r.failures, r.tests_run, r.attempts) for n, r in crlf.results.items()} == \
        {n: (r.outcome, r.failures, r.tests_run, r.attempts) for n, r in plain.results.items()}


@pytest.mark.parametrize("log", LOGS)
def test_invalid_bytes_after_every_start_line_name_change_nothing(log):
    raw = (DATA / log).read_bytes()
    names = _names(raw)
    # `[3/9] test_json` + two invalid bytes, at the end of every start line
    noisy = re.sub(rb"(\] (?:test\w*))\n", lambda m: m.group(1) + b"\xff\xc3\n", raw)
    assert noisy != raw
    plain, _ = _judge(raw.decode("utf-8", "replace"), names)
    dirty, _ = _judge(noisy.decode("utf-8", "replace"), names)
    assert {n: r.outcome for n, r in dirty.results.items()} == {n: r.outcome for n, r in plain.results.items()}


def test_the_315_log_coloured_as_314_colours_it_gives_the_same_results():
    text = (DATA / "regrtest-3.15.2-native-verbose-rerun.txt").read_text()
    names = _names(text.encode())
    colours = {"passed": "32", "skipped": "33", "ran no tests": "33", "failed": "1;31"}

    def paint(match):
        return f"] \x1b[{colours[match.group(2).split(' (')[0]]}m{match.group(1)} {match.group(2)}\x1b[0m"
    coloured = re.sub(r"\] (test\w+) (passed|skipped.*|ran no tests|failed.*)$", paint, text, flags=re.M)
    coloured = re.sub(r"^(\d+ tests? [^:\n]*:)$", "\x1b[1;31m\\1\x1b[0m", coloured, flags=re.M)
    assert coloured.count("\x1b[") > 10
    plain, _ = _judge(text, names)
    painted, _ = _judge(coloured, names)
    assert {n: (r.outcome, r.attempts) for n, r in painted.results.items()} == \
        {n: (r.outcome, r.attempts) for n, r in plain.results.items()}


def test_the_running_files_own_verdict_line_cut_off_is_not_a_new_start():
    # Before: "[2/2] test_b pa" started test_b again (its cases dropped) and, for a cut name,
    # "[2/2] test_" started a new file, so test_b came out `passed`.
    head = (P + "[1/2] test_a\n" + P + "[1/2] test_a passed\n" + P + "[2/2] test_b\n"
            "test_x (test.test_b.T.test_x) ... ok\n")
    for tail in ("[2/2] test_b pa", "[2/2] test_", "[2/2] test_b", "[2/2] test_b passe"):
        state, end = _judge(head + P + tail, ["test_a", "test_b"])
        assert type(end).__name__ == "DiedIn", tail
        assert state.results["test_b"].outcome == "crashed", tail
        assert [c.name for c in state.results["test_b"].cases] == ["test.test_b.T.test_x"], tail
        assert state.results["test_a"].outcome == "passed"


def test_old_format_suffix_cut_off_is_no_pass():
    # 3.12: the previous file's verdict rides on the next start line ("-- test_a failed (…)");
    # a suffix cut off by the crash does not mean test_a passed.
    text = P + "[1/2] test_a\n" + P + "[2/2] test_b -- test_a fai"
    state, _ = _judge(text, ["test_a", "test_b"])
    assert state.results["test_a"].outcome != "passed"
    assert state.results["test_b"].outcome == "crashed"
    # while a whole start line with no suffix does (regrtest says nothing of a file that
    # passed quickly); the same line with no newline yet could still have had a suffix
    state, _ = _judge(P + "[1/2] test_a\n" + P + "[2/2] test_b\n", ["test_a", "test_b"])
    assert state.results["test_a"].outcome == "passed"
    state, _ = _judge(P + "[1/2] test_a\n" + P + "[2/2] test_b", ["test_a", "test_b"])
    assert state.results["test_a"].outcome != "passed"


def test_worker_process_crashed_verdict_in_the_rerun_phase():
    # TestResult.__str__ for State.MULTIPROCESSING_ERROR: "test_x process crashed", and the
    # worker's error message after it: "(Exit code -9)".
    text = (P + "[1/2] test_a\n" + P + "[1/2/1] test_a failed (1 failure)\n" + P + "[2/2/1] test_b\n"
            + P + "[2/2/1] test_b passed\n\n== Tests result: FAILURE ==\n\n1 test failed:\n    test_a\n\n"
            "1 test OK.\n\n" + P + "Re-running 1 failed tests in verbose mode in subprocesses\n"
            + P + "Run 1 test in parallel using 1 worker process\n"
            + P + "[1/1/1] test_a process crashed (Exit code -9)\n\n1 test failed again:\n    test_a\n\n"
            "== Tests result: FAILURE then FAILURE ==\n\nResult: FAILURE then FAILURE\n")
    state, end = _judge(text, ["test_a", "test_b"])
    assert type(end).__name__ == "Finished"
    assert (state.results["test_a"].outcome, state.results["test_a"].attempts) == ("crashed", 2)
    assert state.results["test_b"].outcome == "passed"


def test_interrupted_file_without_a_verdict_is_not_passed():
    # Regrtest.run_tests_sequentially stops at once on State.INTERRUPTED (must_stop) and prints
    # no verdict; the summary says INTERRUPTED and lists the rest as omitted.
    text = (P + "[1/2] test_a\n\n\n== Tests result: INTERRUPTED ==\n\n1 test omitted:\n    test_b\n\n"
            "Test suite interrupted by signal SIGINT.\nTotal duration: 3 sec\nTotal tests: run=2\n"
            "Total test files: run=0/2\nResult: INTERRUPTED\n")
    state, _ = _judge(text, ["test_a", "test_b"])
    assert state.results["test_a"].outcome != "passed"
    assert state.results["test_b"].outcome != "passed"


@pytest.mark.parametrize("verdict,outcome", [
    ("test_a failed (reference leak)", "failed"),
    ("test_a failed (uncaught exception)", "failed"),
    ("test_a failed (env changed)", "env-changed"),
    ("test_a timed out (20 min 3 sec)", "timed-out"),
    ("test_a skipped (resource denied)", "resource-denied"),
    ("test_a ran no tests", "no-tests"),
    ("test_a run no tests", "no-tests"),               # 3.11's wording
    ("test_a crashed (Exit code 1)", "crashed"),         # 3.11 CHILD_ERROR with its err_msg
    ("test_a passed (31.2 sec) -- running (1): test_b (30.0 sec)", "passed"),   # -jN
    ("\x1b[1;31mtest_a failed (1 error)\x1b[0m", "failed"),
])
def test_every_verdict_shape_of_test_result_str(verdict, outcome):
    text = (P + "[1/1] test_a\n" + P + f"[1/1/1] {verdict}\n\n== Tests result: FAILURE ==\n\n")
    state, _ = _judge(text, ["test_a"])
    assert state.results["test_a"].outcome == outcome


def test_a_long_space_run_after_a_start_line_and_missing_final_newline():
    text = (P + "[1/1] test_a" + " " * 300_000 + "\n" + P + "[1/1] test_a passed" + " " * 300_000)
    state, end = _judge(text, ["test_a"])
    assert state.results["test_a"].outcome == "passed"
    assert type(end).__name__ == "DiedBetween"


def test_huntrleaks_warning_and_leak_lines_do_not_disturb_the_verdicts():
    text = ("WARNING: Running tests with --huntrleaks/-R and less than 3 warmup repetitions can give "
            "false positives!\n" + P + "Run 1 test sequentially in a single process\n" + P + "[1/1] test_a\n"
            "beginning 6 repetitions. Showing number of leaks (. for 0 or less, X for 10 or more)\n"
            "123456\nXX.X..\ntest_a leaked [1, 1, 1] references, sum=3\n"
            + P + "[1/1/1] test_a failed (reference leak)\n\n== Tests result: FAILURE ==\n\n1 test failed:\n"
            "    test_a\n\nResult: FAILURE\n")
    state, _ = _judge(text, ["test_a"])
    assert state.results["test_a"].outcome == "failed"


def test_stderr_spliced_mid_line_into_a_start_line():
    # stderr written while the progress line was half out: the name is glued to the text.
    text = (P + "[1/2] test_aWarning -- threading_cleanup() failed\n" + P + "[1/2] test_a passed\n"
            + P + "[2/2] test_b\n")
    state, end = _judge(text, ["test_a", "test_b"])
    assert state.results["test_a"].outcome == "passed"
    assert state.results["test_b"].outcome == "crashed"


def test_pieces_of_every_size_with_crlf_give_the_same_results():
    text = (DATA / "regrtest-3.14.10-native-quiet.txt").read_text().replace("\n", "\r\n")
    whole = parse_text(text)
    for size in (1, 2, 3, 7, 64):
        parser = RegrtestParser()
        for at in range(0, len(text), size):
            parser.feed_text(text[at:at + size])
        out = parser.close()
        assert [(a.name, a.attempt, a.outcome()) for a in out.attempts] == \
            [(a.name, a.attempt, a.outcome()) for a in whole.attempts]


def test_faulthandler_timeout_of_regrtest_timeout_is_timed_out_not_crashed():
    # single.py arms faulthandler.dump_traceback_later(timeout, exit=True) for --timeout: it
    # prints "Timeout (H:MM:SS)!" and every thread's stack, then the process exits 1.
    dump = "".join(f'  File "/lib/test/test_b.py", line {n} in f{n}\n' for n in range(300))
    text = (P + "[1/2] test_a\n" + P + "[1/2] test_a passed\n" + P + "[2/2] test_b\n"
            "test_slow (test.test_b.T.test_slow) ... Timeout (0:20:00)!\n"
            "Thread 0x00007f3a1c5ff740 (most recent call first):\n" + dump)
    state, end = _judge(text, ["test_a", "test_b"])
    assert state.results["test_b"].outcome == "timed-out"
    # a test that prints the words itself is not timed out
    state, _ = _judge(text.replace("Timeout (0:20:00)!", "Timeout (0:20:00)! is what we print"),
                      ["test_a", "test_b"])
    assert state.results["test_b"].outcome == "crashed"


@pytest.mark.parametrize("log", ["regrtest-3.14.10-native-color-rerun.txt", "regrtest-3.15.2-native-verbose-rerun.txt"])
def test_stderr_spliced_before_every_timestamped_line_keeps_the_rerun(log):
    # Before: stderr glued before "0:00:00 load avg: … Re-running 3 failed tests in verbose
    # mode" hid the re-run, and a file that failed and then passed came out `passed`, not `flaky`.
    raw = (DATA / log).read_text()
    names = _names(raw.encode())
    noisy = re.sub(r"\n(\d+:\d\d:\d\d load avg)", "\nWarning -- threading_cleanup() failed\\1", raw)
    assert noisy != raw
    plain, _ = _judge(raw, names)
    dirty, _ = _judge(noisy, names)
    assert plain.results["test_ep_flaky"].outcome == "flaky"
    assert {n: (r.outcome, r.attempts) for n, r in dirty.results.items()} == \
        {n: (r.outcome, r.attempts) for n, r in plain.results.items()}


@pytest.mark.parametrize("quiet", ["-q", "--quiet"])
def test_quiet_regrtest_is_refused_before_anything_runs(tmp_path, quiet):
    # Logger.display_progress returns at once under -q: no start line, no verdict line; every
    # passing file would have come out "regrtest finished without a result", a crash as a
    # broken interpreter.
    from emscripten_python.building.host import HostPython
    from emscripten_python.testing.runner import TestOptions, run_regrtest
    host = HostPython(argv=[str(tmp_path / "never-started")], cwd=tmp_path, env={})
    with pytest.raises(TestRunError, match="-q"):
        run_regrtest(host, TestOptions(selection=["test_a"], regrtest_args=["-v", quiet]), tmp_path,
                     log=lambda message: None)
    assert not (tmp_path / "logs").exists()


def _as_312(text: str) -> str:
    """A 3.13+ log rewritten the way 3.12's run_tests_sequentially prints it: no verdict line;
    the previous file's verdict rides on the next start line (`-- test_a failed (…)`) unless it
    passed quickly, and the last one is printed bare before the summary."""
    progress = re.compile(r"^(\d+:\d\d:\d\d load avg: [\d.]+ \[ *\d+/\d+(?:/\d+)?\] )(test\w*)(?: (.*))?$")
    lines, pending = [], None
    for line in text.split("\n"):
        found = progress.match(line)
        if found and found.group(3):
            pending = None if found.group(3) == "passed" else f"{found.group(2)} {found.group(3)}"
            continue
        if found:
            lines.append(line + (f" -- {pending}" if pending else ""))
            pending = None
            continue
        if line.startswith("== Tests result") and pending:
            lines += [pending, ""]
            pending = None
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("log", ["regrtest-3.13.15-emscripten-crash.txt", "regrtest-3.14.10-native-quiet.txt"])
def test_312_format_cut_anywhere_never_invents_a_pass(log):
    # In 3.12's format a file that passed quickly gets no verdict: the next file's whole start
    # line, with no `-- …` suffix, says it passed. A start line cut off before its end could
    # still have carried `-- test_a failed (…)`. Before, such a cut made test_a `passed`.
    text = (DATA / log).read_text(errors="replace")
    names = _names(text.encode())
    old = _as_312(text)
    assert " -- " in old and old != text
    whole, _ = _judge(text, names)
    assert {n: r.outcome for n, r in _judge(old, names)[0].results.items()} == \
        {n: r.outcome for n, r in whole.results.items()}
    raw = old.encode()
    said, pos, previous = {}, 0, None
    for line in raw.split(b"\n"):
        start = re.match(rb"\d+:\d\d:\d\d load avg: [\d.]+ \[ *\d+/\d+(?:/\d+)?\] (test\w*)", line)
        if start:
            if previous and b" -- " not in line:
                said.setdefault(previous, pos + len(line) + 1)
            suffix = re.search(rb" -- (test\w*) passed", line)
            if suffix:
                said.setdefault(suffix.group(1).decode(), pos + suffix.end())
            previous = start.group(1).decode()
        pos += len(line) + 1
    invented = []
    for cut in _cut_points(raw):
        state, end = _judge(raw[:cut].decode("utf-8", "replace"), names)
        invented += [(cut, name) for name, result in state.results.items()
                     if result.outcome == "passed" and said.get(name, len(raw) + 1) > cut]
    assert not invented, invented[:10]


def test_an_interpreter_that_stops_starting_mid_run_is_not_blamed_on_every_file():
    # After a crash the runtime never starts again (say the crash left the tree unusable):
    # before, every remaining file was recorded `crashed`, two node starts each, with no end.
    from emscripten_python.testing.runner import MAX_STARTUP_CRASHES
    names = [f"test_{n}" for n in range(8)]
    state = RunState(Selection(names))
    first = (P + "[1/8] test_0\n" + P + "[1/8] test_0 passed\n" + P + "[2/8] test_1\n"
             "RuntimeError: memory access out of bounds\n")
    starts = 0
    for text in [first] + ["Aborted(cannot start)\n"] * 40:
        if not state.remaining:
            break
        starts += 1
        report = SegmentReport(parse_text(text), 1, len(text))
        state.apply(classify(report), report)
    outcomes = {name: result.outcome for name, result in state.results.items()}
    assert outcomes["test_0"] == "passed" and outcomes["test_1"] == "crashed"
    blamed = [name for name in names[2:] if outcomes[name] == "crashed"]
    assert len(blamed) == MAX_STARTUP_CRASHES
    assert all(outcomes[name] == "failed" and "did not run" in state.results[name].log_excerpt
               for name in names[2 + len(blamed):])
    assert starts == 1 + 2 * MAX_STARTUP_CRASHES


def test_a_verdict_line_lost_in_an_overlong_line_is_no_pass_when_regrtest_prints_verdict_lines():
    # A test writes 70 KB with no newline; regrtest's "[1/3/1] test_b failed (1 failure)" is
    # glued to its end, beyond the 64 KiB a line is looked at. 3.13+ prints a verdict line for
    # every file, so a file without one when the next starts lost it: before, test_b was `passed`.
    text = (P + "[1/3] test_a\n" + P + "[1/3] test_a passed\n" + P + "[2/3] test_b\n" + "x" * 70_000
            + P + "[2/3/1] test_b failed (1 failure)\n" + P + "[3/3/1] test_c\n")
    died = text + "RuntimeError: memory access out of bounds\n"
    state, _ = _judge(died, ["test_a", "test_b", "test_c"])
    assert {n: r.outcome for n, r in state.results.items()} == {
        "test_a": "passed", "test_b": "failed", "test_c": "crashed"}
    # when the summary comes, its lists say what the lost verdict was
    finished = (text + P + "[3/3/1] test_c passed\n\n== Tests result: FAILURE ==\n\n2 tests skipped:\n"
                "    test_b test_x\n\n1 test OK.\n\nResult: SUCCESS\n")
    state, _ = _judge(finished, ["test_a", "test_b", "test_c"])
    assert {n: r.outcome for n, r in state.results.items()} == {
        "test_a": "passed", "test_b": "skipped", "test_c": "passed"}
