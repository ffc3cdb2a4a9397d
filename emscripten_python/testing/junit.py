"""Read regrtest's --junit-xml (preferred for per-case detail when it exists) and write ours;
a file's case counts from its console attempts and JUnit suites (`file_counts`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..durable import atomic_file
from ..results.model import Run, TestCase, TestFile
from .regrtest_output import FileAttempt, cap
from .runtimes import runtime_label, runtime_slug


@dataclass
class JUnitSuite:
    """One <testsuite> of regrtest's JUnit file: one attempt of one test file."""

    cases: list[TestCase] = field(default_factory=list)
    tests: int | None = None          # its `tests` attribute: unittest's testsRun


def read_regrtest_junit(path: Path) -> list[TestCase]:
    """Test cases from a regrtest JUnit file; [] when it is missing or unreadable.

    A missing file is normal: regrtest writes it only at the very end (and was seen not to
    write it at all after a long run), so the console output stays the primary source.
    """
    return [case for suite in read_regrtest_junit_suites(path) for case in suite.cases]


def read_regrtest_junit_suites(path: Path) -> list[JUnitSuite]:
    """The <testsuite>s of a regrtest JUnit file in order (a re-run file has one per
    attempt); [] when it is missing or unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return []
    suites = []
    for element in root.iter("testsuite"):
        try:
            tests = int(element.get("tests", ""))
        except ValueError:
            tests = None
        suites.append(JUnitSuite(_cases(element), tests))
    return suites


def _cases(suite: ET.Element) -> list[TestCase]:
    cases = []
    for element in suite.iter("testcase"):
        classname, name = element.get("classname", ""), element.get("name", "")
        outcome, message, text = "passed", None, None
        for child, kind in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            found = element.find(child)
            if found is not None:
                outcome, message = kind, found.get("message")
                text = (found.text or "").strip() or None
                break
        # regrtest's own JUnit writer (test.support.testresult) marks these with child elements.
        marker = element.find("outcome")
        if marker is not None and (marker.text or "").strip() == "UNEXPECTED_SUCCESS":
            outcome = "unexpected-success"
        elif outcome == "passed" and element.find("output") is not None:
            outcome, text = "expected-failure", (element.find("output").text or "").strip() or None
        if element.get("status") == "skipped":
            outcome = "skipped"
        try:
            duration = float(element.get("time")) if element.get("time") else None
        except ValueError:
            duration = None
        full = f"{classname}.{name}" if classname and not name.startswith(classname) else name
        cases.append(TestCase(name=full, outcome=outcome, duration=duration,
                              message=cap(message, 1024) if message else message,
                              traceback=cap(text) if text else text))
    return cases


@dataclass
class CaseCounts:
    """A file's test case counts (docs/results-schema.rst, "Test case counts"): the TestFile
    fields of the same names."""

    tests_run: int = 0
    failures: int = 0               # FAIL + ERROR + unexpected successes (unittest's wasSuccessful)
    errors: int = 0
    skipped: int = 0
    expected_failures: int = 0      # not failures
    unexpected_successes: int = 0

    @property
    def failed(self) -> int:
        """FAIL cases alone: what regrtest's `Total tests: failures=` adds up."""
        return self.failures - self.errors - self.unexpected_successes

    def fields(self) -> dict[str, int]:
        return asdict(self)


def attempt_counts(attempt: FileAttempt, suite: JUnitSuite | None = None) -> CaseCounts:
    """One attempt's counts: unittest's own last lines when printed (-v, or any run whose
    output shows them), else its JUnit suite, else regrtest's verdict suffix (failures only)."""
    if attempt.unittest_verdict is not None and attempt.tests_run is not None:
        return CaseCounts(attempt.tests_run, attempt.failures, attempt.errors, attempt.skipped,
                          attempt.expected_failures, attempt.unexpected_successes)
    if suite is not None:
        outcomes = [case.outcome for case in suite.cases]
        errors, unexpected = outcomes.count("error"), outcomes.count("unexpected-success")
        return CaseCounts(suite.tests if suite.tests is not None else len(outcomes),
                          outcomes.count("failed") + errors + unexpected, errors, outcomes.count("skipped"),
                          outcomes.count("expected-failure"), unexpected)
    return CaseCounts(attempt.tests_run or 0, attempt.failures, attempt.errors, attempt.skipped,
                      attempt.expected_failures, attempt.unexpected_successes)


def file_counts(attempts: list[FileAttempt], suites: list[JUnitSuite] = (),
                totals: dict[str, int] | None = None) -> CaseCounts:
    """A file's counts: those of the attempt whose verdict holds (the re-run's, when re-run;
    never the two added up). `suites` are the file's JUnit suites in order, one per attempt
    that reached its end; `totals` regrtest's `Total tests:` numbers, used only when the
    segment ran this file alone once and nothing else tells."""
    last = attempts[-1]
    suite = suite_of(len(attempts) - 1, suites)
    counts = attempt_counts(last, suite)
    if totals and len(attempts) == 1 and not counts.tests_run and suite is None:
        # regrtest's failures= are FAIL cases only (libregrtest/result.py TestStats.from_unittest).
        counts.tests_run = totals.get("run", 0)
        counts.skipped = counts.skipped or totals.get("skipped", 0)
        if not counts.failures:
            counts.failures = totals.get("failures", 0)
    return counts


def suite_of(index: int, suites: list[JUnitSuite]) -> JUnitSuite | None:
    """The JUnit suite of a file's attempt `index` (0: the first). Suites come in the order of
    the attempts; an attempt that ended without one (skipped at import, crashed) or a suite
    with no case to tell its file (a re-run that ran no tests) is at the end, so the
    attempts are matched from the first."""
    return suites[index] if index < len(suites) else None


def junit_suites_by_file(suites: list[JUnitSuite], files: list[str]) -> dict[str, list[JUnitSuite]]:
    """Each suite under the file its cases belong to (an empty suite belongs to none)."""
    by_file: dict[str, list[JUnitSuite]] = {}
    for suite in suites:
        owner = next((found for case in suite.cases if (found := file_for_case(case.name, files))), None)
        if owner is not None:
            by_file.setdefault(owner, []).append(suite)
    return by_file


def file_for_case(case_name: str, files: list[str]) -> str | None:
    """The regrtest file a unittest id belongs to (longest module prefix wins)."""
    best = None
    for name in files:
        # Stdlib cases are test.test_x.Class.method; with --testdir, test_x.Class.method.
        for module in {name if name.startswith("test.") else f"test.{name}", name}:
            if case_name == module or case_name.startswith(module + "."):
                if best is None or len(module) > len(best[1]):
                    best = (name, module)
    return best[0] if best else None


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str | None) -> str | None:
    """Console output can hold ANSI escapes and NULs, which XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text) if text is not None else None


def write_junit(run: Run, path: Path) -> None:
    """One <testsuite> per test file; crashed and timed-out files become an <error> case.

    A run tested under several runtimes (node 20, node 24, chromium) has one testsuite per
    runtime and file, named `<runtime>/<file>` (e.g. `node-24/test_os`), with the runtime in
    a `runtime` property and as the classname prefix, so CI test views keep them apart.
    """
    suites = ET.Element("testsuites", name="emscripten-python")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    several = bool(run.runtimes)
    for runtime, test_file in [(section.get("runtime"), f) for section in run.sections
                               for f in section.get("files", [])]:
        prefix = f"{runtime_slug(runtime)}/" if several else ""
        suite = ET.SubElement(suites, "testsuite", name=prefix + test_file.name)
        if several:
            ET.SubElement(ET.SubElement(suite, "properties"), "property", name="runtime",
                          value=runtime_label(runtime))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        cases = list(test_file.cases)
        synthetic = _file_level_case(test_file, cases)
        if synthetic is not None:
            cases.append(synthetic)
        for case in cases:
            classname, _, name = case.name.rpartition(".")
            element = ET.SubElement(suite, "testcase", classname=prefix.replace("/", ".")
                                    + (classname or test_file.name), name=name,
                                    time=f"{case.duration or 0:.3f}")
            counts["tests"] += 1
            if case.outcome in ("failed", "unexpected-success"):
                counts["failures"] += 1
                ET.SubElement(element, "failure", message=_xml_text(case.message) or "failed").text = \
                    _xml_text(case.traceback)
            elif case.outcome == "error":
                counts["errors"] += 1
                ET.SubElement(element, "error", message=_xml_text(case.message) or "error").text = \
                    _xml_text(case.traceback)
            elif case.outcome in ("skipped", "expected-failure"):
                counts["skipped"] += 1
                ET.SubElement(element, "skipped", message=_xml_text(case.message) or case.outcome)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{test_file.duration or 0:.3f}")
    for key, value in totals.items():
        suites.set(key, str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        ET.ElementTree(suites).write(handle, encoding="utf-8", xml_declaration=True)


def _file_level_case(test_file: TestFile, cases: list[TestCase]) -> TestCase | None:
    """A case standing for the whole file when its outcome is not visible in its cases.

    Without it a crashed file, or a failed / env-changed file with no failing case, would
    look green in JUnit while the run failed.
    """
    failing = any(c.outcome in ("failed", "error", "unexpected-success") for c in cases)
    if test_file.outcome in ("crashed", "timed-out"):
        outcome = "error"
    elif test_file.outcome in ("failed", "env-changed") and not failing:
        outcome = "failed"
    elif test_file.outcome in ("skipped", "resource-denied") and not cases:
        outcome = "skipped"
    else:
        return None
    return TestCase(name=f"{test_file.name}.<file>", outcome=outcome,
                    message=f"{test_file.name} {test_file.outcome}",
                    traceback=test_file.crash or test_file.log_excerpt)
