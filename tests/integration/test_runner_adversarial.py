"""Crash timing against docs/runner.rst's table, with a stand-in of our own (independent of
fake_regrtest.py): it prints regrtest 3.13's formats (Logger.display_progress, TestResult.__str__)
and dies the ways node dies: exit code 1 (uncaught exception), 7 (node's internal exception
handler failure), SIGKILL (the OOM killer, or the watchdog), with or without a final newline.

Each process reads its scenario from STANDIN_SCENARIO and counts its starts in STANDIN_COUNT.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from emscripten_python.errors import TestRunError
from emscripten_python.building.host import HostPython
from emscripten_python.testing.runner import TestOptions, run_regrtest

STANDIN = r'''
import os, signal, sys, time
scenario = os.environ["STANDIN_SCENARIO"]
counter = os.environ["STANDIN_COUNT"]
start = int(open(counter).read() or 0) + 1 if os.path.exists(counter) else 1
open(counter, "w").write(str(start))
files = [a for a in sys.argv[3:] if a.startswith("test_")]
P = "0:00:00 load avg: 0.10 "

def out(text, end="\n"):
    sys.stdout.write(text + end); sys.stdout.flush()

def die(how):
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.exit(int(how))

if scenario.startswith("startup") and start <= int(scenario.split(":")[2]):
    out("node:internal/modules/cjs/loader:1228\n  throw err;\nError: Cannot find module 'python.js'")
    die(scenario.split(":")[1])
out("== CPython 3.13.15 (stand-in)\n")
out(P + f"Run {len(files)} tests sequentially in a single process")
rerun = "--rerun" in sys.argv
failed = []
def one(i, total, name, attempt):
    out(P + f"[{i}/{total}] {name}")
    out(f"test_x (test.{name}.T.test_x) ... ", end="")
    if name == "test_dies" and scenario.startswith("in-file") and start == 1:
        out("wasm://wasm/0001:1\nRuntimeError: unreachable")
        die(scenario.split(":")[1])
    if name == "test_fhtimeout" and start == 1:
        out("Timeout (0:00:30)!\nThread 0x00007f3a1c5ff740 (most recent call first):\n"
            '  File "/lib/test/test_fhtimeout.py", line 9 in test_x')
        die("1")
    if name == "test_rerundies" and attempt == 2:
        out("RangeError: Maximum call stack size exceeded")
        die(scenario.split(":")[1])
    if name == "test_rerunhangs" and attempt == 2:
        time.sleep(3600)
    bad = name.startswith(("test_fail", "test_rerun"))
    out("FAIL" if bad else "ok")
    out("-" * 70 + "\nRan 1 test in 0.001s\n\n" + ("FAILED (failures=1)" if bad else "OK"))
    verdict = f"{name} failed (1 failure)" if bad else f"{name} passed"
    if name == "test_cutverdict" and start == 1:
        out(P + f"[{i}/{total}] {name} pa", end="")
        die("kill")
    if name == "test_nonewline" and start == 1:
        out(P + f"[{i}/{total}] {verdict}", end="")
        die("1")
    out(P + f"[{i}/{total}{'/1' if bad else ''}] {verdict}")
    if name == "test_hangsafter" and start == 1:
        time.sleep(3600)
    if name == "test_diesafter" and start == 1:
        die(scenario.split(":")[1])
    if bad:
        failed.append(name)

for i, name in enumerate(files, 1):
    one(i, len(files), name, 1)
if scenario == "before-summary" and start == 1:
    die("7")
out("\n== Tests result: " + ("FAILURE" if failed else "SUCCESS") + " ==\n")
if failed:
    out(f"{len(failed)} test failed:\n    " + " ".join(failed) + "\n")
if failed and rerun:
    out(P + f"Re-running {len(failed)} failed tests in verbose mode")
    for i, name in enumerate(list(failed), 1):
        one(i, len(failed), name, 2)
    out("\n== Tests result: FAILURE then FAILURE ==\n\nResult: FAILURE then FAILURE")
    sys.exit(2)
out("Total duration: 1 sec\nTotal tests: run=" + str(len(files)) + "\nResult: " + ("FAILURE" if failed else "SUCCESS"))
sys.exit(2 if failed else 0)
'''


def _run(tmp_path: Path, scenario: str, selection: list[str], args=("-v",), **options):
    script = tmp_path / "standin.py"
    script.write_text(STANDIN)
    env = {**os.environ, "STANDIN_SCENARIO": scenario, "STANDIN_COUNT": str(tmp_path / "starts")}
    host = HostPython(argv=[sys.executable, str(script)], cwd=tmp_path, env=env)
    messages: list[str] = []
    files = run_regrtest(host, TestOptions(selection=selection, regrtest_args=list(args), **options),
                         tmp_path, log=messages.append)
    starts = int((tmp_path / "starts").read_text())
    return {f.name: f for f in files}, starts


@pytest.mark.parametrize("how", ["1", "7", "kill"])
def test_death_in_a_file_blames_that_file_whatever_the_exit(tmp_path, how):
    files, starts = _run(tmp_path, f"in-file:{how}", ["test_a", "test_dies", "test_b"])
    assert {n: f.outcome for n, f in files.items()} == {
        "test_a": "passed", "test_dies": "crashed", "test_b": "passed"}
    assert "RuntimeError: unreachable" in files["test_dies"].crash
    assert starts == 2


@pytest.mark.parametrize("scenario,first", [
    ("after:1", "test_diesafter"), ("after:7", "test_diesafter"), ("after:kill", "test_diesafter"),
    ("nonewline", "test_nonewline"),      # "[1/2] test_nonewline passed" with no newline, rc 1
    ("hang-between", "test_hangsafter"),  # the watchdog kills it after a verdict
    ("startup:1:1", "test_a"), ("startup:7:1", "test_a"), ("startup:kill:1", "test_a"),
])
def test_death_outside_any_file_blames_nobody_and_runs_the_rest(tmp_path, scenario, first):
    files, starts = _run(tmp_path, scenario, [first, "test_b"], file_timeout=2)
    assert {n: f.outcome for n, f in files.items()} == {first: "passed", "test_b": "passed"}
    assert starts == 2


def test_death_after_the_last_verdict_before_the_summary(tmp_path):
    files, starts = _run(tmp_path, "before-summary", ["test_a", "test_fail"])
    assert {n: f.outcome for n, f in files.items()} == {"test_a": "passed", "test_fail": "failed"}
    assert starts == 1          # every file has its verdict: nothing runs again


@pytest.mark.parametrize("how", ["1", "7", "kill"])
def test_death_during_the_rerun_is_a_crash_of_that_file(tmp_path, how):
    files, _ = _run(tmp_path, f"rerun:{how}", ["test_a", "test_rerundies"], args=("-v", "--rerun"))
    dies = files["test_rerundies"]
    assert (dies.outcome, dies.attempts) == ("crashed", 2)
    assert "RangeError: Maximum call stack size exceeded" in dies.crash
    assert files["test_a"].outcome == "passed"


def test_watchdog_during_the_rerun_is_a_timeout_of_that_file(tmp_path):
    files, _ = _run(tmp_path, "rerun-hang", ["test_a", "test_rerunhangs"], args=("-v", "--rerun"),
                    file_timeout=2)
    assert (files["test_rerunhangs"].outcome, files["test_rerunhangs"].attempts) == ("timed-out", 2)
    assert files["test_a"].outcome == "passed"


def test_two_startup_deaths_in_a_row_blame_the_first_file_as_documented(tmp_path):
    # docs/runner.rst: "When it happens twice in a row, the first of them is crashed".
    files, starts = _run(tmp_path, "startup:7:2", ["test_a", "test_b"])
    assert files["test_a"].outcome == "crashed"
    assert "Cannot find module" in files["test_a"].crash or "rc 7" in files["test_a"].crash
    assert files["test_b"].outcome == "passed"
    assert starts == 3


def test_three_startup_deaths_stop_the_stage(tmp_path):
    with pytest.raises(TestRunError, match="3 times"):
        _run(tmp_path, "startup:kill:5", ["test_a", "test_b"])


def test_killed_while_printing_its_own_verdict_is_no_pass(tmp_path):
    # "[2/3] test_cutverdict pa" and SIGKILL: before, the cut line started the file again and
    # its cases were lost (and a cut name, "[2/3] test_cutv", made it `passed`: unit tests).
    files, starts = _run(tmp_path, "cut", ["test_a", "test_cutverdict", "test_b"])
    assert {n: f.outcome for n, f in files.items()} == {
        "test_a": "passed", "test_cutverdict": "crashed", "test_b": "passed"}
    assert [c.name for c in files["test_cutverdict"].cases] == ["test.test_cutverdict.T.test_x"]
    assert starts == 2


def test_regrtest_timeout_through_faulthandler_is_timed_out(tmp_path):
    files, starts = _run(tmp_path, "fh", ["test_fhtimeout", "test_b"], args=("-v", "--timeout", "30"))
    assert {n: f.outcome for n, f in files.items()} == {"test_fhtimeout": "timed-out", "test_b": "passed"}
    assert "Timeout (0:00:30)!" in files["test_fhtimeout"].log_excerpt

