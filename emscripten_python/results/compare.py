"""What changed between two runs: new failures, fixes, crashes, flakes, skips, added and removed tests.

Pure functions of two result models (``results.Run``): no files, no store, no network. The
rules, in the order they are applied (docs/results-schema.rst, "The comparison object"):

* Each file's outcome is reduced to a *state*: ``passed`` (passed, no-tests), ``failed``
  (failed, env-changed), ``crashed`` (crashed, timed-out), ``flaky``, ``skipped`` (skipped,
  resource-denied) or ``unknown`` (any other value), and ``absent`` when the run has no
  entry for it. Each case outcome likewise: ``passed`` (passed, expected-failure),
  ``failed`` (failed, error, unexpected-success), ``skipped``.
* A file that exists in only one run is *added* or *removed*. Before that, removed and
  added files whose test cases match (same ``Class.test_method`` for at least half of the
  cases of both) are paired as a *rename*, and compared as one file.
* A file judged as a whole (no case detail on the relevant side, a crash, a flake, a skip)
  gives at most one change; otherwise each failing test case does. A "test" is therefore a
  test case where the case is known, and the file where it is not.
* The base side of a case that the base did not observe (the base crashed before it, or
  failed without case detail) is ``not-run``: a failure there is *still failing*, never new.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ResultsError
from .model import Run, TestFile

FILE_STATES = {
    "passed": "passed", "no-tests": "passed",
    "failed": "failed", "env-changed": "failed",
    "crashed": "crashed", "timed-out": "crashed",
    "flaky": "flaky",
    "skipped": "skipped", "resource-denied": "skipped",
}
CASE_STATES = {
    "passed": "passed", "expected-failure": "passed",
    "failed": "failed", "error": "failed", "unexpected-success": "failed",
    "skipped": "skipped",
}

# Change kinds, in the order they are shown. The first group is what a reviewer must look at.
KINDS = ("new-failure", "new-crash", "unexpectedly-passing", "newly-flaky", "newly-skipped", "fixed",
         "still-failing", "still-crashing", "expected-failure", "added", "removed")
# Kinds that count as "a new failure" for the --fail-on new policy.
NEW_KINDS = frozenset({"new-failure", "new-crash"})
POLICIES = ("new", "any", "never")
SLOWEST = 10
RENAME_OVERLAP = 0.5
COMPLETED = frozenset({"success", "failure", "warnings"})


@dataclass
class Change:
    kind: str              # one of KINDS
    test: str              # the test case id, or the file name for a file-level change
    file: str              # the regrtest file name in head (in base for a removed file)
    level: str             # "case" or "file"
    base: str              # state in base: passed/failed/crashed/flaky/skipped/absent/not-run/unknown
    head: str              # state in head
    detail: str | None = None     # crash signature, failure message, rename note (untrusted text)
    reason: str | None = None     # expectations: why it is expected to fail
    issue: str | None = None      # expectations: the issue link


@dataclass
class Expectation:
    pattern: str           # fnmatch pattern over a file name or a test case id
    reason: str = ""
    issue: str | None = None
    branches: tuple[str, ...] = ("*",)


@dataclass
class Comparison:
    base: dict | None                   # who the base is (run_id, branch, commit, ...) or None
    head: dict
    verdict: str
    baseline_missing: str | None = None     # why there is no base, when there is none
    counts: dict = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    renamed: list[dict] = field(default_factory=list)   # [{"from": old, "to": new}]
    durations: list[dict] = field(default_factory=list)
    expectations: dict | None = None    # {"source": path, "entries": n, "not_seen": [...]}
    policy: str | None = None           # --fail-on the faces apply: new / any / never
    fails: bool | None = None           # whether the run fails under that policy
    # Further runtimes (results.json `runtimes`): one comparison each, against the base's
    # section of the same runtime (same name and major version).
    runtimes: list["Comparison"] = field(default_factory=list)
    runtime: str | None = None          # on such a comparison: its runtime, e.g. "node 24"

    def of(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]

    @property
    def has_new(self) -> bool:
        return any(c.kind in NEW_KINDS for c in self.changes) or any(r.has_new for r in self.runtimes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Comparison":
        try:
            changes = [Change(**c) for c in data.get("changes", [])]
            runtimes = [cls.from_dict(r) for r in data.get("runtimes", [])]
            return cls(**{**data, "changes": changes, "runtimes": runtimes})
        except (TypeError, AttributeError) as exc:
            raise ResultsError(f"results.json comparison does not match the schema: {exc}") from None


# -- the pieces ------------------------------------------------------------------------------

def run_identity(run: Run) -> dict:
    source, origin = run.source or {}, run.origin or {}
    return {"run_id": run.run_id, "created": run.created, "outcome": run.outcome,
            "branch": source.get("branch"), "commit": source.get("commit"),
            "cpython_version": source.get("cpython_version"), "builder": origin.get("builder"),
            "url": origin.get("url")}


def file_state(test_file: TestFile | None) -> str:
    if test_file is None:
        return "absent"
    return FILE_STATES.get(test_file.outcome, "unknown")


def crash_signature(text: str | None) -> str:
    """The first line that names an error, with addresses and numbers blurred: what groups crashes."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "unknown crash"
    first = next((line for line in lines if re.search(r"Error|Exception|Aborted|abort|signal|rc \d+", line)),
                 lines[0])
    first = re.sub(r"0x[0-9a-fA-F]+", "0x…", first)
    first = re.sub(r"\d+", "N", first)
    return first[:200]


def _cases(test_file: TestFile) -> dict[str, str]:
    """Case id -> state; the last entry of a case wins (as for a re-run case in JUnit)."""
    return {c.name: CASE_STATES.get(c.outcome, "unknown") for c in test_file.cases}


def _short(case_id: str) -> str:
    """`Class.test_method` of a unittest id: what survives a module rename."""
    return ".".join(case_id.split(".")[-2:])


def _detail_of(test_file: TestFile, case: str | None = None) -> str | None:
    if case is not None:
        found = [c for c in test_file.cases if c.name == case]
        return (found[-1].message or None) if found else None
    if file_state(test_file) == "crashed":
        return crash_signature(test_file.crash or test_file.log_excerpt)
    return None


def _renames(removed: list[TestFile], added: list[TestFile]) -> list[tuple[TestFile, TestFile]]:
    """Greedy pairs of removed and added files whose cases match (`Class.test_method`)."""
    pairs, taken = [], set()
    for old in removed:
        old_cases = {_short(c.name) for c in old.cases}
        best, best_score = None, RENAME_OVERLAP
        for new in added:
            if new.name in taken or not old_cases:
                continue
            new_cases = {_short(c.name) for c in new.cases}
            if not new_cases:
                continue
            score = len(old_cases & new_cases) / max(len(old_cases), len(new_cases))
            if score >= best_score:
                best, best_score = new, score
        if best is not None:
            taken.add(best.name)
            pairs.append((old, best))
    return pairs


def partial_cases(run: Run) -> bool:
    """Whether a run lists only its non-passing cases (a run read back from the status store)."""
    return (run.tests or {}).get("cases_recorded") == "non-passing"


def _compare_file(base: TestFile | None, head: TestFile, partial: bool = False) -> list[Change]:
    """The changes one head file brings, against its base counterpart (None: added file).

    `partial`: one side lists only its non-passing cases, so a case missing from it passed.
    """
    b, h = file_state(base), file_state(head)
    name = head.name

    def whole(kind: str) -> Change:
        return Change(kind, name, name, "file", b, h, _detail_of(head) or (_detail_of(base) if base else None))

    if h == "crashed":
        return [whole("still-crashing" if b == "crashed" else "new-crash")]
    if h == "flaky":
        return [] if b == "flaky" else [whole("newly-flaky")]
    if h == "skipped":
        return [] if b in ("skipped", "absent") else [whole("newly-skipped")]
    if h == "unknown":
        return []
    if b == "crashed" and h == "passed":
        return [Change("fixed", name, name, "file", b, h, _detail_of(base))]
    head_cases = _cases(head)
    base_cases = _cases(base) if base is not None else {}
    if b == "flaky":   # failed, then passed on re-run: its failing cases were not failures
        base_cases = {case: "flaky" if state == "failed" else state for case, state in base_cases.items()}
    if base is not None and base.name != name:   # a rename: match cases by Class.test_method
        base_cases = {_short(k): v for k, v in base_cases.items()}
        key = _short
    else:
        key = str
    changes: list[Change] = []
    if h == "failed":
        bad = [case for case, state in head_cases.items() if state == "failed"]
        if not bad:   # failed without case detail (env changed, a failure outside any test)
            return [whole("still-failing" if b in ("failed", "crashed") else "new-failure")]
        for case in bad:
            before = base_cases.get(key(case))
            if before is None:
                # Not observed in base: a new test (or a file that was passing, skipped, flaky
                # or absent as a whole) is a new failure; a base that crashed or failed without
                # saying which tests leaves it unknown, and unknown is not "new".
                if b in ("absent", "skipped"):
                    before = "absent"
                elif partial and b in ("passed", "failed", "flaky"):
                    before = "passed"     # only non-passing cases were recorded
                elif b == "crashed" or (b in ("failed", "unknown") and not base_cases):
                    before = "not-run"    # the base died before it, or never said which tests ran
                else:
                    before = "absent" if base_cases else b
            kind = "still-failing" if before in ("failed", "not-run") else "new-failure"
            changes.append(Change(kind, case, name, "case", before, "failed", _detail_of(head, case)))
    # head passed (or failed): base failures that pass now are fixed; gone ones are removed.
    base_bad = [case for case, state in base_cases.items() if state == "failed"]
    if b == "failed" and not base_bad and h == "passed":
        changes.append(Change("fixed", name, name, "file", b, h))
    head_by_key = {key(case): (case, state) for case, state in head_cases.items()}
    for case in base_bad:
        now = head_by_key.get(case)
        if now is None:
            if partial or (h == "passed" and not head_cases):
                changes.append(Change("fixed", case, name, "case", "failed", "passed"))
            elif head_cases:
                changes.append(Change("removed", case, name, "case", "failed", "absent"))
        elif now[1] in ("passed", "skipped"):
            kind = "fixed" if now[1] == "passed" else "newly-skipped"
            changes.append(Change(kind, now[0], name, "case", "failed", now[1]))
    if base is not None and b in ("passed", "failed") and base_cases and head_cases and not partial:
        for case, state in head_cases.items():
            before = base_cases.get(key(case))
            if state == "skipped" and before == "passed":
                changes.append(Change("newly-skipped", case, name, "case", before, state))
            elif before is None and state != "failed":
                changes.append(Change("added", case, name, "case", "absent", state))
        for case, state in base_cases.items():
            if case not in head_by_key and state != "failed":
                changes.append(Change("removed", case, name, "case", state, "absent"))
    return changes


def _durations(base: Run | None, head: Run, renames: dict[str, str]) -> list[dict]:
    base_files = {renames.get(f.name, f.name): f for f in (base.test_files if base else [])}
    timed = sorted((f for f in head.test_files if f.duration is not None), key=lambda f: -f.duration)
    rows = []
    for test_file in timed[:SLOWEST]:
        before = base_files.get(test_file.name)
        was = before.duration if before is not None else None
        rows.append({"file": test_file.name, "base": was, "head": round(test_file.duration, 3),
                     "change": None if was is None else round(test_file.duration - was, 3)})
    return rows


# -- expectations ----------------------------------------------------------------------------

MAX_EXPECTATIONS_BYTES = 16 * 1024 * 1024      # ten times a 50,000-entry file


def load_expectations(path: Path) -> list[Expectation]:
    """An expectations file (TOML): which tests are known to fail, on which branches, and why.

    ::

        [[expected]]
        branches = ["3.13", "3.14*"]          # fnmatch patterns; default: every branch
        tests = ["test_os", "test.test_io.*"]  # file names or test case ids (fnmatch)
        reason = "no fork/exec under Emscripten"
        issue = "https://github.com/python/cpython/issues/NNN"
    """
    try:
        if path.stat().st_size > MAX_EXPECTATIONS_BYTES:
            raise ResultsError(f"expectations file {path} is larger than {MAX_EXPECTATIONS_BYTES:,} bytes")
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"expectations file {path} does not exist") from None
    except OSError as exc:
        raise ResultsError(f"expectations file {path} cannot be read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"expectations file {path} is not valid TOML: {exc}") from None
    except RecursionError:              # tomllib recurses once per nested array or table
        raise ResultsError(f"expectations file {path} nests arrays or tables too deeply") from None
    entries = data.get("expected", [])
    if not isinstance(entries, list):
        raise ResultsError(f"{path}: 'expected' must be an array of tables ([[expected]])")
    result = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: [[expected]] #{number}"
        if not isinstance(entry, dict):
            raise ResultsError(f"{where} is not a table")
        unknown = set(entry) - {"tests", "test", "reason", "issue", "branches", "branch"}
        if unknown:
            raise ResultsError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        tests = entry.get("tests", [entry["test"]] if "test" in entry else [])
        branches = entry.get("branches", [entry["branch"]] if "branch" in entry else ["*"])
        # a list each (a string would be iterated as its characters, each a pattern)
        if (not isinstance(tests, list) or not isinstance(branches, list)
                or not tests or not all(isinstance(t, str) and t for t in tests)
                or not all(isinstance(b, str) and b for b in branches)
                or not isinstance(entry.get("reason", ""), str)
                or not isinstance(entry.get("issue", ""), str)):
            raise ResultsError(f"{where} needs 'tests', a list of non-empty strings (or 'test', one); "
                               "'branches' must be a list of strings (or 'branch', one), 'reason' and "
                               "'issue' strings")
        for test in tests:
            result.append(Expectation(test, entry.get("reason", ""), entry.get("issue"), tuple(branches)))
    return result


_WILDCARD = re.compile(r"[*?\[]")


def compile_pattern(pattern: str):
    """An fnmatch pattern (case-sensitive, as fnmatchcase) as a compiled full-match function."""
    return re.compile(fnmatch.translate(pattern)).match


class ExpectationIndex:
    """The expectations of one comparison, for "which is the first that matches this name".

    A file of 50,000 entries is the normal case for a big expectations file, and each test
    case of the run is looked up: exact names (most entries) are one dict lookup, and each
    wildcard pattern is compiled once and only tried on names that start with its literal
    part (``test.test_io.*`` only on names starting ``test.test_io.``). The first entry in
    file order wins, as a linear scan would have it.
    """

    def __init__(self, expectations: list[Expectation]) -> None:
        self.exact: dict[str, tuple[int, Expectation]] = {}
        self.by_prefix: dict[str, list[tuple[int, Expectation, object]]] = {}
        for position, expectation in enumerate(expectations):
            literal = _WILDCARD.split(expectation.pattern, 1)[0]
            if literal == expectation.pattern:
                self.exact.setdefault(literal, (position, expectation))
            else:
                self.by_prefix.setdefault(literal, []).append(
                    (position, expectation, compile_pattern(expectation.pattern)))
        self.prefix_lengths = sorted({len(prefix) for prefix in self.by_prefix})

    def first(self, *names: str, exclude: str | None = None) -> Expectation | None:
        """The first expectation matching any of ``names``, leaving out an exact ``exclude`` pattern."""
        best: tuple[int, Expectation] | None = None
        for name in names:
            found = self.exact.get(name)
            if found is not None and found[1].pattern != exclude and (best is None or found[0] < best[0]):
                best = found
            for length in self.prefix_lengths:
                if length > len(name):
                    break
                for position, expectation, match in self.by_prefix.get(name[:length], ()):
                    if (best is None or position < best[0]) and match(name):
                        best = (position, expectation)
        return best[1] if best is not None else None


def _apply_expectations(changes: list[Change], head: Run, expectations: list[Expectation]) -> list[str]:
    """Fold expected failures; report expected tests that pass. Returns patterns never seen in head."""
    seen: set[str] = set()
    index = ExpectationIndex(expectations)
    for change in changes:
        if change.head not in ("failed", "crashed"):
            continue
        found = index.first(change.test, change.file)
        if found is not None:
            seen.add(found.pattern)
            change.kind, change.reason, change.issue = "expected-failure", found.reason, found.issue
    for test_file in head.test_files:
        state = file_state(test_file)
        expectation = index.first(test_file.name)
        if expectation is not None:
            seen.add(expectation.pattern)
            if state == "passed":
                changes.append(Change("unexpectedly-passing", test_file.name, test_file.name, "file", "expected",
                                      state, reason=expectation.reason, issue=expectation.issue))
                continue
        for case in test_file.cases:
            expectation = index.first(case.name, exclude=test_file.name)
            if expectation is None:
                continue
            seen.add(expectation.pattern)
            if CASE_STATES.get(case.outcome) == "passed" and state in ("passed", "failed"):
                changes.append(Change("unexpectedly-passing", case.name, test_file.name, "case", "expected",
                                      "passed", reason=expectation.reason, issue=expectation.issue))
    return sorted({e.pattern for e in expectations} - seen)


# -- the comparison --------------------------------------------------------------------------

def compare(base: Run | None, head: Run, *, expectations: list[Expectation] | None = None,
            expectations_source: str | None = None, baseline_missing: str | None = None) -> Comparison:
    """Compare `head` with `base` (None: no baseline, every failure that is not expected is new)."""
    branch = (head.source or {}).get("branch") or ""
    active = [e for e in expectations or [] if any(fnmatch.fnmatchcase(branch, p) for p in e.branches)]
    base_files = {f.name: f for f in base.test_files} if base is not None else {}
    head_files = {f.name: f for f in head.test_files}
    changes: list[Change] = []
    renamed: list[dict] = []
    partial = partial_cases(head) or (base is not None and partial_cases(base))
    if base is not None:
        removed = [f for name, f in base_files.items() if name not in head_files]
        added = [f for name, f in head_files.items() if name not in base_files]
        pairs = _renames(removed, added)
        renamed = [{"from": old.name, "to": new.name} for old, new in pairs]
        counterpart = {new.name: old for old, new in pairs}
        gone = {old.name for old, _ in pairs}
        for test_file in head.test_files:
            old = base_files.get(test_file.name) or counterpart.get(test_file.name)
            if old is None:
                changes.append(Change("added", test_file.name, test_file.name, "file", "absent",
                                      file_state(test_file)))
            changes += _compare_file(old, test_file, partial)
        for test_file in removed:
            if test_file.name not in gone:
                changes.append(Change("removed", test_file.name, test_file.name, "file",
                                      file_state(test_file), "absent", _detail_of(test_file)))
    else:
        for test_file in head.test_files:
            changes += _compare_file(None, test_file, partial)
    not_seen = _apply_expectations(changes, head, active) if expectations is not None else []
    order = {kind: i for i, kind in enumerate(KINDS)}
    changes.sort(key=lambda c: (order[c.kind], c.file, c.test))
    counts = {kind.replace("-", "_"): 0 for kind in KINDS}
    for change in changes:
        counts[change.kind.replace("-", "_")] += 1
    comparison = Comparison(
        base=run_identity(base) if base is not None else None, head=run_identity(head), verdict="",
        baseline_missing=None if base is not None else (baseline_missing or "no baseline given"),
        counts=counts, changes=changes, renamed=renamed,
        durations=_durations(base, head, {r["from"]: r["to"] for r in renamed}),
        expectations=None if expectations is None else {
            "source": expectations_source, "entries": len(active), "not_seen": not_seen})
    comparison.verdict = verdict(comparison, head)
    if head.runtimes:
        comparison.runtimes = [_compare_runtime(base, head, section, expectations, expectations_source)
                               for section in head.runtimes if section.get("files")]
        new = [r for r in comparison.runtimes if r.has_new]
        comparison.verdict += "".join(f"; under {r.runtime}: {r.verdict}" for r in new)
    return comparison


def runtime_key(runtime: dict | None) -> str:
    """A further runtime's identity across runs: its name, and its major version for node."""
    runtime = runtime or {}
    name = str(runtime.get("name") or runtime.get("kind") or "node")
    major = str(runtime.get("version") or "").split(".")[0]
    return f"{name} {major}" if major and name == "node" else name


def _section_run(run: Run, section: dict) -> Run:
    return Run(run_id=run.run_id, created=run.created, origin=run.origin, source=run.source,
               outcome=run.outcome, tests=section)


def _compare_runtime(base: Run | None, head: Run, section: dict, expectations, source) -> Comparison:
    key = runtime_key(section.get("runtime"))
    found = next((s for s in (base.runtimes if base is not None else []) if s.get("files")
                  and runtime_key(s.get("runtime")) == key), None)
    missing = None if found is not None else (
        f"the base has no {key} results" if base is not None else "no baseline given")
    result = compare(_section_run(base, found) if found is not None else None, _section_run(head, section),
                     expectations=expectations, expectations_source=source, baseline_missing=missing)
    result.runtime = key
    return result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word.replace('failure', 'failures').replace('crash', 'crashes')}"


def base_label(base: dict | None) -> str:
    if not base:
        return "no baseline"
    where = base.get("branch") or base.get("cpython_version") or "base"
    commit = base.get("commit")
    return f"{where} @{commit[:7]}" if commit else f"{where} run {base['run_id'][:8]}"


def verdict(comparison: Comparison, head: Run) -> str:
    """One line: '2 new failures vs 3.14 @abc1234, 1 fixed, 14 known failures unchanged'."""
    c = comparison.counts
    if not head.test_files:
        return f"no test results to compare (run {head.outcome})"
    new = c["new_failure"] + c["new_crash"]
    known = c["still_failing"] + c["still_crashing"] + c["expected_failure"]
    if comparison.base is None:
        lead = (f"{_plural(new, 'failure')} not known to fail"
                f" (no baseline: {comparison.baseline_missing})")
    else:
        lead = f"{_plural(new, 'new failure')} vs {base_label(comparison.base)}"
        if c["new_crash"]:
            lead += f" ({_plural(c['new_crash'], 'crash')})"
    parts = [lead]
    if c["fixed"]:
        parts.append(f"{c['fixed']} fixed")
    if c["newly_flaky"]:
        parts.append(f"{c['newly_flaky']} newly flaky")
    if c["newly_skipped"]:
        parts.append(f"{c['newly_skipped']} newly skipped")
    if c["unexpectedly_passing"]:
        parts.append(f"{c['unexpectedly_passing']} unexpectedly passing")
    if comparison.base is not None or known:
        parts.append(f"{_plural(known, 'known failure')} unchanged")
    return ", ".join(parts)


def fails(comparison: Comparison | None, run: Run, policy: str = "new") -> bool:
    """Whether the run fails under `policy` (new / any / never); a run error always fails.

    ``new``: a new failure or a new crash (without a baseline: any failure not expected);
    ``any``: any failing, crashed or timed-out file; ``never``: only a run error.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}")
    if run.outcome == "error":
        return True
    if policy == "never" or not run.test_files:
        return False
    if policy == "any" or comparison is None:
        return run.outcome == "failure"
    return comparison.has_new


def policy_outcome(run: Run) -> str:
    """The outcome the faces act on (check run, commit status, Buildbot step): a ``failure``
    whose comparison says the policy accepts it (``fails`` false) is ``warnings``."""
    comparison = run.comparison if isinstance(run.comparison, dict) else None
    if run.outcome == "failure" and comparison and comparison.get("fails") is False:
        return "warnings"
    return run.outcome
