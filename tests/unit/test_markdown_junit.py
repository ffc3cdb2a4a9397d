"""markdown.render_markdown, testing.junit: writing our JUnit, reading regrtest's, case -> file."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from emscripten_python.report.markdown import MAX_TRACEBACK_LINES, render_markdown
from emscripten_python.results.model import Run, Stage
from emscripten_python.results.model import TestCase as Case, TestFile as File  # not Test*: pytest would collect them
from emscripten_python.testing.junit import file_for_case, read_regrtest_junit, write_junit

CRASH = ("RuntimeError: memory access out of bounds\n"
         "    at python.wasm._PyEval_EvalFrameDefault (wasm://wasm/python.wasm-0236:wasm-function[3]:0x1a2b)")
FSUM_TRACEBACK = "\n".join(
    ["Traceback (most recent call last):"]
    + [f'  File "/lib/python3.13/test/test_math.py", line {n}, in frame_{n}' for n in range(1, 41)]
    + ["AssertionError: 1.0 != 0.9999999999999999"])


def sample_run() -> Run:
    run = Run(source={"cpython_version": "3.13.1", "era": "configure", "commit": "0123456789abcdef0123"},
              toolchain={"kind": "system", "emcc_version": "3.1.69", "pinned_version": "3.1.73",
                         "matches_pin": False},
              node={"version": "20.19.2"})
    run.set_stage(Stage("make-host", "succeeded", 321.04, 0))
    run.set_stage(Stage("test", "succeeded", 900.0))
    run.tests["files"] = [
        File("test_os", "passed", 3.0, tests_run=4, skipped=1, expected_failures=1, cases=[
            Case("test.test_os.MakedirTests.test_mode", "passed", 0.01),
            Case("test.test_os.MakedirTests.test_exist_ok", "passed", 0.02),
            Case("test.test_os.ForkTests.test_fork", "skipped", message="requires os.fork"),
            Case("test.test_os.UtimeTests.test_ns", "expected-failure"),
        ]),
        File("test_math", "failed", 2.0, tests_run=4, failures=3, errors=1, unexpected_successes=1, cases=[
            Case("test.test_math.MathTests.test_sqrt", "passed", 0.1),
            Case("test.test_math.MathTests.test_fsum", "failed", 0.2, "AssertionError: 1.0 != 0.99",
                 FSUM_TRACEBACK),
            Case("test.test_math.MathTests.test_exp", "error", 0.3, "OverflowError",
                 "Traceback (most recent call last):\nOverflowError: math range error"),
            Case("test.test_math.MathTests.test_new", "unexpected-success", 0.4),
        ]),
        File("test_compile", "crashed", 30.0, tests_run=1, cases=[
            Case("test.test_compile.TestSpecifics.test_no_ending_newline", "passed", 0.01),
        ], crash=CRASH),
        File("test_socket", "resource-denied"),
        File("test_genericpath", "failed", log_excerpt="regrtest finished without a result for this file"),
        File("test_slow", "timed-out", 1200.0, log_excerpt="test_slow_thing ... "),
        File("test_json", "flaky", 1.0, tests_run=2, failures=1, attempts=2),
    ]
    run.decide_outcome()
    return run


# -- Markdown ------------------------------------------------------------------------------

def test_markdown_header_and_versions():
    text = render_markdown(sample_run())
    assert text.startswith("## ❌ Emscripten: failure\n")
    # Values from results.json are quoted as code (a fork may write them): nothing in them renders.
    assert "CPython `3.13.1` (`configure`) · commit `0123456789ab` · emcc `3.1.69` (`system`) ⚠️ pinned `3.1.73` · " \
           "node `20.19.2`" in text


def test_markdown_counts():
    text = render_markdown(sample_run())
    # files | passed | failed (incl. env changed) | crashed | timed out | flaky | skipped | resource denied
    assert "| 7 | 1 | 2 | 1 | 1 | 1 | 0 | 1 |" in text
    # An expected failure is not a failure (unittest's wasSuccessful); an unexpected success is.
    assert "Test cases: 11 run, 3 failed, 1 skipped, 1 expected failures." in text


def test_markdown_counts_without_expected_failures():
    run = Run()
    run.tests["files"] = [File("test_os", "passed", tests_run=2, skipped=1)]
    assert "Test cases: 2 run, 0 failed, 1 skipped.\n" in render_markdown(run)


def test_markdown_crash_text():
    text = render_markdown(sample_run())
    section = text.split("### Runtime crashes and timeouts", 1)[1].split("###", 1)[0]
    assert "- `test_compile` crashed" in section
    assert "RuntimeError: memory access out of bounds" in section
    assert "- `test_slow` timed-out" in section
    assert "test_slow_thing ..." in section


def test_markdown_failing_tracebacks():
    text = render_markdown(sample_run())
    section = text.split("### Failed test files", 1)[1].split("### Flaky", 1)[0]
    assert "<b><code>test_math</code></b> failed: 3 failing test(s)" in section
    assert "`test.test_math.MathTests.test_fsum`" in section
    assert "AssertionError: 1.0 != 0.9999999999999999" in section
    assert "OverflowError: math range error" in section
    assert "`test.test_math.MathTests.test_new`" in section
    assert "test_sqrt" not in section
    # long tracebacks keep their last lines only
    assert "line 40, in frame_40" in section
    assert "line 5, in frame_5\n" not in section
    assert len(section.split("`test.test_math.MathTests.test_fsum`")[1].split("```")[1].strip().splitlines()) \
        == MAX_TRACEBACK_LINES
    # a failed file without cases shows its log excerpt
    assert "<b><code>test_genericpath</code></b> failed: 0 failing test(s)" in section
    assert "regrtest finished without a result for this file" in section


def test_markdown_flaky_and_stages():
    text = render_markdown(sample_run())
    assert "### Flaky (failed, then passed on re-run)\n\n`test_json`\n" in text
    assert "| `make-host` | `succeeded` | 321.0 s |" in text


def test_markdown_errors_and_no_tests():
    run = Run(source={"cpython_version": "3.14.0", "era": "tools-wasm-emscripten"})
    run.errors.append("build stage make-host failed (rc 2); see out/logs/make-host.log")
    run.set_stage(Stage("make-host", "failed", 5.0, 2))
    run.decide_outcome()
    text = render_markdown(run)
    assert text.startswith("## 💥 Emscripten: error")
    assert "> **Error:** `build stage make-host failed (rc 2)" in text
    assert "| files |" not in text
    assert "emcc" not in text


def test_markdown_success():
    run = Run()
    run.set_stage(Stage("test", "succeeded", 1.0))
    run.tests["files"] = [File("test_os", "passed", tests_run=3)]
    run.decide_outcome()
    text = render_markdown(run)
    assert text.startswith("## ✅ Emscripten: success")
    assert "### Failed test files" not in text and "### Runtime crashes" not in text


# -- write_junit ---------------------------------------------------------------------------

def test_write_junit_totals(tmp_path):
    path = tmp_path / "out" / "junit.xml"
    write_junit(sample_run(), path)
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    # os 4 (2 skipped) + math 4 (2 failures, 1 error) + compile 1+<file> error + socket <file> skipped
    # + genericpath <file> failure + slow <file> error + json 0
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "13", "failures": "3", "errors": "3", "skipped": "3"}
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["test_os", "test_math", "test_compile", "test_socket", "test_genericpath",
                            "test_slow", "test_json"]
    assert sum(int(s.get("tests")) for s in suites.values()) == 13
    math = suites["test_math"]
    assert (math.get("tests"), math.get("failures"), math.get("errors"), math.get("time")) == ("4", "2", "1", "2.000")
    fsum = math.find("testcase[@name='test_fsum']")
    assert fsum.get("classname") == "test.test_math.MathTests"
    assert fsum.find("failure").get("message") == "AssertionError: 1.0 != 0.99"
    assert fsum.find("failure").text == FSUM_TRACEBACK


def test_write_junit_crashed_file_is_an_error(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(sample_run(), path)
    suite = ET.parse(path).getroot().find("testsuite[@name='test_compile']")
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("2", "1", "0")
    crash_case = suite.find("testcase[@name='<file>']")
    assert crash_case.get("classname") == "test_compile"
    error = crash_case.find("error")
    assert error.get("message") == "test_compile crashed"
    assert error.text == CRASH
    timed_out = ET.parse(path).getroot().find("testsuite[@name='test_slow']/testcase/error")
    assert timed_out.get("message") == "test_slow timed-out"


def test_write_junit_resource_denied_and_failed_without_cases(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(sample_run(), path)
    root = ET.parse(path).getroot()
    assert root.find("testsuite[@name='test_socket']/testcase/skipped").get("message") == "test_socket resource-denied"
    failure = root.find("testsuite[@name='test_genericpath']/testcase/failure")
    assert failure.text == "regrtest finished without a result for this file"


def test_write_junit_env_changed_file_is_not_green(tmp_path):
    run = Run()
    run.set_stage(Stage("test", "succeeded"))
    run.tests["files"] = [File("test_threading", "env-changed", tests_run=1, cases=[
        Case("test.test_threading.T.test_x", "passed")], log_excerpt="Warning -- threading_cleanup() failed")]
    assert run.decide_outcome() == "failure"
    path = tmp_path / "junit.xml"
    write_junit(run, path)
    root = ET.parse(path).getroot()
    assert int(root.get("failures")) + int(root.get("errors")) >= 1


def test_write_junit_escapes_text(tmp_path):
    run = Run()
    run.tests["files"] = [File("test_xml", "failed", cases=[
        Case("test.test_xml.T.test_amp", "failed", message='<bad> & "quoted"', traceback="a < b && c > d")])]
    path = tmp_path / "junit.xml"
    write_junit(run, path)
    failure = ET.parse(path).getroot().find(".//failure")
    assert failure.get("message") == '<bad> & "quoted"'
    assert failure.text == "a < b && c > d"


def test_write_junit_control_characters_stay_well_formed(tmp_path):
    run = Run()
    run.tests["files"] = [File("test_pyrepl", "crashed", crash="\x1b[31mRuntimeError\x1b[0m: unreachable\x00")]
    path = tmp_path / "junit.xml"
    write_junit(run, path)
    error = ET.parse(path).getroot().find(".//error")
    assert "RuntimeError" in error.text


def test_write_junit_empty_run(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(Run(), path)
    root = ET.parse(path).getroot()
    assert root.get("tests") == "0" and root.findall("testsuite") == []


# -- read_regrtest_junit -------------------------------------------------------------------

REGRTEST_JUNIT = """\
<testsuites tests="6" errors="1" failures="1">
  <testsuite start="2025-01-01 00:00:00" tests="6" errors="1" failures="1">
    <testcase name="test.test_os.MakedirTests.test_mode" status="run" result="completed" time="0.001250">
      <system-out />
      <system-err />
    </testcase>
    <testcase name="test.test_os.ForkTests.test_fork" status="run" result="completed" time="0.000010">
      <skipped>requires os.fork</skipped>
    </testcase>
    <testcase name="test.test_math.MathTests.test_fsum" status="run" result="completed" time="0.2">
      <system-out />
      <failure type="AssertionError" message="AssertionError: 1.0 != 0.99&#10;">Traceback (most recent call last):
  File "test_math.py", line 1, in test_fsum
AssertionError: 1.0 != 0.99
</failure>
    </testcase>
    <testcase name="test.test_math.MathTests.test_exp" status="run" result="completed" time="oops">
      <error type="OverflowError" message="OverflowError: math range error">Traceback ...</error>
    </testcase>
    <testcase classname="test.test_json.test_dump.TestDump" name="test_dump" time="0.5" />
    <testcase name="test_skip_attr" classname="test.test_x.T" status="skipped" />
  </testsuite>
</testsuites>
"""


def test_read_regrtest_junit(tmp_path):
    path = tmp_path / "regrtest.xml"
    path.write_text(REGRTEST_JUNIT)
    cases = {c.name: c for c in read_regrtest_junit(path)}
    assert list(cases) == [
        "test.test_os.MakedirTests.test_mode", "test.test_os.ForkTests.test_fork",
        "test.test_math.MathTests.test_fsum", "test.test_math.MathTests.test_exp",
        "test.test_json.test_dump.TestDump.test_dump", "test.test_x.T.test_skip_attr",
    ]
    mode = cases["test.test_os.MakedirTests.test_mode"]
    assert (mode.outcome, mode.duration, mode.message, mode.traceback) == ("passed", 0.00125, None, None)
    fork = cases["test.test_os.ForkTests.test_fork"]
    assert (fork.outcome, fork.traceback) == ("skipped", "requires os.fork")
    fsum = cases["test.test_math.MathTests.test_fsum"]
    assert fsum.outcome == "failed"
    assert fsum.message == "AssertionError: 1.0 != 0.99\n"
    assert fsum.traceback.startswith("Traceback (most recent call last):")
    assert fsum.traceback.endswith("AssertionError: 1.0 != 0.99")
    exp = cases["test.test_math.MathTests.test_exp"]
    assert (exp.outcome, exp.duration, exp.message) == ("error", None, "OverflowError: math range error")
    assert cases["test.test_json.test_dump.TestDump.test_dump"].duration == 0.5
    assert cases["test.test_x.T.test_skip_attr"].outcome == "skipped"


@pytest.mark.parametrize("content", [None, "", "<testsuites><testsuite>", "not xml at all"])
def test_read_regrtest_junit_missing_or_broken(tmp_path, content):
    path = tmp_path / "regrtest.xml"
    if content is not None:
        path.write_text(content)
    assert read_regrtest_junit(path) == []


@pytest.mark.parametrize("child, expected", [
    ("<outcome>UNEXPECTED_SUCCESS</outcome>", "unexpected-success"),
    ('<output type="AssertionError" message="AssertionError">Traceback ...</output>', "expected-failure"),
])
def test_read_regrtest_junit_unexpected_success_and_expected_failure(tmp_path, child, expected):
    path = tmp_path / "regrtest.xml"
    path.write_text(f'<testsuites><testsuite><testcase name="test.test_x.T.test_y" status="run" '
                    f'result="completed" time="0.1">{child}</testcase></testsuite></testsuites>')
    [case] = read_regrtest_junit(path)
    assert case.outcome == expected


# -- file_for_case -------------------------------------------------------------------------

FILES = ["test_os", "test_os2", "test_asyncio", "test.test_asyncio.test_tasks", "test_json"]


@pytest.mark.parametrize("case, owner", [
    ("test.test_os.MakedirTests.test_mode", "test_os"),
    ("test.test_os2.T.test_x", "test_os2"),
    ("test.test_asyncio.test_tasks.TaskTests.test_cancel", "test.test_asyncio.test_tasks"),
    ("test.test_asyncio.test_events.EventTests.test_x", "test_asyncio"),
    ("test.test_json", "test_json"),
    ("test.test_osx.T.test", None),
    ("test.test_math.MathTests.test_fsum", None),
])
def test_file_for_case(case, owner):
    assert file_for_case(case, FILES) == owner


def test_file_for_case_longest_prefix_regardless_of_order():
    files = ["test.test_asyncio.test_tasks", "test_asyncio"]
    assert file_for_case("test.test_asyncio.test_tasks.T.t", files) == "test.test_asyncio.test_tasks"
    assert file_for_case("test.test_asyncio.test_tasks.T.t", files[::-1]) == "test.test_asyncio.test_tasks"
