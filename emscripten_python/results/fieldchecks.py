"""The field checks a results.json is validated with, and the limits they enforce.

``FieldChecks`` knows types, ranges and sizes, never what a field means: the schema's
per-section checks (``validation.py``) say which field gets which check. Problems are
collected (``problems``), not raised, so one message can list them all.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

# A run id, artifact digest, stage name: plain ASCII that needs no quoting in a URL or path.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# C0 controls other than tab and newline, DEL and C1 controls: never meaningful in a name.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A UTF-16 surrogate without its pair: a JSON string may spell one (\ud800), UTF-8 cannot.
SURROGATE = re.compile("[\ud800-\udfff]")
# A time's year: four digits, as the report's ordering key writes it (YYYYMMDD...).
MIN_YEAR, MAX_YEAR = 1970, 9998


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one results.json; the defaults fit a full CPython test run with room."""

    max_file_bytes: int = 64 * 1024 * 1024
    max_name: int = 512            # names, ids, versions, outcomes, short fields
    max_string: int = 4096         # other strings: messages, paths, URLs, error lines
    max_text: int = 256 * 1024     # tracebacks, crash text, log excerpts
    max_files: int = 20_000        # test files over all runtimes
    max_cases: int = 500_000       # test cases over all files
    max_list: int = 10_000         # any other list (selection, errors, stages, artifacts...)
    max_errors: int = 1_000
    max_depth: int = 16            # nesting of free-form objects (toolchain, pythoninfo...)
    max_nesting: int = 32          # brackets in the whole file, checked before decoding
    max_problems: int = 10         # problems listed in the message; the rest are counted


class FieldChecks:
    """Checks of one value each, for one record; a failed check records "<where>: <what is
    wrong>" in ``problems``."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self.totals: Counter[str] = Counter()     # entries over the whole record (within_total)

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def string(self, where: str, value, *, limit: int | None = None, nullable: bool = False,
               pattern: re.Pattern | None = None, choices: tuple | None = None) -> bool:
        if value is None and nullable:
            return True
        if not isinstance(value, str):
            self.problem(where, f"expected a string{' or null' if nullable else ''}, got {kind_of(value)}")
            return False
        limit = limit or self.limits.max_string
        if len(value) > limit:
            self.problem(where, f"{len(value):,} characters, more than the limit of {limit:,}")
            return False
        if choices is not None and value not in choices:
            self.problem(where, f"{show(value)} is not one of {', '.join(choices)}")
            return False
        if pattern is not None and not pattern.match(value):
            self.problem(where, f"{show(value)} has characters or a form not allowed here")
            return False
        return True

    def number(self, where: str, value, *, integer: bool = False, nullable: bool = False,
               minimum: float | None = 0) -> None:
        if value is None and nullable:
            return
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = "an integer" if integer else "a number"
            self.problem(where, f"expected {wanted}{' or null' if nullable else ''}, got {kind_of(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            self.problem(where, f"{value} is not a finite number")
        elif minimum is not None and value < minimum:
            self.problem(where, f"{value} is below {minimum}")
        elif abs(value) > 1e15:
            self.problem(where, f"{value} is out of range")

    def time(self, where: str, value, *, nullable: bool = False) -> None:
        """An ISO 8601 time whose year (in UTC) is between MIN_YEAR and MAX_YEAR."""
        if not self.string(where, value, limit=64, nullable=nullable) or value is None:
            return
        try:
            when = datetime.fromisoformat(value)
            # in UTC, where the reporters compare it; the ends of the calendar overflow
            year = (when.astimezone(timezone.utc) if when.tzinfo else when).year
        except (ValueError, OverflowError):
            self.problem(where, f"{show(value)} is not an ISO 8601 time")
        else:
            if not MIN_YEAR <= year <= MAX_YEAR:
                self.problem(where, f"{show(value)} is not between {MIN_YEAR} and {MAX_YEAR}")

    def line(self, where: str, value, **options) -> None:
        """A string shown as a line of a page (a name, a subject): ``name_problem`` says none."""
        if self.string(where, value, **options) and value is not None and (reason := name_problem(value)):
            self.problem(where, f"{show(value)} {reason}")

    def boolean(self, where: str, value, *, nullable: bool = False) -> None:
        if not (isinstance(value, bool) or (value is None and nullable)):
            self.problem(where, f"expected true or false, got {kind_of(value)}")

    def version(self, where: str, value, readable: tuple[int, ...]) -> None:
        """A schema version this code reads (true is not 1)."""
        if isinstance(value, bool) or value not in readable:
            self.problem(where, f"{show(value)} is not supported (readable: {', '.join(map(str, readable))})")

    def list_of(self, where: str, value, limit: int | None = None) -> list:
        """``value`` if it is a list within ``limit`` entries, else [] (the problem recorded)."""
        if not isinstance(value, list):
            self.problem(where, f"expected a list, got {kind_of(value)}")
            return []
        limit = limit or self.limits.max_list
        if len(value) > limit:
            self.problem(where, f"{len(value):,} entries, more than the limit of {limit:,}")
            return []
        return value

    def obj(self, where: str, value, *, nullable: bool = False) -> dict | None:
        """``value`` if it is an object, else None (a problem recorded unless null is allowed)."""
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            self.problem(where, f"expected an object{' or null' if nullable else ''}, got {kind_of(value)}")
            return None
        return value

    def free(self, where: str, value, depth: int = 0) -> None:
        """Free-form JSON (toolchain, pythoninfo, comparison...): bounded in depth and size."""
        if depth > self.limits.max_depth:
            self.problem(where, f"nested deeper than {self.limits.max_depth} levels")
        elif isinstance(value, dict):
            if len(value) > self.limits.max_list:
                self.problem(where, f"{len(value):,} keys, more than the limit of {self.limits.max_list:,}")
                return
            for key, item in value.items():
                self.string(f"{where} key", key, limit=self.limits.max_name)
                self.free(f"{where}.{key_text(key)}", item, depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(self.list_of(where, value)):
                self.free(f"{where}[{i}]", item, depth + 1)
        elif isinstance(value, str):
            self.string(where, value, limit=self.limits.max_text)
        elif isinstance(value, float) and not math.isfinite(value):
            self.problem(where, f"{value} is not a finite number")
        elif value is not None and not isinstance(value, (bool, int, float)):
            self.problem(where, f"unexpected {kind_of(value)}")

    def within_total(self, where: str, entries: list, limit: int, what: str) -> bool:
        """Count ``entries`` towards the total of ``what`` over the whole record; False (the
        problem recorded) once that total is beyond ``limit``."""
        self.totals[what] += len(entries)
        if self.totals[what] > limit:
            self.problem(where, f"more than {limit:,} {what} in all")
            return False
        return True

    def unknown_fields(self, where: str, entry: dict, known: frozenset) -> None:
        extra = set(entry) - known
        if extra:
            names = ", ".join(show(k, 40) for k in sorted(map(str, extra))[:5])
            self.problem(where, f"fields this schema does not define: {names}")


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a name (a builder, a branch, a version, a test's name), or None:
    control characters (git and regrtest never write them there; PostgreSQL's text refuses
    NUL) or a lone surrogate (JSON's \\ud800 escape: no UTF-8 holds it, so no database,
    page or comment could)."""
    if CONTROL.search(value):
        return "contains control characters"
    if SURROGATE.search(value):
        return "contains a lone surrogate"
    return None


def kind_of(value) -> str:
    """The JSON kind of ``value`` as a message names it ("an object", "null"...)."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def show(value, limit: int = 60) -> str:
    """A value quoted for an error message: short, one line, no control characters."""
    text = repr(value)
    text = CONTROL.sub("?", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def key_text(key) -> str:
    """A key as a place in a message: as it is when it is a short plain id, else quoted."""
    return key if isinstance(key, str) and SAFE_ID.match(key) and len(key) <= 40 else show(key, 40)
