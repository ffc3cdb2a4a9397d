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
A comparison is exported one way only, the older run as its base (a run against its
baseline, a test's last pass against its first failure); its "swap base and head" link is
text. The served pages link everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from . import insight

EXPORT_ENV = "emscripten_python.export"   # WSGI environ key: the ExportWindow of `status export`

_RUN_PAGE = re.compile(r"(?:api/)?run/(?P<run>.+)\.(?:html|json)")
_COMPARE_PAGE = re.compile(r"(?:api/)?compare/(?P<base>[^/]+)/(?P<head>[^/]+)\.(?:html|json)")
_PR_PAGE = re.compile(r"(?:api/)?pr/(?P<pr>\d+)\.(?:html|json)")


@dataclass(frozen=True)
class ExportWindow:
    runs: Mapping[str, tuple[datetime, int]]    # run id -> (created, id): the order of runs
    prs: frozenset[int]

    def holds(self, path: str) -> bool:
        """Whether the export writes the page at site path `path` (unquoted)."""
        if found := _RUN_PAGE.fullmatch(path):
            return found["run"] in self.runs
        if found := _COMPARE_PAGE.fullmatch(path):
            base, head = self.runs.get(found["base"]), self.runs.get(found["head"])
            return base is not None and head is not None and base < head
        if found := _PR_PAGE.fullmatch(path):
            return int(found["pr"]) in self.prs
        return True


def export_window(session: Session) -> ExportWindow:
    """The window of the store as it is now: one indexed query per lane and per listed PR."""
    rows = []
    for branch, builder in insight.groups(session):
        rows += insight.lane_runs(session, branch, builder)
    prs = [p.number for p in insight.recent_prs(session)]
    for number in prs:
        rows += insight.pr_runs(session, number, limit=insight.WINDOW)
    return ExportWindow({r.run_id: (r.created, r.id) for r in rows}, frozenset(prs))
