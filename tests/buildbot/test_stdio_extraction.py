"""The test step's stdio, read the way CPython's buildmaster reads it, for runs of real regrtest.

The CLI runs this machine's CPython 3.13 regrtest (a stand-in python.sh, --testdir with a pass,
two failures, a crash and a flaky file) with --stream and --jobs 1, 2 and 3; its real stdout and
results.json are then replayed through the `test` step under Buildbot's step harness, and the
stdio the step keeps must give CPython's failure extraction exactly the failing files: one
"N tests failed:" block, whichever of the distinct blocks the extraction happens to read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from twisted.trial import unittest

from buildbot.process.results import FAILURE
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.steps import TestBuildStepMixin

from emscripten_python.steps import EmscriptenTest

from buildbot_helpers import RERUN_HEADER, cpython_blocks, stdio_as_stored
from fake_cpython import make_cpython_repo, make_toolchain
from test_steps import CliShell, expect_results

CLI = Path(sys.executable).with_name("emscripten-python")
REGRTEST_PYTHON = Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13"
FAILING = {"test_fail_b", "test_fail_c", "test_crash_d"}
FLAKY = {"test_flaky_e"}
SELECTION = "test_pass_a,test_fail_b,test_fail_c,test_crash_d,test_flaky_e,test_pass_f"

PASS = "import unittest\nclass T(unittest.TestCase):\n    def test_ok(self): pass\n"
FAIL = "import unittest\nclass T(unittest.TestCase):\n    def test_no(self): self.assertEqual(1, 2)\n"
CRASH = "import os, unittest\nclass T(unittest.TestCase):\n    def test_dies(self): os._exit(1)\n"
FLAKY_SOURCE = """import os, unittest
MARK = os.path.join(os.path.dirname(__file__), "ran-once")
class T(unittest.TestCase):
    def test_second_time(self):
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            self.fail("fails on the first run only")
"""


def real_regrtest_tree(root: Path) -> dict:
    """The stand-in tree, built, whose python.sh runs real regrtest over a small --testdir."""
    if not REGRTEST_PYTHON.exists():
        message = f"{REGRTEST_PYTHON} (pyenv's CPython 3.13.0, with Lib/test) is missing"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    toolchain = make_toolchain(root / "toolchain")
    source = make_cpython_repo(root / "cpython")
    env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), os.environ["PATH"]]),
           "EMSCRIPTEN_PYTHON_NO_RECORD": "1", "EMSCRIPTEN_PYTHON_CACHE": str(root / "cache")}
    env.pop("EMSCRIPTEN_PYTHON_STREAM", None)
    for command in ("toolchain", "build"):
        done = subprocess.run([CLI, command, "--source", source, "--out", root / "built", "--toolchain", "system"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    testdir = root / "testdir"
    testdir.mkdir()
    for name, text in (("test_pass_a", PASS), ("test_fail_b", FAIL), ("test_fail_c", FAIL), ("test_crash_d", CRASH),
                       ("test_flaky_e", FLAKY_SOURCE), ("test_pass_f", PASS)):
        (testdir / f"{name}.py").write_text(text)
    [python_sh] = source.rglob("python.sh")
    python_sh.write_text("#!/bin/sh\n"
                         'if [ "$1" = "-c" ]; then echo emscripten; exit 0; fi\n'
                         "shift 2\n"     # "-m test": regrtest from the real CPython, our test files
                         f'exec "{REGRTEST_PYTHON}" -m test --testdir "{testdir}" "$@"\n')
    return {"source": source, "env": env, "testdir": testdir, "root": root}


def stream_of_run(tree: dict, jobs: int) -> tuple[subprocess.CompletedProcess, str]:
    """A fresh test run with --jobs: what the worker sends as stdout/stderr, and results.json."""
    out = tree["root"] / f"out-{jobs}"
    shutil.copytree(tree["root"] / "built", out)
    (tree["testdir"] / "ran-once").unlink(missing_ok=True)
    done = subprocess.run([CLI, "test", "--source", tree["source"], "--out", out, "--stream", "--jobs", str(jobs),
                           "--tests", SELECTION], env=tree["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 30, done.stderr      # a failed file (docs/cli.rst)
    return done, (out / "results.json").read_text()


class TestRealRegrtestStdio(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        root = Path(tempfile.mkdtemp(prefix="stdio-extraction-"))
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        self.tree = real_regrtest_tree(root)
        return self.setup_test_build_step()

    def check_jobs(self, jobs: int):
        done, results = stream_of_run(self.tree, jobs)
        if jobs > 1:    # the defect: each regrtest process's own block, different ones
            assert len(cpython_blocks(done.stdout)) > 1, done.stdout[-3000:]
        self.setup_step(EmscriptenTest())
        command = ["emscripten-python", "test", "--source", ".", "--out", "../emscripten-python-out", "--stream",
                   "--tests", "all"]
        self.expect_commands(CliShell(workdir="build", command=command, timeout=1800, max_time=21600)
                             .stdout(done.stdout).stderr(done.stderr).exit(done.returncode),
                             expect_results(results))
        self.expect_outcome(result=FAILURE)
        d = self.run_step()

        def check(_):
            stdio = stdio_as_stored(self.get_nth_step(0).getLog("stdio"))
            assert cpython_blocks(stdio) == {frozenset(FAILING)}, stdio[-3000:]
            assert cpython_blocks(stdio, RERUN_HEADER) == {frozenset(FLAKY)}, stdio[-3000:]
            # regrtest's own lines are all there (the failures' tracebacks too)
            assert stdio.count("AssertionError: 1 != 2") == done.stdout.count("AssertionError: 1 != 2") > 0
        return d.addCallback(check)

    def test_jobs_1(self):
        return self.check_jobs(1)

    def test_jobs_2(self):
        return self.check_jobs(2)

    def test_jobs_3(self):
        return self.check_jobs(3)
