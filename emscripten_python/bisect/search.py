"""The search itself: which commit to test next and what the verdicts so far prove.

A pure state machine over the commits of the range, oldest first, the last one being BAD
(GOOD, already known good, sits just before the first). No git, no build: `Search` is told
each commit's verdict and answers with the next commit to test, until the first bad commit
is pinned down or only skipped commits are left between the last good and the first bad one.

Why our own search rather than driving `git bisect` in the user's checkout: `git bisect`
keeps its state in the checkout's .git (BISECT_LOG, refs/bisect/*), which a cancelled or
killed bisection would leave behind; the state here lives in memory and in bisect.json,
and the checkout only ever moves between commits (restored at the end). The commits come
from `git rev-list --first-parent --ancestry-path GOOD..BAD` (see git.py): CPython's main
history is linear (squash merges), and on a first-parent list "bad from here on" is one
index, so halving the list is valid. The rules follow git-bisect(1) ("Bisect skip"): test
the commit nearest the middle of what is undecided; a skipped commit is never tested again
and a nearby one is taken instead (here: the untested one nearest the middle, where git
adds some randomness); when only skipped commits separate the last good one from the first
bad one, the answer is that range ("the first bad commit could be any of"), not a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GOOD, BAD, SKIP = "good", "bad", "skip"
VERDICTS = (GOOD, BAD, SKIP)


@dataclass
class Search:
    commits: list[str]                   # oldest first; commits[-1] is BAD, GOOD precedes commits[0]
    last_good: int = -1                  # index of the newest commit known good (-1: GOOD itself)
    first_bad: int = field(default=-1)   # index of the oldest commit known bad (set in __post_init__)
    skipped: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.commits:
            raise ValueError("a search needs at least one commit (BAD)")
        if len(set(self.commits)) != len(self.commits):
            raise ValueError("the commits of a search must be distinct")
        if self.first_bad < 0:
            self.first_bad = len(self.commits) - 1

    def candidates(self) -> list[int]:
        """Indices still worth testing: strictly between the last good and the first bad
        commit, and not skipped."""
        return [i for i in range(self.last_good + 1, self.first_bad) if i not in self.skipped]

    def next(self) -> str | None:
        """The commit to test next, or None when the search is over."""
        left = self.candidates()
        if not left:
            return None
        middle = (self.last_good + self.first_bad) / 2
        # Nearest the middle; on a tie the older one (git bisect's choice does the same halving).
        return self.commits[min(left, key=lambda i: (abs(i - middle), i))]

    def record(self, commit: str, verdict: str) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        index = self.commits.index(commit)
        if not self.last_good < index < self.first_bad:
            raise ValueError(f"{commit} is outside the undecided range")
        if verdict == GOOD:
            self.last_good = index
        elif verdict == BAD:
            self.first_bad = index
        else:
            self.skipped.add(index)

    @property
    def done(self) -> bool:
        return not self.candidates()

    def culprit(self) -> str | None:
        """The first bad commit, once nothing untested is left and no skip hides it."""
        return self.commits[self.first_bad] if self.done and self.first_bad == self.last_good + 1 else None

    def suspects(self) -> list[str]:
        """What may hold the first bad commit: after the last good, up to the first bad, oldest
        first (one commit when the search is decided; skipped ones plus the first bad when not)."""
        return self.commits[self.last_good + 1:self.first_bad + 1]

    def steps_left(self) -> int:
        """At most how many more tests it takes without skips: ceil(log2) of the suspects."""
        return math.ceil(math.log2(len(self.candidates()) + 1))
