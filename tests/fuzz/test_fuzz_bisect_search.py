"""search.Search over random histories: where the first bad commit is and which commits cannot
be tested (a flaky verdict never reaches the search: the runner settles it first)."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from emscripten_python.bisect.search import BAD, GOOD, SKIP, Search


@st.composite
def histories(draw):
    n = draw(st.integers(min_value=1, max_value=64))
    first_bad = draw(st.integers(min_value=0, max_value=n - 1))
    # BAD itself (n - 1) was built and tested by the runner; any other commit may not build.
    untestable = draw(st.sets(st.integers(min_value=0, max_value=n - 2), max_size=n - 1)) if n > 1 else set()
    return n, first_bad, untestable


@settings(max_examples=400, deadline=None, derandomize=True)
@given(histories())
@example((2, 0, {0}))       # the first bad commit untestable: the answer is it and BAD (an early oracle said c0)
def test_the_answer_holds_the_first_bad_commit_and_is_as_small_as_the_skips_allow(history):
    n, first_bad, untestable = history
    search, tested = Search([f"c{i}" for i in range(n)]), []
    while (commit := search.next()) is not None:
        index = int(commit[1:])
        assert index not in tested                       # never the same commit twice
        tested.append(index)
        assert len(tested) <= n
        search.record(commit, SKIP if index in untestable else BAD if index >= first_bad else GOOD)
    suspects = [int(c[1:]) for c in search.suspects()]
    # The answer holds the first bad commit; it ends at a commit known bad (tested, or BAD) and
    # starts right after one known good (tested, or GOOD); everything between could not be tested.
    assert first_bad in suspects
    assert suspects[-1] == n - 1 or (suspects[-1] in tested and suspects[-1] not in untestable)
    assert suspects[0] == 0 or (suspects[0] - 1 in tested and suspects[0] - 1 not in untestable)
    assert all(index in untestable and index in tested for index in suspects[:-1])
    assert (search.culprit() is not None) == (len(suspects) == 1)
    if not untestable:
        assert search.culprit() == f"c{first_bad}" and len(tested) <= math.ceil(math.log2(n))
