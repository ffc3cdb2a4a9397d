"""Read regrtest's --junit-xml (preferred for per-case detail when it exists) and write ours."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..results import Run, TestCase


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
        status = element.get("status")
        if status == "skipped":
            outcome = "skipped"
        try:
            duration = float(element.get("time")) if element.get("time") else None
        except ValueError:
            duration = None
        full = f"{classname}.{name}" if classname and not name.startswith(classname) else name
        cases.append(TestCase(name=full, outcome=outcome, duration=duration, message=message, traceback=text))
    return cases


def file_for_case(case_name: str, files: list[str]) -> str | None:
    """The regrtest file a unittest id belongs to (longest module prefix wins)."""
    best = None
    for name in files:
        module = name if name.startswith("test.") else f"test.{name}"
        if case_name == module or case_name.startswith(module + "."):
            if best is None or len(module) > len(best[1]):
                best = (name, module)
    return best[0] if best else None


def write_junit(run: Run, path: Path) -> None:
    """One <testsuite> per test file; crashed and timed-out files become an <error> case."""
    suites = ET.Element("testsuites", name="emscripten-python")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for test_file in run.test_files:
        suite = ET.SubElement(suites, "testsuite", name=test_file.name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        cases = list(test_file.cases)
        if test_file.outcome in ("crashed", "timed-out") or (test_file.outcome in ("skipped", "resource-denied")
                                                             and not cases) or (not cases and test_file.outcome == "failed"):
            cases.append(TestCase(name=f"{test_file.name}.<file>", outcome={
                "crashed": "error", "timed-out": "error", "failed": "failed"}.get(test_file.outcome, "skipped"),
                message=f"{test_file.name} {test_file.outcome}",
                traceback=test_file.crash or test_file.log_excerpt))
        for case in cases:
            classname, _, name = case.name.rpartition(".")
            element = ET.SubElement(suite, "testcase", classname=classname or test_file.name, name=name,
                                    time=f"{case.duration or 0:.3f}")
            counts["tests"] += 1
            if case.outcome in ("failed", "unexpected-success"):
                counts["failures"] += 1
                ET.SubElement(element, "failure", message=case.message or "failed").text = case.traceback
            elif case.outcome == "error":
                counts["errors"] += 1
                ET.SubElement(element, "error", message=case.message or "error").text = case.traceback
            elif case.outcome in ("skipped", "expected-failure"):
                counts["skipped"] += 1
                ET.SubElement(element, "skipped", message=case.message or case.outcome)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{test_file.duration or 0:.3f}")
    for key, value in totals.items():
        suites.set(key, str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
