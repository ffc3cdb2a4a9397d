"""Real regrtest output of CPython 3.13, 3.14 and 3.15, parsed and compared with regrtest's own summary.

Native interpreters from Debian: python3 (3.13) in the trixie root of the other e2e tests,
python3.14 and python3.15 (with their test suites) in a small sid root. regrtest runs a
directory of small test files (--testdir) that cover each kind of result: a pass, a failure,
a module skip, a flaky file (fails, then passes when re-run), a file that runs no tests, a
resource-denied file and one that changes the environment. Each version runs
  - through the product's runner (uncoloured: the runner sets NO_COLOR / PYTHON_COLORS=0),
    verbose, --rerun;
  - directly with FORCE_COLOR=1 (3.14+ colours verdicts and lists), non-verbose, --rerun,
    parsed by the product's parser.
Every file's outcome must equal what regrtest's final summary says of it, read here by a small
reader of its own (not the product's). Costs a few seconds warm; a cold machine adds one
debootstrap of the sid root (~1.5 min).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from debian_root import SID_PACKAGES, SID_SUITE, DebianRoot, e2e_required, missing_prerequisites

from emscripten_python.testing.regrtest_output import file_outcome, parse_text
from emscripten_python.building.host import HostPython
from emscripten_python.testing.runner import TestOptions, run_regrtest

pytestmark = pytest.mark.e2e

TEST_FILES = {
    "test_ep_pass": """
import unittest
class T(unittest.TestCase):
    def test_a(self): pass
    def test_b(self): pass
    @unittest.skip("not here")
    def test_c(self): pass
""",
    "test_ep_fail": """
import unittest
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_fails(self): self.assertEqual(1, 2)
    def test_errors(self): raise TypeError("unrelated")
""",
    "test_ep_skip": """
import unittest
raise unittest.SkipTest("module skipped on purpose")
""",
    "test_ep_flaky": """
import os, unittest
MARK = "/tmp/ep-formats-flaky-mark"
class T(unittest.TestCase):
    def test_once(self):
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            self.fail("first attempt fails")
""",
    "test_ep_norun": """
import unittest
class T(unittest.TestCase):
    pass
""",
    "test_ep_resource": """
from test import support
support.requires("network")
import unittest
class T(unittest.TestCase):
    def test_x(self): pass
""",
    "test_ep_envchanged": """
import os, unittest
class T(unittest.TestCase):
    def test_leaks_an_environment_variable(self):
        os.environ["EP_LEAKED"] = "1"
""",
}
SELECTION = list(TEST_FILES)
TESTDIR = "/tmp/ep-formats"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VERSIONS = [("3.13", "trixie", "python3"), ("3.14", SID_SUITE, "python3.14"), ("3.15", SID_SUITE, "python3.15")]

# -- regrtest's own word: its last summary, read independently of the product's parser ---------
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TITLES = {"failed": "failed", "skipped": "skipped", "skipped (resource denied)": "resource-denied",
          "run no tests": "no-tests", "altered the execution environment (env changed)": "env-changed",
          "altered the execution environment": "env-changed", "re-run": "re-run"}


def regrtest_summary(text: str) -> dict[str, str]:
    lines = [ANSI.sub("", line) for line in text.splitlines()]
    start = max(i for i, line in enumerate(lines) if line.startswith("== Tests result:"))
    lists: dict[str, set[str]] = {}
    ok = 0
    title = None
    for line in lines[start + 1:]:
        header = re.fullmatch(r"(?:\d+|All) (?:tests?|re-run tests?) ?(.*?):", line) or \
            re.fullmatch(r"\d+ (re-run) tests?:", line)
        if header:
            title = "re-run" if "re-run" in line else header.group(1)
            lists[TITLES[title]] = set()
            continue
        good = re.fullmatch(r"(?:All )?(\d+) tests? OK\.", line)
        if good:
            ok, title = int(good.group(1)), None
        elif title and line.startswith("    ") and not line.startswith("        "):
            lists[TITLES[title]] |= {name.rstrip(":") for name in line.split()}
        elif line.strip():
            title = None
    outcomes = {}
    for name in SELECTION:
        listed = [kind for kind, names in lists.items() if name in names and kind != "re-run"]
        assert len(listed) <= 1, (name, listed)
        if listed:
            outcomes[name] = listed[0]
        else:
            outcomes[name] = "flaky" if name in lists.get("re-run", ()) else "passed"
    plain = [name for name, outcome in outcomes.items() if outcome == "passed"]
    flaky = [name for name, outcome in outcomes.items() if outcome == "flaky"]
    assert len(plain) + len(flaky) == ok, (ok, outcomes)      # regrtest counts re-run passes as OK
    return outcomes


# -- the roots ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def roots(request):
    missing = missing_prerequisites()
    if missing:
        message = f"real regrtest output needs {', '.join(missing)} (see docs/e2e.rst)"
        if e2e_required():
            pytest.fail(message + " — and it is required here (CI / EP_E2E_REQUIRED=1)")
        pytest.skip(message)
    started = time.monotonic()
    found = {"trixie": DebianRoot().ensure(), SID_SUITE: DebianRoot(suite=SID_SUITE, packages=SID_PACKAGES).ensure()}
    request.config.ep_e2e_report.append(f"regrtest formats: roots ready in {time.monotonic() - started:.0f} s")
    return found


def _prepare(root: DebianRoot) -> Path:
    testdir = root.path / TESTDIR.lstrip("/")
    shutil.rmtree(testdir, ignore_errors=True)
    testdir.mkdir(parents=True)
    for name, source in TEST_FILES.items():
        (testdir / f"{name}.py").write_text(source.lstrip())
    (root.path / "tmp" / "ep-formats-flaky-mark").unlink(missing_ok=True)
    root.link_host_paths()       # the runner passes host paths (--junit-xml)
    return testdir


@pytest.mark.parametrize("version,suite,python", VERSIONS, ids=[v[0] for v in VERSIONS])
def test_runner_outcomes_equal_regrtests_summary(roots, version, suite, python, request):
    root = roots[suite]
    _prepare(root)
    out = root.path / "tmp" / "ep-formats-out"
    shutil.rmtree(out, ignore_errors=True)
    host = HostPython(argv=["chroot", str(root.path), python], cwd=Path("/"),
                      env={"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", "FORCE_COLOR": "1"})
    options = TestOptions(selection=SELECTION, regrtest_args=["-v", "-u", "none", "--rerun", "--testdir", TESTDIR],
                          file_timeout=300, stack_unlimited=False)
    started = time.monotonic()
    files = run_regrtest(host, options, out, log=lambda message: None)
    elapsed = time.monotonic() - started
    console = (out / "logs" / "test.log").read_text()
    assert "\x1b[" not in console                    # NO_COLOR / PYTHON_COLORS=0 won over FORCE_COLOR
    assert re.search(rf"^== CPython {re.escape(version)}\.", console, re.M)
    expected = regrtest_summary(console)
    assert {f.name: f.outcome for f in files} == expected
    assert set(expected.values()) >= {"passed", "failed", "skipped", "flaky", "no-tests", "resource-denied",
                                      "env-changed"}
    by_name = {f.name: f for f in files}
    assert by_name["test_ep_fail"].attempts == 2 and by_name["test_ep_fail"].failures == 2
    assert {c.name.rsplit(".", 1)[1]: c.outcome for c in by_name["test_ep_fail"].cases} == {
        "test_ok": "passed", "test_fails": "failed", "test_errors": "error"}
    request.config.ep_e2e_report.append(f"regrtest formats {version}: runner, verbose, uncoloured in {elapsed:.1f} s")


@pytest.mark.parametrize("version,suite,python", VERSIONS, ids=[v[0] for v in VERSIONS])
def test_coloured_quiet_output_equals_regrtests_summary(roots, version, suite, python, request):
    root = roots[suite]
    _prepare(root)
    started = time.monotonic()
    done = subprocess.run(
        ["chroot", str(root.path), python, "-m", "test", "-u", "none", "--rerun", "--testdir", TESTDIR, *SELECTION],
        env={"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", "FORCE_COLOR": "1"},
        capture_output=True, text=True, errors="replace", timeout=300)
    assert done.returncode != 0, done.stdout[-2000:]            # a file failed twice
    output = parse_text(done.stdout + done.stderr)
    assert output.finished
    attempts: dict[str, list] = {}
    for attempt in output.attempts:
        attempts.setdefault(attempt.name, []).append(attempt)
    assert {name: file_outcome(found) for name, found in attempts.items()} == regrtest_summary(done.stdout)
    if version != "3.13":
        assert "\x1b[" in done.stdout                          # it really was coloured
    assert attempts["test_ep_fail"][0].failures == 2           # "failed (1 error, 1 failure)", no -v
    request.config.ep_e2e_report.append(
        f"regrtest formats {version}: direct, quiet, FORCE_COLOR in {time.monotonic() - started:.1f} s")
