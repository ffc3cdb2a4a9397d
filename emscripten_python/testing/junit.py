"""Read regrtest's --junit-xml (preferred for per-case detail when it exists) and write ours."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..results import Run, TestCase, TestFile
from ..durable import atomic_file
from ..runtimes import runtime_label, runtime_slug
from .regrtest_output import cap


def read_regrtest_junit(path: Path) -> list[TestCase]:
    """Test cases from a regrtest JUnit file; [] when it is missing or unreadable.

    A missing file is normal: regrtest writes it only at the very end (and was seen not to
    write it at all after a long run), so the console output stays the primary source.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return []
    cases = []
    for element in root.iter("testcase"):
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
