"""The store's own checks of a run, after the shared validation (exit 40, a clear message).

Every results.json file is first checked by ``emscripten_python.results.validation`` (types, finite
numbers, outcomes, sizes within ``Limits``, a run_id safe in URLs and paths), shared with
the GitHub face. What only the store needs is checked here, on the values a run is stored
with (after ``--branch``/``--builder``/``--pr`` overrides): a PR number that is a number,
values no longer than their columns and counts no larger (the same message on SQLite, which
would store them, and PostgreSQL, which would raise), names without control characters or
lone surrogates, and a branch that is safe as a URL path (the branch page and ``status
export`` use it as one). All of it runs before the store is opened (ingest.py).

Free text (a traceback, a message, crash text) is never refused for its characters: a test
may print anything. ``stored_text`` keeps it as both databases can: NUL (which PostgreSQL's
text cannot hold) and lone surrogates (which are not UTF-8) become U+FFFD.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import ResultsError
from ..results.fieldchecks import SURROGATE, name_problem, show

# Column lengths of models.py.
LENGTHS = {"run_id": 64, "builder": 200, "branch": 200, "commit": 64, "cpython_version": 32,
           "emcc_version": 32, "node_version": 32, "origin": 32, "file": 300, "case": 500}

# Characters that change the direction of the text around them (embeddings, overrides,
# isolates, marks): stripped from every page (web.py), refused in a branch or builder.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def strip_bidi(text: str) -> str:
    return _BIDI.sub("", text)


INT_MAX = 2**31 - 1   # the INTEGER columns (counts, runs.pr): 32-bit on PostgreSQL
PR_MAX = INT_MAX
# Counts of a run and of each test file stored in INTEGER columns.
RUN_COUNTS = ("files_total", "files_bad", "files_crashed", "files_flaky", "tests_run")
FILE_COUNTS = ("tests_run", "failures", "attempts")
# Columns that hold a name or an id (shown on a line, used in a URL): no control characters.
NAMES = ("builder", "branch", "commit", "cpython_version", "emcc_version", "node_version", "origin", "build_url")
_UNSTORABLE = re.compile(f"\x00|{SURROGATE.pattern}")


def stored_text(text: str | None) -> str | None:
    """Free text as the store keeps it: NUL and lone surrogates replaced by U+FFFD (the same
    on SQLite and PostgreSQL), every other character as it was."""
    return _UNSTORABLE.sub("\ufffd", text) if text else text


def pr_number(value, where: str = "origin.pr") -> int | None:
    """A pull request number from results.json or an override (int or digits); ResultsError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= PR_MAX:
        raise ResultsError(f"{where}: {str(value)[:40]!r} is not a pull request number")
    return value


def _unsafe_path(value: str) -> str | None:
    """Why `value` cannot be a URL path below /branch/ and a file path in an export, or None."""
    if value != value.strip() or not value:
        return "is empty or has leading or trailing spaces"
    if "\\" in value:
        return "contains a backslash"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for c in value):
        return "contains control or format characters"
    if any(part in ("", ".", "..") or part.startswith(".") for part in value.split("/")):
        return "has an empty, '.' or '..' path segment, or one starting with '.'"
    return None


def check_row(values: dict, test_files: list, source: str) -> None:
    """Raise ResultsError naming `source` and every problem of the values a run would be stored
    with; `test_files`: (where in results.json, stored name, TestFile)."""
    problems = []
    for key in NAMES:
        value = values.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{key}: expected a string, got {type(value).__name__}")
        elif value is not None and key in LENGTHS and len(value) > LENGTHS[key]:
            problems.append(f"{key}: {len(value):,} characters, more than the store's limit of {LENGTHS[key]}")
        elif value is not None and key != "branch" and (reason := name_problem(value)):   # branch: below
            problems.append(f"{key}: {show(value)} {reason}")
    problems += [f"{key}: {values[key]} over all test files, more than the store's limit of {INT_MAX}"
                 for key in RUN_COUNTS if values.get(key, 0) > INT_MAX]
    if isinstance(values.get("branch"), str) and (reason := _unsafe_path(values["branch"])):
        problems.append(f"branch: {values['branch'][:60]!r} {reason}")
    if isinstance(values.get("builder"), str) and (not values["builder"].strip() or _BIDI.search(values["builder"])):
        problems.append(f"builder: {values['builder'][:60]!r} is empty or holds direction controls")
    for where, name, test_file in test_files:
        if len(name) > LENGTHS["file"]:
            problems.append(f"{where}.name: {len(name):,} characters, more than the store's limit of "
                            f"{LENGTHS['file']}")
        elif reason := name_problem(name):
            problems.append(f"{where}.name: {show(name)} {reason}")
        problems += [f"{where}.{key}: {getattr(test_file, key)} is more than the store's limit of {INT_MAX}"
                     for key in FILE_COUNTS if getattr(test_file, key) > INT_MAX]
        for j, case in enumerate(test_file.cases):
            if len(case.name) > LENGTHS["case"]:
                problems.append(f"{where}.cases[{j}].name: {len(case.name):,} characters, more than "
                                f"the store's limit of {LENGTHS['case']}")
            elif reason := name_problem(case.name):
                problems.append(f"{where}.cases[{j}].name: {show(case.name)} {reason}")
    if problems:
        shown = problems[:10]
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ResultsError(f"{source} cannot be stored ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
                           "\n  " + "\n  ".join(shown) + more)
