"""Every count and outcome of the parser equals regrtest's own, for every CPython runnable here.

Real regrtest, run natively by this machine's interpreters: Debian's
python3.11 (3.11.2: the old libregrtest, `-w` re-runs in the same process), pyenv's 3.11.7
(the new libregrtest backported), 3.12.1 and 3.13.0 (`--rerun`); the python3 of the Debian
trixie root the other e2e tests provision (3.13.5 when written: a verdict line per file); and
python3.14 and python3.15 of the sid root test_regrtest_formats.py provisions (3.14.10 and
3.15.2 when written, with their libpython3.x-testsuite), both run there with chroot. Each runs
a directory of purpose-written files (`--testdir`: pass, fail, error, skip, expected failure,
unexpected success, flaky on re-run through a marker file, resource denied, module skipped),
verbose and not, with and without re-runs; a hard crash (`os.abort()`) verbose and not; and
real stdlib files of its own test suite (Debian's 3.11 only with libpython3.11-testsuite,
which scripts/test installs; the trixie root has none). The console goes through the
product's parser (with the files regrtest was given as `known`), and its JUnit file through
the product's reader where the runner would use it; the same files also run through the
product's runner (`run_regrtest`: the TestFile records results.json gets), whose counts must
add up to regrtest's totals, a re-run file's being those of its re-run (unittest's own lines
after `Re-running name in verbose mode`). The 3.13.15 wasm build of the main e2e run
(`real_run`, tests/e2e/real_build.py) runs the purpose-written files too, through the CLI.

The truth is regrtest's own final summary, read here by a reader of this module (not the
product's): the lists (`N tests failed:`, `skipped:`, `skipped (resource denied):`,
`run no tests:`, `re-run tests:`), `Total tests: run= failures= skipped=` (3.11.7+; it adds
every attempt's testsRun, FAIL cases and skips: libregrtest/results.py accumulate_result,
result.py TestStats.from_unittest) and `Total test files:`; where an era prints no `Total
tests:` (3.11.2), the totals regrtest wrote on its JUnit root. Every mismatch is collected and
the figures (runs, files compared, counts compared, mismatches) go to the e2e report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from debian_root import SID_PACKAGES, SID_SUITE, SUITE, DebianRoot, e2e_required, missing_prerequisites
from real_build import OUT, _cli

from emscripten_python.results.model import Run
from emscripten_python.testing.junit import attempt_counts, junit_suites_by_file, read_regrtest_junit_suites, suite_of
from emscripten_python.testing.regrtest_output import file_outcome, parse_text
from emscripten_python.building.host import HostPython
from emscripten_python.testing.runner import TestOptions, run_regrtest

pytestmark = pytest.mark.e2e

PYENV = Path("/root/.pyenv/versions")


@dataclass(frozen=True)
class Interpreter:
    label: str
    python: Path
    rerun: str              # the re-run option of its era
    old_lists: bool         # 3.11.0-3.11.6: resource-denied files are listed as skipped
    # 3.12.1's TestCase.run (Lib/unittest/case.py) adds a decorator skip before startTest:
    # it is in result.skipped (regrtest's `Total tests: skipped=`) but neither in testsRun nor
    # in regrtest's JUnit file, so without -v no output of that era tells which file it was.
    skips_outside_junit: bool = False
    suite: str | None = None    # None: this machine's; else the Debian root it runs in (chroot)
    test_suite: bool = True     # its Lib/test has the real stdlib files


# 3.14 and 3.15 (the sid root's /usr/lib/python3.1x/test/libregrtest, read when written) count
# as 3.13 does: result.py TestStats.from_unittest (testsRun, len(failures), len(skipped)),
# results.py accumulate_result over every attempt, the same `Total tests:` / `Total test
# files:` lines, and unittest/case.py TestCase.run calls startTest before a decorator skip
# (so a skip is in testsRun and in the JUnit file, unlike 3.12.1). What differs in their
# output: results.py and single.py colour the lists and verdicts (NO_COLOR and
# PYTHON_COLORS=0, what the runner sets, turn that off), results.py lists an env-changed file
# with its reasons on indented lines below its name, and main.py's get_state prints
# `Result: X then Y` only when X != Y (3.13: `FAILURE then FAILURE`).
INTERPRETERS = [
    Interpreter("3.11.2-debian", Path("/usr/bin/python3.11"), "-w", True),
    Interpreter("3.11.7", PYENV / "3.11.7/bin/python3.11", "-w", False),
    Interpreter("3.12.1", PYENV / "3.12.1/bin/python3.12", "--rerun", False, skips_outside_junit=True),
    Interpreter("3.13.0", PYENV / "3.13.0/bin/python3.13", "--rerun", False),
    # trixie's python3 comes without libpython3.13-testsuite (the root is the build root).
    Interpreter("trixie-root", Path("/usr/bin/python3"), "--rerun", False, suite=SUITE, test_suite=False),
    Interpreter("3.14-sid", Path("/usr/bin/python3.14"), "--rerun", False, suite=SID_SUITE),
    Interpreter("3.15-sid", Path("/usr/bin/python3.15"), "--rerun", False, suite=SID_SUITE),
]
WITH_TEST_SUITE = [i for i in INTERPRETERS if i.test_suite]
ROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            "HOME": "/root"}

TEST_FILES = {
    "test_truth_pass": """
import unittest
class T(unittest.TestCase):
    def test_a(self): pass
    def test_b(self): pass
    def test_c(self): pass
""",
    "test_truth_fail": """
import unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_fail(self): self.assertEqual(1, 2)
    def test_fail2(self):
        raise self.failureException("RuntimeError: not a crash")
""",
    "test_truth_error": """
import unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_error(self): raise RuntimeError("boom inside a test")
""",
    "test_truth_skip": """
import unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_skip(self): self.skipTest("not here")
    @unittest.skipIf(True, "never")
    def test_skip2(self): pass
""",
    "test_truth_xfail": """
import unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    @unittest.expectedFailure
    def test_x1(self): self.assertEqual(1, 2)
    @unittest.expectedFailure
    def test_x2(self): raise ValueError
""",
    "test_truth_xpass": """
import unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    @unittest.expectedFailure
    def test_xpass(self): pass
""",
    "test_truth_flaky": """
import os, unittest
MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flaky.marker")
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_flaky(self):
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            self.fail("first attempt fails")
""",
    "test_truth_resource": """
import unittest
from test import support
support.requires('cpu')
class T(unittest.TestCase):
    def test_ok(self): pass
""",
    "test_truth_skipmod": """
import unittest
raise unittest.SkipTest("module skipped on purpose")
""",
    "test_truth_abort": """
import os, unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_z_abort(self): os.abort()
""",
}
SELECTION = [name for name in TEST_FILES if name != "test_truth_abort"]
# Real stdlib files, quick and passing in every era (test_bool has a skipped case in some).
REAL_FILES = ["test_bool", "test_augassign", "test_int"]


# -- regrtest's own word, read by this module ------------------------------------------------------

def regrtest_truth(text: str, selection: list[str], old_lists: bool) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """(outcome of each file, `Total tests:` numbers, `Total test files:` numbers) from the
    last summary regrtest printed."""
    lines = text.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("== Tests result:"))
    lists: dict[str, set[str]] = {}
    title = None
    totals: dict[str, int] = {}
    file_totals: dict[str, int] = {}
    for line in lines[start + 1:]:
        header = re.fullmatch(r"(?:\d+|All) (re-run tests?|tests?) ?(.*?):", line)
        if header:
            title = "re-run" if header.group(1).startswith("re-run") else header.group(2)
            lists[title] = set()
        elif title and line.startswith("    ") and not line.startswith("        "):
            lists[title] |= {name.rstrip(":") for name in line.split()}
        elif line.startswith("Total tests: "):
            totals = {k: int(v.replace(",", "")) for k, v in re.findall(r"(\w+)=([\d,]+)", line)}
        elif line.startswith("Total test files: "):
            file_totals = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
        elif line.strip():
            title = None
    kinds = {"skipped": "skipped", "skipped (resource denied)": "resource-denied", "run no tests": "no-tests",
             "altered the execution environment": "env-changed",
             "altered the execution environment (env changed)": "env-changed"}
    outcomes = {}
    for name in selection:
        if name in lists.get("failed", ()):
            outcomes[name] = "failed"
        elif name in lists.get("re-run", ()):
            outcomes[name] = "flaky"           # re-run, and not failed in the end
        else:
            listed = [kind for title, kind in kinds.items() if name in lists.get(title, ())]
            outcomes[name] = listed[0] if listed else "passed"
    return outcomes, totals, file_totals


def ours_as_regrtest_lists(outcome: str, old_lists: bool) -> str:
    """Our outcome in the words of an era's lists: 3.11.0-3.11.6 list a resource-denied file
    under `skipped` (its verdict line still says `skipped (resource denied)`)."""
    return "skipped" if old_lists and outcome == "resource-denied" else outcome


# -- running ------------------------------------------------------------------------------------------

@dataclass
class Figures:
    runs: int = 0
    files: int = 0
    counts: int = 0
    mismatches: int = 0
    unknowable: int = 0     # counts no output of the era carries (see Interpreter.skips_outside_junit)


    def line(self, label: str) -> str:
        return (f"regrtest truth {label}: {self.runs} real regrtest runs, {self.files} file outcomes and "
                f"{self.counts} counts compared with regrtest's own, {self.mismatches} mismatches"
                + (f"; {self.unknowable} counts not comparable (3.12.1 without -v: decorator skips are in no "
                   f"output but the total)" if self.unknowable else ""))


@pytest.fixture(scope="module")
def figures(request):
    """The figures of each interpreter (by label), and their sum, for the e2e report."""
    found: dict[str, Figures] = {}
    yield found
    total = Figures()
    for label, tally in found.items():
        request.config.ep_e2e_report.append(tally.line(label))
        for key in vars(total):
            setattr(total, key, getattr(total, key) + getattr(tally, key))
    request.config.ep_e2e_report.append(total.line(f"(all {len(found)})"))


def _unavailable(message: str) -> None:
    if e2e_required():
        pytest.fail(message + " — and it is required here (CI / EP_E2E_REQUIRED=1)")
    pytest.skip(message)


def _interpreter(interpreter: Interpreter) -> Path:
    if not interpreter.python.exists():
        _unavailable(f"{interpreter.python} is not installed")
    return interpreter.python


@dataclass(frozen=True)
class Place:
    """Where regrtest runs: its command and environment, the file system it sees (`top`: a
    root, or this machine's /), and the work directory as this process sees it (`host`) and as
    regrtest sees it (`seen`: inside the root for a root's python)."""

    argv: tuple[str, ...]
    env: dict[str, str]
    top: Path
    host: Path
    seen: Path

    def on_host(self, seen: str) -> Path:
        return self.top / seen.lstrip("/")


def _place(interpreter: Interpreter, tmp_path: Path) -> Place:
    if interpreter.suite:
        missing = missing_prerequisites()
        if missing:
            _unavailable(f"the {interpreter.suite} root needs {', '.join(missing)}")
        root = (DebianRoot() if interpreter.suite == SUITE else
                DebianRoot(suite=SID_SUITE, packages=SID_PACKAGES)).ensure()
        if not (root.path / str(interpreter.python).lstrip("/")).exists():
            _unavailable(f"{interpreter.python} is not in the {interpreter.suite} root {root.path}")
        root.link_host_paths()      # the runner passes host paths (--junit-xml, its out directory)
        seen = Path("/tmp") / f"ep-truth-{interpreter.label}"
        place = Place(("chroot", str(root.path), str(interpreter.python)), ROOT_ENV, root.path,
                      root.path / str(seen).lstrip("/"), seen)
        shutil.rmtree(place.host, ignore_errors=True)
    else:
        env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "PYTHONPATH")}
        place = Place((str(_interpreter(interpreter)),), env, Path("/"), tmp_path, tmp_path)
    (place.host / "td").mkdir(parents=True, exist_ok=True)
    for name, source in TEST_FILES.items():
        (place.host / "td" / f"{name}.py").write_text(source.lstrip())
    return place


def _run(place: Place, args: list[str], files: list[str]) -> tuple[str, Path, int]:
    """regrtest's console (stdout + stderr as a terminal would interleave them) and its JUnit file."""
    (place.host / "td" / "flaky.marker").unlink(missing_ok=True)
    (place.host / "junit.xml").unlink(missing_ok=True)
    done = subprocess.run([*place.argv, "-m", "test", *args, "--junit-xml", str(place.seen / "junit.xml"), *files],
                          cwd=place.host, env={**place.env, "NO_COLOR": "1", "PYTHON_COLORS": "0"},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    return done.stdout.decode("utf-8", "replace"), place.host / "junit.xml", done.returncode


def compare(text: str, junit: Path, selection: list[str], interpreter: Interpreter, figures: Figures,
            verbose: bool) -> list:
    """Every mismatch between the parser (+ JUnit reader) and regrtest's summary."""
    output = parse_text(text, known=selection)
    assert output.finished, text[-3000:]
    truth, totals, file_totals = regrtest_truth(text, selection, interpreter.old_lists)
    attempts: dict[str, list] = {}
    for attempt in output.attempts:
        attempts.setdefault(attempt.name, []).append(attempt)
    mismatches = []
    listed = {}
    for kind, outcome in (("failed", "failed"), ("skipped", "skipped"), ("skipped (resource denied)", "resource-denied"),
                          ("run no tests", "no-tests")):
        for name in output.lists.get(kind, ()):
            listed.setdefault(name, outcome)
    ours = {name: file_outcome(found, listed.get(name)) for name, found in attempts.items()}
    ours.update({name: "failed" for name in selection if name not in ours})   # the runner's "no result"
    for name in selection:
        figures.files += 1
        if ours_as_regrtest_lists(ours[name], interpreter.old_lists) != truth[name]:
            mismatches.append(("outcome", name, ours[name], truth[name]))
    suites = junit_suites_by_file(read_regrtest_junit_suites(junit), list(attempts))
    every = [attempt_counts(attempt, suite_of(i, suites.get(name, [])))
             for name, found in attempts.items() for i, attempt in enumerate(found)]
    mine = {"run": sum(c.tests_run for c in every), "failures": sum(c.failed for c in every),
            "skipped": sum(c.skipped for c in every)}
    if totals:
        expected = {key: totals.get(key, 0) for key in mine}
    else:
        # 3.11.2 prints no `Total tests:`; its JUnit root carries the totals it counted.
        root = re.search(rb"<testsuites[^>]*>", junit.read_bytes()).group()
        expected = {"run": int(re.search(rb'tests="(\d+)"', root).group(1)),
                    "failures": int(re.search(rb'failures="(\d+)"', root).group(1))}
        mine.pop("skipped")
    if interpreter.skips_outside_junit and not verbose:
        mine.pop("skipped")
        expected.pop("skipped", None)
        figures.unknowable += 1
    for key, value in expected.items():
        figures.counts += 1
        if mine[key] != value:
            mismatches.append(("Total tests", key, mine[key], value))
    if file_totals:
        by_outcome = {"failed": "failed", "skipped": "skipped", "resource_denied": "resource-denied",
                      "run_no_tests": "no-tests"}
        for key, outcome in by_outcome.items():
            figures.counts += 1
            count = sum(1 for name in selection if ours[name] == outcome)
            if count != file_totals.get(key, 0):
                mismatches.append(("Total test files", key, count, file_totals.get(key, 0)))
        figures.counts += 1
        reruns = sum(1 for found in attempts.values() if len(found) > 1)
        if reruns != file_totals.get("rerun", 0):
            mismatches.append(("Total test files", "rerun", reruns, file_totals.get("rerun", 0)))
    figures.runs += 1
    figures.mismatches += len(mismatches)
    return mismatches


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=[i.label for i in INTERPRETERS])
def test_purpose_written_files_equal_regrtests_summary(interpreter, tmp_path, figures):
    tally = figures.setdefault(interpreter.label, Figures())
    place = _place(interpreter, tmp_path)
    mismatches = []
    for verbose in ([], ["-v"]):
        for rerun in ([], [interpreter.rerun]):
            args = ["--testdir", str(place.seen / "td"), "-u", "network", *verbose, *rerun]
            text, junit, returncode = _run(place, args, SELECTION)
            assert returncode == 2, text[-3000:]            # files failed (again)
            mismatches += [(interpreter.label, *args[3:], *found)
                           for found in compare(text, junit, SELECTION, interpreter, tally, bool(verbose))]
            if rerun:
                assert "Re-running" in text
    assert not mismatches, mismatches


@pytest.mark.parametrize("interpreter", WITH_TEST_SUITE, ids=[i.label for i in WITH_TEST_SUITE])
def test_real_stdlib_files_equal_regrtests_summary(interpreter, tmp_path, figures):
    tally = figures.setdefault(interpreter.label, Figures())
    place = _place(interpreter, tmp_path)
    lib = subprocess.run([*place.argv, "-c", "import test, os; print(os.path.dirname(test.__file__))"],
                         env=place.env, capture_output=True, text=True, check=True).stdout.strip()
    files = [name for name in REAL_FILES if (place.on_host(lib) / f"{name}.py").exists()]
    if not files:
        _unavailable(f"{interpreter.label} has no test suite installed (libpython3.x-testsuite)")
    mismatches = []
    for verbose in ([], ["-v"]):
        text, junit, returncode = _run(place, [*verbose], files)
        assert returncode == 0, text[-3000:]
        mismatches += [(interpreter.label, "real", *verbose, *found)
                       for found in compare(text, junit, files, interpreter, tally, bool(verbose))]
    assert not mismatches, mismatches


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=[i.label for i in INTERPRETERS])
def test_hard_crash_is_found_where_the_runtime_prints_it(interpreter, tmp_path, figures):
    """os.abort() kills regrtest: no summary. The file it died in is the unfinished one, the
    files before it keep their verdict, and the crash text is faulthandler's, also when it is
    glued to the running case's `... ` (verbose)."""
    tally = figures.setdefault(interpreter.label, Figures())
    place = _place(interpreter, tmp_path)
    # The killed regrtest leaves its work directory behind: in the place, not in the system's /tmp.
    (place.host / "tmp").mkdir()
    for verbose in ([], ["-v"]):
        text, _, returncode = _run(place, ["--testdir", str(place.seen / "td"), "--tempdir", str(place.seen / "tmp"),
                                           *verbose],
                                   ["test_truth_pass", "test_truth_abort", "test_truth_skip"])
        assert returncode == -6, text[-3000:]
        output = parse_text(text, known=["test_truth_pass", "test_truth_abort", "test_truth_skip"])
        assert not output.finished
        assert [a.name for a in output.attempts] == ["test_truth_pass", "test_truth_abort"]
        assert output.unfinished.name == "test_truth_abort"
        assert "Fatal Python error: Aborted" in output.crash
        if verbose:
            assert output.running_case == "test_truth_abort.T.test_z_abort"
            assert "test_z_abort (test_truth_abort.T.test_z_abort) ... Fatal Python error: Aborted" in output.crash
        tally.runs += 1
        tally.files += 2


def rerun_counts(text: str, name: str) -> tuple[int, int] | None:
    """(tests run, failures) of a file's re-run, from unittest's own lines after regrtest's
    `Re-running name in verbose mode` (a re-run is always verbose), or, when the re-run phase
    runs in regrtest's own process (--single-process: no such line), after the file's start
    line `[i/N] name` in that phase; read here with a regex."""
    phase = re.search(r"Re-running (?:\d+ )?failed tests? in verbose mode", text)
    if not phase:
        return None
    found = re.search(rf"(?:Re-running {name} in verbose mode|\] {name}$).*?^Ran (\d+) tests? in .*?"
                      rf"^(OK|FAILED)(?: \(([^)\n]*)\))?$", text[phase.end():], re.M | re.S)
    if not found:
        return None
    fields = dict(re.findall(r"([a-z ]+)=(\d+)", found.group(3) or ""))
    return int(found.group(1)), sum(int(fields.get(key, 0)) for key in ("failures", "errors", "unexpected successes"))


def runner_mismatches(files: dict, out: Path, interpreter: Interpreter, tally: Figures, args: tuple[str, ...]) -> list:
    """Every mismatch between the runner's TestFile records of a run (in `out`, the runner's
    directory: logs/test.log, junit/test-1.xml) and regrtest's summary: each file's outcome;
    without a re-run the files' counts add up to regrtest's totals; a re-run file's counts are
    its re-run's (unittest's own lines after `Re-running name in verbose mode`)."""
    verbose, rerun = "-v" in args, interpreter.rerun in args
    text = (out / "logs" / "test.log").read_text(errors="replace")
    junit = out / "junit" / "test-1.xml"
    truth, totals, _ = regrtest_truth(text, SELECTION, interpreter.old_lists)
    where = (interpreter.label, "runner", *args)
    mismatches = []
    for name in SELECTION:
        tally.files += 1
        if ours_as_regrtest_lists(files[name].outcome, interpreter.old_lists) != truth[name]:
            mismatches.append((*where, "outcome", name, files[name].outcome, truth[name]))
    checks = []
    if not rerun:
        sums = {"run": sum(f.tests_run for f in files.values()),
                "failures": sum(f.failures - f.errors - f.unexpected_successes for f in files.values()),
                "skipped": sum(f.skipped for f in files.values())}
        if not totals:       # 3.11.2: the totals on its JUnit root
            root = ET.parse(junit).getroot()
            totals = {"run": int(root.get("tests")), "failures": int(root.get("failures"))}
        if interpreter.skips_outside_junit and not verbose:
            totals.pop("skipped", None)
            tally.unknowable += 1
        checks += [(f"Total tests {key}", sums[key], totals.get(key, 0)) for key in totals if key in sums]
    for name in SELECTION:
        rerun_figures = rerun_counts(text, name) if rerun else None
        if rerun_figures is not None:
            checks += [(f"{name} attempts", files[name].attempts, 2),
                       (f"{name} tests_run", files[name].tests_run, rerun_figures[0]),
                       (f"{name} failures", files[name].failures, rerun_figures[1])]
    for what, mine, theirs in checks:
        tally.counts += 1
        if mine != theirs:
            mismatches.append((*where, what, mine, theirs))
    tally.mismatches += len(mismatches)
    return mismatches


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=[i.label for i in INTERPRETERS])
def test_runner_results_equal_regrtests_summary(interpreter, figures, tmp_path):
    """The same files through the product's runner (what results.json gets): each file's
    outcome and counts. Without a re-run the files' counts add up to regrtest's totals; a
    re-run file's counts are its re-run's (the last suite regrtest wrote for it)."""
    tally = figures.setdefault(interpreter.label, Figures())
    place = _place(interpreter, tmp_path)
    # A root's python starts in the root's / (chroot); the runner's host paths reach it
    # through DebianRoot.link_host_paths.
    host = HostPython(list(place.argv), place.host if not interpreter.suite else Path("/"), dict(place.env))
    mismatches = []
    for verbose in ([], ["-v"]):
        for rerun in ([], [interpreter.rerun]):
            out = place.host / f"out{len(verbose)}{len(rerun)}"
            (place.host / "td" / "flaky.marker").unlink(missing_ok=True)
            options = TestOptions(selection=SELECTION, file_timeout=300, stack_unlimited=False,
                                  regrtest_args=["--testdir", str(place.seen / "td"), "-u", "network", *verbose,
                                                 *rerun])
            files = {f.name: f for f in run_regrtest(host, options, out, log=lambda message: None)}
            mismatches += runner_mismatches(files, out, interpreter, tally, (*verbose, *rerun))
            tally.runs += 1
    assert not mismatches, mismatches


# -- the 3.13.15 wasm build ---------------------------------------------------------------------------

WASM = Interpreter("3.13.15-wasm", Path("python.js"), "--rerun", False)   # run through the CLI, in the root
WASM_TESTDIR = "/var/lib/ep-e2e/truth-tests"


def test_wasm_build_equals_regrtests_summary(real_run, figures):
    """The purpose-written files on the real CPython 3.13.15 wasm build (tests/e2e/real_build.py),
    through the CLI (`emscripten-python test --jobs 1`, with the era's --single-process: a
    re-run in the same node process), verbose and not, with and without --rerun: the parser
    and the JUnit reader on its log, and the results.json it wrote, against regrtest's own
    summary. Four node runs of a few seconds each once the build exists."""
    tally = figures.setdefault(WASM.label, Figures())
    env, results = real_run["env"], real_run["results"]
    root = env["root"]
    testdir = root.path / WASM_TESTDIR.lstrip("/")
    shutil.rmtree(testdir, ignore_errors=True)
    testdir.mkdir(parents=True)
    for name, source in TEST_FILES.items():
        (testdir / f"{name}.py").write_text(source.lstrip())
    mismatches = []
    for verbose in ([], ["-v"]):
        for rerun in ([], [WASM.rerun]):
            # One node process (--jobs 1): one regrtest run, one summary to compare with.
            args = ["-u", "network", "--single-process", *rerun, *verbose]
            out = f"/var/lib/ep-e2e/out-truth{len(verbose)}{len(rerun)}"
            (testdir / "flaky.marker").unlink(missing_ok=True)
            root.chroot(f"rm -rf {out} && mkdir -p {out}/tmp && cp {OUT}/results.json {out}/")
            done = _cli(env, f"test --source {results['source']['path']} --out {out} --jobs 1 "
                             f"--tests {','.join(SELECTION)} --timeout 600 --test-args='{' '.join(args)}' "
                             f"--regrtest-arg=--testdir={WASM_TESTDIR} --regrtest-arg=--tempdir={out}/tmp")
            assert done.returncode == 30, done.stdout[-3000:]           # files failed (again)
            host_out = root.path / out.lstrip("/")
            text = (host_out / "logs" / "test.log").read_text(errors="replace")
            assert " python.js -m test " in text.splitlines()[0], text[:3000]
            assert ("Re-running" in text) == bool(rerun), text[-3000:]
            mismatches += [(WASM.label, "parser", *args, *found)
                           for found in compare(text, host_out / "junit" / "test-1.xml", SELECTION, WASM, tally,
                                                bool(verbose))]
            run = Run.from_dict(json.loads((host_out / "results.json").read_text()))
            mismatches += runner_mismatches({f.name: f for f in run.tests["files"]}, host_out, WASM, tally,
                                            tuple(args))
    assert not mismatches, mismatches
