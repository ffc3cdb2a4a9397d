"""compare: pairs of results -> what changed (new failures, fixes, crashes, re-runs, renames)."""

from __future__ import annotations

import re

import pytest

from emscripten_python.results.compare import (Comparison, compare, crash_signature, fails, load_expectations)
from emscripten_python.report.compare_markdown import render_comparison
from emscripten_python.errors import ResultsError
from emscripten_python.report.markdown import render_markdown
from emscripten_python.results.model import Run
from emscripten_python.untrusted import code_span as code
from emscripten_python.results.model import TestCase as Case, TestFile as File
from emscripten_python.results.validation import load_validated


def run_of(*files: File, branch: str = "3.13", commit: str = "a" * 40) -> Run:
    run = Run(source={"branch": branch, "commit": commit, "cpython_version": "3.13.15"},
              origin={"kind": "buildbot", "builder": "emscripten node"})
    run.tests = {"selection": [f.name for f in files], "files": list(files)}
    run.decide_outcome()
    return run


def os_file(outcome="passed", **states) -> File:
    """test_os with three cases, all passing unless given: test_a="failed"."""
    cases = [Case(f"test.test_os.T.{name}", states.get(name, "passed"), message=f"{name} says no"
                  if states.get(name) in ("failed", "error") else None)
             for name in ("test_a", "test_b", "test_c")]
    cases += [Case(f"test.test_os.T.{name}", state) for name, state in states.items()
              if name not in ("test_a", "test_b", "test_c")]
    return File("test_os", outcome, 1.0, tests_run=len(cases), cases=cases)


def kinds(comparison: Comparison) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for change in comparison.changes:
        found.setdefault(change.kind, []).append(change.test)
    return found


def test_identical_runs_have_only_known_failures():
    base = run_of(os_file("failed", test_a="failed"), File("test_math", "passed", 0.5))
    head = run_of(os_file("failed", test_a="failed"), File("test_math", "passed", 0.5), commit="b" * 40)
    result = compare(base, head)
    assert kinds(result) == {"still-failing": ["test.test_os.T.test_a"]}
    assert not result.has_new
    assert result.verdict == "0 new failures vs 3.13 @aaaaaaa, 1 known failure unchanged"


def test_a_case_that_passed_and_fails_now_is_new_and_named():
    base = run_of(os_file("failed", test_a="failed"))
    head = run_of(os_file("failed", test_a="failed", test_b="failed"))
    result = compare(base, head)
    assert kinds(result) == {"new-failure": ["test.test_os.T.test_b"], "still-failing": ["test.test_os.T.test_a"]}
    new = result.of("new-failure")[0]
    assert (new.base, new.head, new.file, new.level, new.detail) == ("passed", "failed", "test_os", "case",
                                                                       "test_b says no")
    assert result.verdict == "1 new failure vs 3.13 @aaaaaaa, 1 known failure unchanged"
    assert fails(result, head, "new") and fails(result, head, "any") and not fails(result, head, "never")


def test_an_added_test_that_fails_is_a_new_failure_not_just_added():
    base = run_of(os_file())
    head = run_of(os_file("failed", test_injected="failed"))
    result = compare(base, head)
    assert kinds(result) == {"new-failure": ["test.test_os.T.test_injected"]}
    assert result.of("new-failure")[0].base == "absent"


def test_passing_added_and_removed_cases_and_newly_skipped():
    base = run_of(os_file(test_old="passed"))
    head = run_of(os_file(test_b="skipped", test_new="passed"))
    assert kinds(compare(base, head)) == {"newly-skipped": ["test.test_os.T.test_b"],
                                          "added": ["test.test_os.T.test_new"],
                                          "removed": ["test.test_os.T.test_old"]}


def test_fixed_cases_and_a_fixed_file_without_case_detail():
    base = run_of(os_file("failed", test_a="failed", test_b="failed"), File("test_env", "env-changed"))
    head = run_of(os_file("failed", test_a="failed"), File("test_env", "passed"))
    result = compare(base, head)
    assert kinds(result) == {"fixed": ["test_env", "test.test_os.T.test_b"],
                             "still-failing": ["test.test_os.T.test_a"]}
    assert result.verdict == "0 new failures vs 3.13 @aaaaaaa, 2 fixed, 1 known failure unchanged"


def test_a_removed_failing_test_is_removed_not_fixed():
    base = run_of(os_file("failed", test_a="failed"))
    head = run_of(File("test_os", "passed", cases=[Case("test.test_os.T.test_b", "passed"),
                                                    Case("test.test_os.T.test_c", "passed")]))
    assert kinds(compare(base, head)) == {"removed": ["test.test_os.T.test_a"]}


def test_a_case_missing_from_a_base_file_that_listed_its_cases_is_new():
    base = run_of(File("test_os", "failed", cases=[Case("test.test_os.T.test_a", "failed")]))
    head = run_of(File("test_os", "failed", cases=[Case("test.test_os.T.test_a", "failed"),
                                                   Case("test.test_os.T.test_b", "failed")]))
    assert kinds(compare(base, head)) == {"new-failure": ["test.test_os.T.test_b"],
                                          "still-failing": ["test.test_os.T.test_a"]}
    # Without case detail in base, the same failure is unknown there, not new.
    base.test_files[0].cases = []
    result = compare(base, head)
    assert kinds(result) == {"still-failing": ["test.test_os.T.test_a", "test.test_os.T.test_b"]}
    assert {c.base for c in result.changes} == {"not-run"}


def test_file_failing_without_case_detail_is_new_or_known_as_a_whole():
    base = run_of(File("test_x", "passed"), File("test_y", "failed"))
    head = run_of(File("test_x", "env-changed"), File("test_y", "failed"))
    assert kinds(compare(base, head)) == {"new-failure": ["test_x"], "still-failing": ["test_y"]}


# -- crashes -------------------------------------------------------------------------------

CRASH = "RuntimeError: memory access out of bounds\n    at wasm://wasm/0x1a2b3c:wasm-function[4711]"


def crashed(name="test_compile", text=CRASH, cases=()) -> File:
    return File(name, "crashed", 30.0, crash=text, cases=list(cases))


def test_new_crash_carries_its_signature_and_counts_as_new():
    base = run_of(File("test_compile", "passed"))
    head = run_of(crashed())
    result = compare(base, head)
    assert kinds(result) == {"new-crash": ["test_compile"]}
    assert result.of("new-crash")[0].detail == "RuntimeError: memory access out of bounds"
    assert result.has_new
    assert result.verdict == "1 new failure vs 3.13 @aaaaaaa (1 crash), 0 known failures unchanged"


def test_timed_out_is_a_crash_and_a_crash_in_both_runs_is_known():
    base = run_of(crashed(), File("test_slow", "passed"))
    head = run_of(crashed(), File("test_slow", "timed-out", log_excerpt="killed after 1200 s"))
    assert kinds(compare(base, head)) == {"new-crash": ["test_slow"], "still-crashing": ["test_compile"]}


def test_crash_fixed_is_one_file_level_fix():
    base = run_of(crashed(cases=[Case("test.test_compile.T.test_deep", "error")]))
    head = run_of(File("test_compile", "passed", cases=[Case("test.test_compile.T.test_deep", "passed")]))
    result = compare(base, head)
    assert kinds(result) == {"fixed": ["test_compile"]}


def test_after_a_base_crash_unseen_cases_are_not_new_but_seen_ones_are():
    base = run_of(crashed("test_os", cases=[Case("test.test_os.T.test_a", "passed"),
                                            Case("test.test_os.T.test_b", "error")]))
    head = run_of(os_file("failed", test_a="failed", test_c="failed"))
    result = compare(base, head)
    assert kinds(result) == {"new-failure": ["test.test_os.T.test_a"], "fixed": ["test.test_os.T.test_b"],
                             "still-failing": ["test.test_os.T.test_c"]}
    assert result.of("still-failing")[0].base == "not-run"


def test_crash_signature_blurs_addresses_and_numbers():
    assert crash_signature(CRASH) == crash_signature(CRASH.replace("0x1a2b3c", "0xffff").replace("4711", "12"))
    assert crash_signature("node exited with rc 7 and no regrtest summary") == \
        "node exited with rc N and no regrtest summary"
    assert crash_signature(None) == "unknown crash"


# -- re-runs -------------------------------------------------------------------------------

def flaky(**states) -> File:
    test_file = os_file("flaky", **states)
    test_file.attempts = 2
    return test_file


def test_failed_in_base_flaky_in_head_is_newly_flaky_not_fixed():
    result = compare(run_of(os_file("failed", test_a="failed")), run_of(flaky(test_a="failed")))
    assert kinds(result) == {"newly-flaky": ["test_os"]}
    assert not result.has_new


def test_flaky_in_base_failing_in_head_is_a_new_failure():
    result = compare(run_of(flaky(test_a="failed")), run_of(os_file("failed", test_a="failed")))
    assert kinds(result) == {"new-failure": ["test.test_os.T.test_a"]}
    assert result.of("new-failure")[0].base == "flaky"


def test_flaky_twice_and_flaky_then_passing_change_nothing():
    assert compare(run_of(flaky(test_a="failed")), run_of(flaky(test_b="failed"))).changes == []
    assert compare(run_of(flaky(test_a="failed")), run_of(os_file())).changes == []


# -- renamed, removed, added files ---------------------------------------------------------

def test_renamed_file_is_compared_under_its_new_name():
    base = run_of(File("test_foo", "failed", cases=[Case("test.test_foo.T.test_x", "failed"),
                                                   Case("test.test_foo.T.test_y", "passed")]))
    head = run_of(File("test_bar", "failed", cases=[Case("test.test_bar.T.test_x", "failed"),
                                                   Case("test.test_bar.T.test_y", "failed")]))
    result = compare(base, head)
    assert result.renamed == [{"from": "test_foo", "to": "test_bar"}]
    assert kinds(result) == {"new-failure": ["test.test_bar.T.test_y"], "still-failing": ["test.test_bar.T.test_x"]}


def test_removed_and_added_files_that_do_not_match_are_not_a_rename():
    base = run_of(File("test_gone", "failed", cases=[Case("test.test_gone.G.test_1", "failed")]),
                  File("test_keep", "passed"))
    head = run_of(File("test_keep", "passed"),
                  File("test_new", "failed", cases=[Case("test.test_new.N.test_2", "failed")]))
    result = compare(base, head)
    assert result.renamed == []
    assert kinds(result) == {"new-failure": ["test.test_new.N.test_2"], "added": ["test_new"],
                             "removed": ["test_gone"]}
    assert result.counts["fixed"] == 0


def test_skipped_file_and_selection_shrinking():
    base = run_of(File("test_a", "failed"), File("test_b", "passed"))
    head = run_of(File("test_a", "skipped"), File("test_b", "resource-denied"))
    assert kinds(compare(base, head)) == {"newly-skipped": ["test_a", "test_b"]}


def test_durations_of_the_slowest_files_against_base():
    base = run_of(File("test_a", "passed", 10.0), File("test_b", "passed", 5.0))
    head = run_of(File("test_a", "passed", 15.0), File("test_b", "passed", 4.0), File("test_c", "passed", 1.0))
    assert compare(base, head).durations == [
        {"file": "test_a", "base": 10.0, "head": 15.0, "change": 5.0},
        {"file": "test_b", "base": 5.0, "head": 4.0, "change": -1.0},
        {"file": "test_c", "base": None, "head": 1.0, "change": None}]


# -- no baseline, head without results, policy -----------------------------------------------

def test_without_baseline_every_failure_is_new_and_it_says_so():
    head = run_of(os_file("failed", test_a="failed"), crashed())
    result = compare(None, head, baseline_missing="no completed run of emscripten node on main")
    assert result.base is None
    assert kinds(result) == {"new-crash": ["test_compile"], "new-failure": ["test.test_os.T.test_a"]}
    assert result.verdict == ("2 failures not known to fail (no baseline: no completed run of "
                              "emscripten node on main)")


def test_head_without_test_results():
    head = Run(errors=["configure failed"])
    head.decide_outcome()
    result = compare(run_of(os_file()), head)
    assert result.verdict == "no test results to compare (run error)"
    assert fails(result, head, "never")   # a run error always fails


def test_policies():
    base = run_of(os_file("failed", test_a="failed"))
    same = run_of(os_file("failed", test_a="failed"))
    result = compare(base, same)
    assert same.outcome == "failure"
    assert (fails(result, same, "new"), fails(result, same, "any"), fails(result, same, "never")) == \
        (False, True, False)
    assert fails(None, same, "new")       # no comparison at all: like "any"
    with pytest.raises(ValueError):
        fails(result, same, "sometimes")


def test_comparison_round_trips_through_results_json(tmp_path):
    base = run_of(os_file())
    head = run_of(os_file("failed", test_b="failed"))
    result = compare(base, head)
    head.comparison = result.to_dict()
    head.save(tmp_path / "results.json")
    loaded = load_validated(tmp_path / "results.json")
    assert Comparison.from_dict(loaded.comparison) == result


def test_store_runs_list_only_non_passing_cases():
    # Read back from the status store: a case missing from the list passed.
    base = run_of(os_file("failed", test_a="failed", test_b="failed"))
    head = run_of(File("test_os", "failed", cases=[Case("test.test_os.T.test_a", "failed"),
                                                   Case("test.test_os.T.test_c", "failed")]))
    head.tests["cases_recorded"] = "non-passing"
    assert kinds(compare(base, head)) == {"new-failure": ["test.test_os.T.test_c"],
                                          "fixed": ["test.test_os.T.test_b"],
                                          "still-failing": ["test.test_os.T.test_a"]}
    base.tests["cases_recorded"] = "non-passing"
    head.tests.pop("cases_recorded")
    base.test_files[0].cases = [c for c in base.test_files[0].cases if c.outcome != "passed"]
    assert kinds(compare(base, head))["new-failure"] == ["test.test_os.T.test_c"]


# -- expectations --------------------------------------------------------------------------

EXPECTED = """
[[expected]]
branches = ["3.13", "3.14*"]
tests = ["test_os", "test.test_io.*"]
reason = "no fork under Emscripten"
issue = "https://github.com/python/cpython/issues/1"

[[expected]]
test = "test_gone"
reason = "gone"
"""


def test_expectations_fold_known_failures_and_report_unexpected_passes(tmp_path):
    path = tmp_path / "emscripten-expected.toml"
    path.write_text(EXPECTED)
    expectations = load_expectations(path)
    assert [e.pattern for e in expectations] == ["test_os", "test.test_io.*", "test_gone"]
    head = run_of(os_file("failed", test_a="failed"),
                  File("test_io", "failed", cases=[Case("test.test_io.T.test_x", "failed"),
                                                   Case("test.test_io.T.test_y", "passed")]),
                  File("test_math", "failed", cases=[Case("test.test_math.M.test_z", "failed")]))
    result = compare(None, head, expectations=expectations, expectations_source=str(path))
    assert kinds(result) == {"new-failure": ["test.test_math.M.test_z"],
                             "unexpectedly-passing": ["test.test_io.T.test_y"],
                             "expected-failure": ["test.test_io.T.test_x", "test.test_os.T.test_a"]}
    assert result.expectations == {"source": str(path), "entries": 3, "not_seen": ["test_gone"]}
    assert result.of("expected-failure")[1].issue == "https://github.com/python/cpython/issues/1"
    assert result.verdict == ("1 failure not known to fail (no baseline: no baseline given), "
                              "1 unexpectedly passing, 2 known failures unchanged")
    # The first entry does not apply on main: test_os is a plain failure there.
    on_main = compare(None, run_of(os_file("failed", test_a="failed"), branch="main"),
                      expectations=expectations)
    assert kinds(on_main) == {"new-failure": ["test.test_os.T.test_a"]}


def test_an_expected_file_that_passes_is_unexpectedly_passing(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[[expected]]\ntests = ["test_os"]\n')
    result = compare(run_of(os_file("failed", test_a="failed")), run_of(os_file()),
                     expectations=load_expectations(path))
    assert kinds(result) == {"unexpectedly-passing": ["test_os"], "fixed": ["test.test_os.T.test_a"]}


@pytest.mark.parametrize("content, message", [
    ("[[expected]\n", "not valid TOML"),
    ("expected = 3\n", "array of tables"),
    ("[[expected]]\nreason = 'x'\n", "needs 'tests'"),
    ("[[expected]]\ntests = ['a']\nwhy = 1\n", "unknown keys: why"),
    ("[[expected]]\ntests = [1]\n", "needs 'tests'"),
])
def test_bad_expectations_files_are_results_errors(tmp_path, content, message):
    path = tmp_path / "e.toml"
    path.write_text(content)
    with pytest.raises(ResultsError, match=message):
        load_expectations(path)
    with pytest.raises(ResultsError, match="does not exist"):
        load_expectations(tmp_path / "missing.toml")


# -- Markdown ------------------------------------------------------------------------------

EVIL = "test.test_os.T.test_`x`</details><script>alert(1)</script> @octocat [a](javascript:x)\n| c |"


def test_markdown_leads_with_the_delta_and_folds_the_known():
    base = run_of(os_file("failed", test_a="failed"), File("test_math", "passed", 2.0))
    head = run_of(os_file("failed", test_a="failed", test_b="failed"), File("test_math", "passed", 3.0))
    markdown = render_comparison(compare(base, head))
    lines = markdown.splitlines()
    assert lines[0] == "### Δ " + code("1 new failure vs 3.13 @aaaaaaa, 1 known failure unchanged")
    assert markdown.index("**New failures (1)**") < markdown.index("<details><summary>1 known failure unchanged")
    assert "- `test.test_os.T.test_b` · passed → failed: `test_b says no`" in lines
    assert "| `test_math` | 2.0 s | 3.0 s | +1.0 s (+50%) |" in lines


def test_untrusted_names_cannot_escape_their_code_span():
    # The comparison uses the shared neutralisation (emscripten_python/untrusted.py).
    head = run_of(File("test_os", "failed", cases=[Case(EVIL, "failed", message="<img src=x onerror=1>")]))
    base = run_of(File("test_os", "passed"), branch="3.13`</details>@octocat")
    markdown = render_comparison(compare(base, head))
    lines = markdown.splitlines()
    assert lines[0].startswith("### Δ ``1 new failure vs 3.13`</details>@octocat @")     # all in code
    assert f"- {code(EVIL)} · passed → failed: `<img src=x onerror=1>`" in lines
    # Outside code spans nothing of the untrusted text is left.
    outside = "".join(part for i, part in enumerate(re.split(r"(?<!\\)(``.*?``|`[^`]*`)", markdown)) if i % 2 == 0)
    assert "<script>" not in outside and "@octocat" not in outside and "<img" not in outside


def test_run_markdown_leads_with_the_delta_and_folds_all_results():
    head = run_of(os_file("failed", test_a="failed", test_b="failed"))
    head.comparison = compare(run_of(os_file("failed", test_a="failed")), head).to_dict()
    markdown = render_markdown(head)
    lines = markdown.splitlines()
    assert lines[0].startswith("## ") and lines[4].startswith("### Δ `1 new failure")
    assert markdown.index("### Δ") < markdown.index("<details><summary>All results</summary>") \
        < markdown.index("### Failed test files")
    assert markdown.count("<details>") == markdown.count("</details>")
    # A malformed section (a fork's results.json) does not stop the report.
    head.comparison = {"changes": [{"kind": 1}], "renamed": 5}
    assert "### Δ the comparison in results.json could not be read" in render_markdown(head)
    head.comparison = None
    assert "Δ" not in render_markdown(head)


def test_further_runtimes_are_compared_with_the_same_runtime_of_the_base():
    def with_runtimes(run, node24_files, chromium_files=None):
        run.runtimes = [{"runtime": {"kind": "node", "name": "node", "version": "24.1.0"}, "files": node24_files}]
        if chromium_files is not None:
            run.runtimes.append({"runtime": {"kind": "browser", "name": "chromium", "version": "142.0"},
                                 "files": chromium_files})
        run.decide_outcome()
        return run

    base = with_runtimes(run_of(os_file()), [os_file()])
    base.runtimes[0]["runtime"]["version"] = "24.0.2"        # same major: the same runtime
    head = with_runtimes(run_of(os_file()), [os_file("failed", test_c="failed")],
                         [File("browser-smoke", "crashed", crash="TypeError: x is undefined")])
    result = compare(base, head)
    assert result.changes == [] and result.has_new
    node24, chromium = result.runtimes
    assert (node24.runtime, kinds(node24)) == ("node 24", {"new-failure": ["test.test_os.T.test_c"]})
    assert chromium.runtime == "chromium" and chromium.base is None
    assert chromium.baseline_missing == "the base has no chromium results"
    assert result.verdict == ("0 new failures vs 3.13 @aaaaaaa, 0 known failures unchanged; "
                              "under node 24: 1 new failure vs 3.13 @aaaaaaa, 0 known failures unchanged; "
                              "under chromium: 1 failure not known to fail (no baseline: the base has no "
                              "chromium results)")
    assert fails(result, head, "new")
    back = Comparison.from_dict(result.to_dict())
    assert back == result and back.runtimes[0].of("new-failure")[0].test == "test.test_os.T.test_c"
    markdown = render_comparison(result)
    assert "#### Under `node 24`: `1 new failure" in markdown
    assert markdown.index("#### Under `node 24`") < markdown.index("`test.test_os.T.test_c`")


# -- issue 21: 50,000 expectations are indexed, not scanned per test -----------------------------
from hypothesis import example, given, settings, strategies as st  # noqa: E402

from emscripten_python.results import compare as compare_module  # noqa: E402
from emscripten_python.results.compare import Expectation, ExpectationIndex  # noqa: E402


def _first_by_scan(expectations, *names, exclude=None):
    """The definition: the first entry in file order whose pattern matches one of the names."""
    import fnmatch
    for expectation in expectations:
        if expectation.pattern != exclude and any(fnmatch.fnmatchcase(n, expectation.pattern) for n in names):
            return expectation
    return None


_PART = st.sampled_from(["test_os", "test_io", "T", "test_a", "test_b", "x"])
_NAME = st.lists(_PART, min_size=1, max_size=4).map(".".join)
_PATTERN = st.one_of(_NAME, _NAME.map(lambda n: n + "*"), _NAME.map(lambda n: "*" + n),
                     _NAME.map(lambda n: n.replace("_", "?", 1)), st.just("*"), st.just("test_[io]*"))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_PATTERN, max_size=12), st.lists(_NAME, min_size=1, max_size=2), st.one_of(st.none(), _NAME))
@example(["test_os.T.*", "test_os", "test_os.T.test_a"], ["test_os.T.test_a", "test_os"], "test_os")
def test_the_index_finds_what_a_scan_in_file_order_finds(patterns, names, exclude):
    expectations = [Expectation(p, reason=str(i)) for i, p in enumerate(patterns)]
    assert ExpectationIndex(expectations).first(*names, exclude=exclude) is \
        _first_by_scan(expectations, *names, exclude=exclude)


def test_50000_expectations_try_few_patterns_per_test(monkeypatch):
    """Counted, not timed: how many compiled patterns are tried while a whole run is matched."""
    tried = []

    def counting(pattern):
        match = compare_module.re.compile(compare_module.fnmatch.translate(pattern)).match
        return lambda name: tried.append(pattern) or match(name)

    monkeypatch.setattr(compare_module, "compile_pattern", counting)
    exact = [f"test.test_mod{i}.Tests.test_case{i}" for i in range(45_000)]
    prefixed = [f"test.test_pkg{i}.*" for i in range(5_000)]
    index = ExpectationIndex([Expectation(p) for p in exact + prefixed])
    names = [f"test.test_mod{i}.Tests.test_case{i}" for i in range(0, 45_000, 3)] + \
            [f"test.test_pkg{i}.test_x.T.test_y" for i in range(0, 5_000, 7)] + ["test.test_other.T.t"] * 100
    found = [index.first(name) for name in names]
    assert sum(e is not None for e in found) == 15_000 + 715
    # A scan tries up to 50,000 patterns per name (over 800 million for these names); the
    # index tries only the wildcard patterns whose literal prefix the name starts with.
    assert len(tried) <= len(names)
