"""Property tests of the regrtest console parser on output generated from a model of regrtest's
grammar, for every era, then cut, spliced with stderr, coloured and given invalid bytes.

The model (`render`) writes what Lib/test/libregrtest prints, era by era, as the real logs in
tests/unit/data show it:

- "3.11-old" (3.11.0-3.11.6, main.py of v3.11.2): `[i/N/F] name -- prev verdict` start lines,
  the last verdict bare, a first `== Tests result`, then with -w `Re-running failed tests in
  verbose mode` and per file `Re-running name in verbose mode (matching: ...)` in the same
  process (no progress line, no verdict), `N tests failed again:`, a second summary;
  resource-denied files are listed as skipped;
- "suffix" (3.11.7-3.13.0): the same first phase, a re-run in a worker process whose verdict
  line `[j/M/F] name failed (1 failure)` comes before `Re-running name in verbose mode`,
  `Total tests:` / `Total test files:` / `Result:`;
- "verdict" (3.13.1+, 3.14, 3.15): every file's verdict on a progress line of its own
  (`[i/N/F] name passed`), a sequential re-run with start and verdict lines (--single-process);
- "verdict-worker": the same first phase, re-run in a worker process (3.14's default), whose
  verdict line comes first, with no start line.

Each file is verbose (case lines, FAIL/ERROR/UNEXPECTED SUCCESS sections whose tracebacks hold
a `RuntimeError:` line, `Ran N tests`, unittest's last line) or not. Invariants:

- parsing never raises;
- no file invented: with `known` (the files given to regrtest) every file reported is one of
  them (or, on output cut inside its last line, a beginning of one);
- no file lost: every file whose own lines are intact is reported, with the model's outcome
  when nothing was spliced or cut (colour and invalid bytes after a name change nothing);
- linear time: parsing 4n files costs a bounded multiple of n files (a generous ratio, on
  inputs large enough to measure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emscripten_python.testing.regrtest_output import LIST_TO_OUTCOME, file_outcome, parse_text

ERAS = ("3.11-old", "suffix", "verdict", "verdict-worker")
KINDS = ("pass", "fail", "error", "skipmod", "denied", "norun", "xfail", "xpass", "flaky")
# Names that begin one another, so resolution by prefix is exercised.
POOL = ["test_a", "test_ab", "test_abc", "test_os", "test_os_path", "test_json", "test_b", "test_zlib",
        "test_math", "test_int", "test_list", "test_set"]
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class Output:
    lines: list[str] = field(default_factory=list)
    keys: list[set[str]] = field(default_factory=list)     # per line: the files it names or judges

    def add(self, line: str, *files: str) -> None:
        self.lines.append(line)
        self.keys.append(set(files))


@dataclass(frozen=True)
class Spec:
    era: str
    verbose: bool
    rerun: bool
    load: bool
    files: tuple[tuple[str, str], ...]        # (name, kind)


def truth(spec: Spec) -> dict[str, str]:
    """The model's outcome of every file."""
    final = {"pass": "passed", "xfail": "passed", "fail": "failed", "error": "failed", "xpass": "failed",
             "skipmod": "skipped", "denied": "resource-denied", "norun": "no-tests"}
    return {name: ("flaky" if spec.rerun else "failed") if kind == "flaky" else final[kind]
            for name, kind in spec.files}


def _verdict(name: str, kind: str, again: bool = False) -> str:
    """str(TestResult) of libregrtest (result.py / runtest.py)."""
    if again and kind == "flaky":
        return f"{name} passed"
    return {"pass": f"{name} passed", "xfail": f"{name} passed", "fail": f"{name} failed (2 failures)",
            "error": f"{name} failed (1 error)", "xpass": f"{name} failed", "flaky": f"{name} failed (1 failure)",
            "skipmod": f"{name} skipped", "denied": f"{name} skipped (resource denied)",
            "norun": f"{name} ran no tests"}[kind]


def _bad(kind: str, again: bool = False) -> bool:
    return kind in ("fail", "error", "xpass") or (kind == "flaky" and not again)


def _body(out: Output, name: str, kind: str, verbose: bool, again: bool = False) -> None:
    """What one file prints between its start and its verdict."""
    if kind == "skipmod":
        out.add(f"{name} skipped -- module skipped on purpose")
        return
    if kind == "denied":
        out.add(f"{name} skipped -- Use of the 'cpu' resource not enabled")
        return
    if not verbose:
        if _bad(kind, again):
            out.add(f"test {name} failed -- multiple errors occurred; run in verbose mode for details")
        return
    module = name
    cases = {"pass": ["ok", "ok", "ok"], "norun": [], "xfail": ["ok", "expected failure", "expected failure"],
             "fail": ["ok", "FAIL", "FAIL"], "error": ["ok", "ERROR"], "xpass": ["ok", "unexpected success"],
             "flaky": ["ok"] if again else ["ok", "FAIL"]}[kind]
    for i, result in enumerate(cases):
        out.add(f"test_{i} ({module}.T.test_{i}) ... {result}")
    out.add("")
    for i, result in enumerate(cases):
        if result in ("FAIL", "ERROR"):
            out.add("=" * 70)
            out.add(f"{result}: test_{i} ({module}.T.test_{i})")
            out.add("-" * 70)
            out.add("Traceback (most recent call last):")
            out.add(f'  File "/tmp/{module}.py", line {i + 3}, in test_{i}')
            out.add("RuntimeError: boom inside a test" if result == "ERROR" else "AssertionError: RuntimeError: no")
            out.add("")
    if "unexpected success" in cases:
        out.add("=" * 70)
        out.add(f"UNEXPECTED SUCCESS: test_1 ({module}.T.test_1)")
    out.add("-" * 70)
    # unittest's last lines carry the verdict of a 3.11.0-3.11.6 re-run: they are the file's own
    out.add(f"Ran {len(cases)} test{'s' if len(cases) != 1 else ''} in 0.001s", name)
    out.add("")
    fields = [f"{key}={cases.count(value)}" for key, value in (
        ("failures", "FAIL"), ("errors", "ERROR"), ("expected failures", "expected failure"),
        ("unexpected successes", "unexpected success")) if value in cases]
    word = "FAILED" if _bad(kind, again) else "OK"
    out.add(word + (f" ({', '.join(fields)})" if fields else ""), name)
    if _bad(kind, again):
        out.add(f"test {name} failed")


def _lists(out: Output, spec: Spec, failed: list[str], rerun: list[str], old: bool) -> None:
    groups = [("skipped", [n for n, k in spec.files if k == "skipmod" or (old and k == "denied")])]
    if not old:
        groups.append(("skipped (resource denied)", [n for n, k in spec.files if k == "denied"]))
    groups += [("run no tests", [n for n, k in spec.files if k == "norun"]), ("failed", failed)]
    if rerun:
        groups.append(("re-run", rerun))
    for title, names in groups:
        if names:
            out.add("")
            out.add(f"{len(names)} re-run test{'s' if len(names) > 1 else ''}:" if title == "re-run"
                    else f"{len(names)} test{'s' if len(names) > 1 else ''} {title}:", *names)
            for at in range(0, len(names), 4):       # printlist wraps its names
                out.add("    " + " ".join(names[at:at + 4]), *names[at:at + 4])
    good = [n for n, k in spec.files if k in ("pass", "xfail") or (k == "flaky" and rerun)]
    if good:
        out.add("")
        out.add(f"{len(good)} test{'s' if len(good) > 1 else ''} OK.")


def render(spec: Spec) -> Output:
    out = Output()
    prefix = "0:00:01 load avg: 0.42 " if spec.load else "0:00:01 "
    total = len(spec.files)
    old = spec.era == "3.11-old"
    out.add(prefix + ("Run tests sequentially" if old else f"Run {total} tests sequentially"))
    bad = 0
    previous: tuple[str, str] | None = None       # the verdict that rides on the next start line
    before: str | None = None                     # the file before: its pass is a start line with no suffix
    for i, (name, kind) in enumerate(spec.files, 1):
        counter = f"[{i}/{total}{f'/{bad}' if bad else ''}]"
        if spec.era.startswith("verdict"):
            out.add(f"{prefix}{counter} {name}", name)
        else:
            suffix = f" -- {_verdict(*previous)}" if previous else ""
            out.add(f"{prefix}{counter} {name}{suffix}", name, *([before] if before else []))
        _body(out, name, kind, spec.verbose)
        bad += _bad(kind)
        if spec.era.startswith("verdict"):
            out.add(f"{prefix}[{i}/{total}{f'/{bad}' if bad else ''}] {_verdict(name, kind)}", name)
        else:
            previous = None if kind in ("pass", "xfail") else (name, kind)
            before = name
    if previous:
        out.add(_verdict(*previous), previous[0])
    failed = [n for n, k in spec.files if _bad(k)]
    out.add("")
    out.add(f"== Tests result: {'FAILURE' if failed else 'SUCCESS'} ==")
    _lists(out, spec, failed, [], old)
    if spec.rerun and failed:
        again = [n for n, k in spec.files if _bad(k) and _bad(k, again=True)]
        kinds = dict(spec.files)
        if old:
            out.add(prefix.rstrip())
            out.add(prefix + "Re-running failed tests in verbose mode")
        else:
            worker = spec.era in ("suffix", "verdict-worker")
            out.add(prefix + f"Re-running {len(failed)} failed tests in verbose mode"
                    + (" in subprocesses" if spec.era == "suffix" else ""))
            out.add(prefix + ("Run 1 test in parallel using 1 worker process" if worker
                              else f"Run {len(failed)} tests sequentially in a single process"))
        fails = 0
        for j, name in enumerate(failed, 1):
            kind = kinds[name]
            if spec.era == "verdict":
                out.add(f"{prefix}[{j}/{len(failed)}{f'/{fails}' if fails else ''}] {name}", name)
            elif spec.era in ("suffix", "verdict-worker"):
                fails += _bad(kind, again=True)
                out.add(f"{prefix}[{j}/{len(failed)}{f'/{fails}' if fails else ''}] {_verdict(name, kind, True)}", name)
            matching = " (matching: test_1)" if kind != "xpass" else ""
            out.add(f"{prefix if old else ''}Re-running {name} in verbose mode{matching}", name)
            _body(out, name, kind, True, again=True)
            if spec.era == "verdict":
                fails += _bad(kind, again=True)
                out.add(f"{prefix}[{j}/{len(failed)}{f'/{fails}' if fails else ''}] {_verdict(name, kind, True)}",
                        name)
        if again:
            out.add(f"{len(again)} test{'s' if len(again) > 1 else ''} failed again:", *again)
            out.add("    " + " ".join(again), *again)
        out.add("")
        result = f"FAILURE then {'FAILURE' if again else 'SUCCESS'}"
        out.add(f"== Tests result: {result} ==")
        _lists(out, spec, again, failed, old)
        failed = again
    result = "FAILURE" if failed else "SUCCESS"
    out.add("")
    out.add("Total duration: 1 sec")
    if old:
        out.add(f"Tests result: {'FAILURE then ' if spec.rerun and any(_bad(k) for _, k in spec.files) else ''}{result}")
    else:
        out.add("Total tests: run=12 failures=3 skipped=1")
        out.add(f"Total test files: run={total}/{total}")
        out.add(f"Result: {result}")
    return out


def reported(text: str, known: list[str]):
    output = parse_text(text, known=known)
    attempts: dict[str, list] = {}
    for attempt in output.attempts:
        attempts.setdefault(attempt.name, []).append(attempt)
    listed = {}
    for kind, names in output.lists.items():
        for name in names:
            if kind in LIST_TO_OUTCOME:
                listed.setdefault(name, LIST_TO_OUTCOME[kind])
    outcomes = {name: file_outcome(found, listed.get(name)) for name, found in attempts.items()}
    if output.unfinished is not None:     # the runner's DiedIn: the file the output stopped in
        outcomes[output.unfinished.name] = "crashed"
    return output, outcomes


# -- strategies ----------------------------------------------------------------------------------

@st.composite
def specs(draw, max_files: int = 8) -> Spec:
    era = draw(st.sampled_from(ERAS))
    names = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=max_files, unique=True))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=len(names), max_size=len(names)))
    return Spec(era, draw(st.booleans()), draw(st.booleans()), draw(st.booleans()), tuple(zip(names, kinds)))


STDERR = st.one_of(
    st.sampled_from(["Warning -- threading._dangling was modified by test_x", "DeprecationWarning: old",
                     "Exception ignored in: <function f at 0x7f>", "RuntimeError: from stderr", "\ufffd\ufffd",
                     "warning: a\nb", "test_zzz", "0:00:0", " ... "]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_:.' \n", min_size=1, max_size=24),
)


# -- properties ------------------------------------------------------------------------------------

@SETTINGS
@given(specs())
def test_every_era_parses_to_the_models_outcomes(spec):
    out = render(spec)
    known = [name for name, _ in spec.files]
    output, outcomes = reported("\n".join(out.lines) + "\n", known)
    assert output.finished
    assert outcomes == truth(spec)


@SETTINGS
@given(specs(), st.data())
def test_colour_and_invalid_bytes_after_names_change_nothing(spec, data):
    out = render(spec)
    known = [name for name, _ in spec.files]
    noisy = []
    for line in out.lines:
        if data.draw(st.booleans()):
            at = data.draw(st.integers(0, len(line)))
            line = line[:at] + "\x1b[1;31m" + line[at:] + "\x1b[0m"      # colour anywhere: stripped
        if line.endswith(tuple(known)) and data.draw(st.booleans()):
            line += "\ufffd\ufffd"                                    # invalid bytes after a name
        noisy.append(line)
    assert reported("\n".join(noisy) + "\n", known)[1] == truth(spec)


@SETTINGS
@given(specs(), st.data())
@example(Spec("suffix", False, False, False, (("test_a", "fail"), ("test_ab", "pass"), ("test_b", "pass"))), None)
def test_cut_anywhere_invents_nothing_and_loses_nothing_before_the_cut(spec, data):
    """No invented file, no invented pass, and every file whose start line ended before the
    cut reported."""
    out = render(spec)
    known = [name for name, _ in spec.files]
    text = "\n".join(out.lines) + "\n"
    cut = data.draw(st.integers(0, len(text))) if data is not None else text.index("test_ab") + 4
    output, outcomes = reported(text[:cut], known)
    expected = truth(spec)
    for name, outcome in outcomes.items():
        assert name in known or any(k.startswith(name) for k in known), name
        # a cut never makes a file look better than it was
        if outcome in ("passed", "flaky") and name in expected:
            assert expected[name] == outcome, (name, outcome, text[max(0, cut - 300):cut])
    # every file whose start line ended before the cut is reported
    pos = 0
    for line, keys in zip(out.lines, out.keys):
        pos += len(line) + 1
        if pos > cut:
            break
        for name in keys:
            if f"] {name}" in line:
                assert name in outcomes, (name, line)


@SETTINGS
@given(specs(), st.data())
def test_stderr_spliced_anywhere_invents_nothing_and_loses_no_intact_file(spec, data):
    out = render(spec)
    known = [name for name, _ in spec.files]
    lines = list(out.lines)
    touched: set[int] = set()
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        at = data.draw(st.integers(0, len(lines[index])))
        lines[index] = lines[index][:at] + data.draw(STDERR) + lines[index][at:]
        touched.add(index)
    output, outcomes = reported("\n".join(lines) + "\n", known)
    assert set(outcomes) <= set(known), set(outcomes) - set(known)
    hit = set().union(*(out.keys[i] for i in touched))
    expected = truth(spec)
    for i, (line, keys) in enumerate(zip(out.lines, out.keys)):
        for name in keys - hit:
            if f"] {name}" in line:
                assert name in outcomes, (name, line, [lines[t] for t in touched])
                if output.finished:
                    # its own lines intact: regrtest's verdict, or its summary lists, decide it
                    assert outcomes[name] == expected[name], (name, [lines[t] for t in touched])


def test_parse_time_grows_linearly():
    """4n files cost at most a generous multiple of 4 times n files (best of 3, CPU time)."""
    def output(copies: int) -> str:
        spec = Spec("verdict", True, True, True,
                    tuple((f"test_f{i}", KINDS[i % len(KINDS)]) for i in range(copies)))
        return "\n".join(render(spec).lines) + "\n"

    def cost(text: str, files: int) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            parse_text(text, known=[f"test_f{i}" for i in range(files)])
            best = min(best, time.process_time() - started)
        return best

    small, large = output(400), output(1600)
    assert 3.5 < len(large) / len(small) < 4.5
    ratio = cost(large, 1600) / max(cost(small, 400), 1e-3)
    assert ratio < 12, ratio


def test_regression_coloured_rule_ends_a_traceback_section():
    """Found by the colour property: a `----` rule with an escape code in front of it was
    taken as traceback text by the block fast path, and the summary after it was lost."""
    spec = Spec("3.11-old", True, False, False, (("test_a", "fail"),))
    lines = ["\x1b[1;31m" + line + "\x1b[0m" if line.startswith("-" * 20) else line for line in render(spec).lines]
    output, outcomes = reported("\n".join(lines) + "\n", ["test_a"])
    assert output.finished and outcomes == {"test_a": "failed"}


WARNING = "Warning -- threading._dangling was modified by test_x"
OLD_RERUN = Spec("3.11-old", False, True, False, (("test_a", "fail"), ("test_ab", "fail"), ("test_abc", "pass")))


@pytest.mark.parametrize("spec, where, column", [
    # the splice property's failing examples, kept: the line (found by its text, the last
    # occurrence), where in it stderr was written; every file with intact lines keeps the
    # model's outcome
    (Spec("3.11-old", False, False, False, (("test_a", "pass"), ("test_ab", "pass"), ("test_abc", "fail"),
                                            ("test_os", "pass"))), "0:00:01 [3/4", 1),   # a start line's timestamp
    (Spec("3.11-old", False, True, False, (("test_ab", "fail"), ("test_b", "pass"), ("test_zlib", "flaky"))),
     "== Tests result: FAILURE then", 0),                                                  # the last summary's header
    (Spec("3.11-old", True, True, False, (("test_abc", "fail"), ("test_b", "flaky"))), "-" * 70 + "\nRan 3", 0),
    (Spec("3.11-old", True, True, False, (("test_b", "flaky"), ("test_zlib", "fail"))),
     "Re-running test_zlib in", 9),                                                        # the next re-run's start
    (Spec("3.11-old", False, True, False, (("test_a", "pass"), ("test_ab", "fail"), ("test_abc", "flaky"))),
     "Re-running failed tests", 9),                                                        # the re-run phase's header
    (OLD_RERUN, "Re-running test_a in", 9),                      # after the first phase's silent last pass
])
def test_regression_stderr_spliced_into_regrtest_structure(spec, where, column):
    text = "\n".join(render(spec).lines) + "\n"
    at = text.rindex(where) + column
    output, outcomes = reported(text[:at] + WARNING + text[at:], [name for name, _ in spec.files])
    line = text[text.rfind("\n", 0, at) + 1:text.find("\n", at)]
    hit = next(keys for rendered, keys in zip(render(spec).lines, render(spec).keys) if rendered == line)
    assert {name: outcome for name, outcome in outcomes.items() if name not in hit} == \
        {name: outcome for name, outcome in truth(spec).items() if name not in hit}


def test_regression_start_line_with_its_timestamp_cut_is_still_a_start():
    """Found by the splice property: stderr written into a start line's timestamp hid the
    start; with the known files, `[3/4] test_abc` is still read (and test_ab, which passed
    silently before it, keeps its pass)."""
    spec = Spec("3.11-old", False, False, False, (("test_a", "pass"), ("test_ab", "pass"), ("test_abc", "fail"),
                                                   ("test_os", "pass")))
    text = "\n".join(render(spec).lines) + "\n"
    at = text.index("0:00:01 [3/4") + 1
    output, outcomes = reported(text[:at] + WARNING + text[at:], [name for name, _ in spec.files])
    assert outcomes == truth(spec)
    assert [a.index for a in output.attempts if a.name == "test_abc"] == ["3"]


@pytest.mark.parametrize("glued", [". ...", "._ x"])
def test_regression_dots_glued_to_a_name_are_not_part_of_it(glued):
    """Found by the splice property: `[1/1] test_json...` was reported as a file `test_json.`,
    `test_json._` as one `test_json._` (parts of a package `test_json`, by their dot)."""
    spec = Spec("3.11-old", False, False, False, (("test_json", "pass"),))
    text = "\n".join(render(spec).lines) + "\n"
    at = text.index("] test_json") + len("] test_json")
    output, outcomes = reported(text[:at] + glued + text[at:], ["test_json"])
    assert set(outcomes) <= {"test_json"}


def test_the_files_of_a_known_package_are_known():
    text = "0:00:01 [1/2] test_asyncio.test_tasks\n0:00:02 [2/2] test.test_asyncio.test_locks\n" \
           "0:00:03 [3/3] test_asyncio.helper\n"
    assert [a.name for a in parse_text(text, known=["test_asyncio"]).attempts] == \
        ["test_asyncio.test_tasks", "test.test_asyncio.test_locks"]


def test_regression_a_glued_name_does_not_judge_a_file_again():
    """Found by the splice property: `[6/6/3] test_os__path failed` (stderr `_` written into
    test_os_path's verdict) was read as test_os failing, after test_os had passed."""
    spec = Spec("verdict", False, False, True, (("test_os", "pass"), ("test_json", "pass"), ("test_os_path", "fail")))
    text = "\n".join(render(spec).lines) + "\n"
    at = text.index("] test_os_path failed") + len("] test_os")
    output, outcomes = reported(text[:at] + "_" + text[at:], [name for name, _ in spec.files])
    assert outcomes == truth(spec)
