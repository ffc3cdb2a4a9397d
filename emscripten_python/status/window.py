"""What `status export` holds: the window of runs whose pages it writes.

Every run page links its baseline, every baseline its own: followed link by link, an
export would hold the whole history (at 100k runs: 25,000 files after ten minutes, still
going). The export holds the pages of the runs in its window instead:

* the last ``insight.WINDOW`` (50) branch builds of each branch × builder (the runs the
  overview and the branch pages show), and
* the last ``insight.WINDOW`` builds of each pull request the overview lists (its
  ``insight.RECENT_PRS`` newest).

A link to a run outside the window (the baseline of a lane's oldest run in the window, an
older crash, a test's history beyond it), to a comparison with such a run, or to a pull
request not listed, is plain text in the exported pages: never a link to a missing file.
The served pages link everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from . import insight

EXPORT_ENV = "emscripten_python.export"   # WSGI environ key: the ExportWindow of `status export`

_RUN_PAGE = re.compile(r"(?:api/)?run/(?P<run>.+)\.(?:html|json)")
_COMPARE_PAGE = re.compile(r"(?:api/)?compare/(?P<base>[^/]+)/(?P<head>[^/]+)\.(?:html|json)")
_PR_PAGE = re.compile(r"(?:api/)?pr/(?P<pr>\d+)\.(?:html|json)")


@dataclass(frozen=True)
class ExportWindow:
    runs: frozenset[str]     # run ids
    prs: frozenset[int]

    def holds(self, path: str) -> bool:
        """Whether the export writes the page at site path `path` (unquoted)."""
        if found := _RUN_PAGE.fullmatch(path):
            return found["run"] in self.runs
        if found := _COMPARE_PAGE.fullmatch(path):
            return found["base"] in self.runs and found["head"] in self.runs
        if found := _PR_PAGE.fullmatch(path):
            return int(found["pr"]) in self.prs
        return True


def export_window(session: Session) -> ExportWindow:
    """The window of the store as it is now: one indexed query per lane and per listed PR."""
    runs: set[str] = set()
    for branch, builder in insight.groups(session):
        runs.update(r.run_id for r in insight.lane_runs(session, branch, builder))
    prs = [p.number for p in insight.recent_prs(session)]
    for number in prs:
        runs.update(r.run_id for r in insight.pr_runs(session, number, limit=insight.WINDOW))
    return ExportWindow(frozenset(runs), frozenset(prs))
