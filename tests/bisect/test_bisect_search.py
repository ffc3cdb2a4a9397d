"""search.Search and runner.verdict_of without git or builds: every culprit position, skips."""

from __future__ import annotations

import math

import pytest

from emscripten_python.bisect.runner import run_kinds, verdict_of
from emscripten_python.bisect.search import BAD, GOOD, SKIP, Search
from emscripten_python.results.model import TestFile


def bisect(n: int, first_bad: int, unbuildable: frozenset = frozenset()) -> tuple[Search, list[int]]:
    """Drive a search over commits 0..n-1 (n-1 is BAD) where first_bad.. fail; returns it and
    the indices tested."""
    search, tested = Search([f"c{i}" for i in range(n)]), []
    while (commit := search.next()) is not None:
        index = int(commit[1:])
        assert index not in tested, "a commit is never tested twice"
        tested.append(index)
        search.record(commit, SKIP if index in unbuildable else BAD if index >= first_bad else GOOD)
    return search, tested


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12, 16, 17, 100])
def test_every_culprit_is_found_within_ceil_log2_steps(n):
    for first_bad in range(n):
        search, tested = bisect(n, first_bad)
        assert search.culprit() == f"c{first_bad}"
        # n possible answers; plus the two endpoint builds the runner adds: <= ceil(log2 n) + 2 in all.
        assert len(tested) <= math.ceil(math.log2(n)) if n > 1 else not tested


def test_a_skipped_commit_next_to_the_culprit_leaves_the_smallest_range():
    # c5 is the first bad one but c4 does not build: c4 or c5, nothing more certain.
    search, tested = bisect(10, 5, unbuildable=frozenset({4}))
    assert search.culprit() is None and search.done
    assert search.suspects() == ["c4", "c5"]


def test_a_skipped_commit_away_from_the_culprit_is_stepped_around():
    search, tested = bisect(16, 11, unbuildable=frozenset({7, 8}))
    assert search.culprit() == "c11"
    assert tested[0] == 7 and len(tested) <= math.ceil(math.log2(16)) + 1   # the skip costs one test


def test_nothing_buildable_in_between_leaves_every_commit_suspect():
    search, _ = bisect(6, 3, unbuildable=frozenset(range(5)))
    assert search.suspects() == [f"c{i}" for i in range(6)]


def test_the_next_commit_is_the_one_nearest_the_middle_around_skips():
    search = Search([f"c{i}" for i in range(9)])        # undecided: c0..c7, middle 3.5
    assert search.next() == "c3"
    search.record("c3", SKIP)
    assert search.next() == "c4"
    search.record("c4", SKIP)
    assert search.next() == "c2"


def test_out_of_range_and_unknown_verdicts_are_refused():
    search = Search(["a", "b", "c"])
    search.record("a", GOOD)
    with pytest.raises(ValueError):
        search.record("a", BAD)
    with pytest.raises(ValueError):
        search.record("b", "maybe")
    with pytest.raises(ValueError):
        Search([])


@pytest.mark.parametrize("kinds, failure, verdict", [
    ({"pass"}, "fail", GOOD), ({"fail"}, "fail", BAD), ({"crash"}, "fail", SKIP),
    ({"fail", "crash"}, "fail", BAD), ({"untestable"}, "fail", SKIP), ({"pass", "untestable"}, "fail", SKIP),
    ({"pass"}, "crash", GOOD), ({"crash"}, "crash", BAD), ({"fail"}, "crash", GOOD),
    ({"fail", "untestable"}, "crash", SKIP),
])
def test_a_crash_counts_as_bad_only_when_the_failure_bisected_is_a_crash(kinds, failure, verdict):
    assert verdict_of(kinds, failure) == verdict


def test_run_kinds_reads_each_selected_file():
    files = [TestFile("test_a", "flaky"), TestFile("test_b", "timed-out"), TestFile("test_c", "skipped")]
    assert run_kinds(files, ["test_a"]) == {"pass"}
    assert run_kinds(files, ["test_a", "test_b"]) == {"pass", "crash"}
    assert run_kinds(files, ["test_c", "test_missing"]) == {"untestable"}
