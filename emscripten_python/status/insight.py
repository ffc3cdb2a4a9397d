"""What the page says about the rows: health per branch × builder, flaky tests, crashes, PEP 11."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload, undefer

from ..results.model import BAD_FILE_OUTCOMES
from .models import FileRow, LaneRow, RunRow

GREEN = frozenset({"success", "warnings"})   # warnings = only flaky tests, which passed on re-run
# Neither green nor red: not finished, or stopped from outside (a cancelled run says nothing
# about CPython; it never becomes a branch's last green nor breaks a streak).
NO_VERDICT = frozenset({"pending", "cancelled"})
WINDOW = 50                                  # "the last N runs" of every trend

# PEP 11 asks a Tier 3 platform for a reliable buildbot; CPython's buildmaster-config
# (master/custom/builders.py) says when a builder may be called stable.
STABLE_LAST = 10
STABLE_RULE = (f"A builder is stable when its last {STABLE_LAST} finished builds are all green "
               f"(success, or warnings from tests that passed on re-run), as CPython's "
               f"buildmaster-config builders.py requires before a builder is marked stable. "
               f"A branch meets the rule when every builder that builds it is stable.")

# A regression and its fix change a test's outcome twice; more changes than that within the
# window is a test that comes and goes by itself.
FLAKY_FLIPS = 3
FLAKY_SHOWN = 100   # rows of the flaky page (the JSON has them all)
FLAKY_RULE = (f"A test file is flaky when, within the last {WINDOW} runs of one branch on one builder, "
              f"it failed and then passed on re-run inside a run, or its outcome switched between pass "
              f"and fail at least {FLAKY_FLIPS} times across runs. Flake rate = flaky runs / runs.")

_RUN_COLUMNS = (RunRow.id, RunRow.run_id, RunRow.created, RunRow.outcome, RunRow.duration, RunRow.commit,
                RunRow.commit_message, RunRow.pr, RunRow.cpython_version, RunRow.files_bad,
                RunRow.files_crashed, RunRow.files_flaky, RunRow.files_total, RunRow.build_url, RunRow.runtimes)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def state_of(outcome: str) -> str:
    return "pending" if outcome in NO_VERDICT else "green" if outcome in GREEN else "red"


def branch_key(branch: str) -> tuple:
    """main first, then versions newest first, then anything else by name."""
    if branch in ("main", "3.x"):
        return (0, ())
    if re.fullmatch(r"\d+(\.\d+)*", branch):
        return (1, tuple(-int(p) for p in branch.split(".")))
    return (2, (branch,))


@dataclass
class Health:
    branch: str
    builder: str
    runs: list          # newest first, at most WINDOW rows of _RUN_COLUMNS
    streak: int = 0
    last_green: datetime | None = None

    @cached_property
    def finished(self) -> list:
        return [r for r in self.runs if r.outcome not in NO_VERDICT]

    @property
    def last(self):
        return self.runs[0] if self.runs else None

    @property
    def state(self) -> str:
        """green / red / pending, of the newest finished run."""
        finished = self.finished
        return state_of(finished[0].outcome) if finished else "pending"

    @property
    def since_green(self) -> timedelta | None:
        return utcnow() - self.last_green if self.last_green else None

    @property
    def pass_rate(self) -> float | None:
        finished = self.finished
        return sum(r.outcome in GREEN for r in finished) / len(finished) if finished else None

    @property
    def duration_trend(self) -> float | None:
        """Median duration of the newer half of the window over the older half, minus one."""
        durations = [r.duration for r in reversed(self.finished) if r.duration]
        if len(durations) < 4:
            return None
        half = len(durations) // 2
        older, newer = statistics.median(durations[:half]), statistics.median(durations[half:])
        return newer / older - 1 if older else None

    @cached_property
    def dots(self) -> list[tuple[str, str]]:
        """(state, tooltip) per finished run, oldest first."""
        return [(state_of(r.outcome), f"{r.outcome} · {r.created:%Y-%m-%d %H:%M} · {(r.commit or '')[:10]}")
                for r in reversed(self.finished)]

    @cached_property
    def by_runtime(self) -> list[RuntimeSeries]:
        """The lane's history per runtime (node-20, node-24, chromium), from each run's stored
        runtimes, in the order the newest runs list them; [] while the window holds one
        runtime only (the lane is then its runtime's series)."""
        series: dict[str, RuntimeSeries] = {}
        for run in self.runs:
            for entry in run.runtimes or ():
                if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str):
                    continue
                found = series.get(entry["slug"])
                if found is None:
                    found = series[entry["slug"]] = RuntimeSeries(entry["slug"], str(entry.get("label") or ""))
                found.entries.append((run, entry))
        return list(series.values()) if len(series) > 1 else []

    @property
    def stable(self) -> bool:
        last = self.finished[:STABLE_LAST]
        return len(last) == STABLE_LAST and all(r.outcome in GREEN for r in last)


@dataclass
class RuntimeSeries:
    """One runtime of a lane: (run, its stored runtime entry) newest first."""
    slug: str
    label: str
    entries: list = field(default_factory=list)

    @cached_property
    def finished(self) -> list:
        return [(run, e) for run, e in self.entries if e.get("outcome") not in NO_VERDICT]

    @property
    def last(self) -> dict:
        return self.entries[0][1]

    @property
    def state(self) -> str:
        return state_of(self.finished[0][1].get("outcome", "")) if self.finished else "pending"

    @property
    def pass_rate(self) -> float | None:
        finished = self.finished
        return sum(e.get("outcome") in GREEN for _, e in finished) / len(finished) if finished else None

    @property
    def dots(self) -> list[tuple[str, str]]:
        """(state, tooltip) per finished run of this runtime, oldest first."""
        return [(state_of(e.get("outcome", "")), f"{e.get('outcome')} · {run.created:%Y-%m-%d %H:%M} · "
                 f"{e.get('files_bad', 0)} bad") for run, e in reversed(self.finished)]


def rolling_pass_rate(chrono: list, over: int = 10) -> list[tuple[str, float]]:
    """(label, percent green of the `over` runs up to this one), for runs oldest first."""
    points = []
    for i, run in enumerate(chrono):
        recent = chrono[max(0, i - over + 1):i + 1]
        points.append((f"{run.created:%Y-%m-%d %H:%M}", 100 * sum(r.outcome in GREEN for r in recent) / len(recent)))
    return points


def duration_points(chrono: list) -> list[tuple[str, float]]:
    return [(f"{r.created:%Y-%m-%d %H:%M} {r.outcome}", (r.duration or 0) / 60) for r in chrono]


# Branch builds only: PR builds (pr set) have their own pages and never count in the grid,
# the flaky rule, the PEP 11 verdict or a badge. The partial index ix_runs_grid has this
# very condition, so every query of a lane below must carry it.
BRANCH_BUILD = RunRow.pr.is_(None)


def lanes(session: Session, branch: str | None = None) -> list[tuple[str, str, str]]:
    """(branch, builder, origin) of every lane with branch builds, main first."""
    query = select(LaneRow.branch, LaneRow.builder, LaneRow.origin)
    if branch is not None:
        query = query.where(LaneRow.branch == branch)
    return sorted((tuple(row) for row in session.execute(query)), key=lambda g: (branch_key(g[0]), g[1]))


def groups(session: Session, branch: str | None = None) -> list[tuple[str, str]]:
    return [(b, c) for b, c, _ in lanes(session, branch)]


def is_tier3(builder: str, origin: str, tier3_builders: frozenset[str] | None) -> bool:
    """Whether a builder counts in the PEP 11 verdict: one of the configured builders, or by
    default any builder whose runs come from Buildbot (not GitHub Actions, not a local run)."""
    return builder in tier3_builders if tier3_builders is not None else origin == "buildbot"


# A lane's queries, built once (building a statement costs more than running it on SQLite).
_LANE = (RunRow.branch == bindparam("branch"), RunRow.builder == bindparam("builder"), BRANCH_BUILD)
_DECIDED = RunRow.outcome.not_in(sorted(NO_VERDICT))
# created, then id: runs of the same second in one order on every page and in the export's window.
_LANE_RUNS = (select(*_RUN_COLUMNS).where(*_LANE).order_by(RunRow.created.desc(), RunRow.id.desc())
              .limit(bindparam("window")))
_LAST_GREEN = select(func.max(RunRow.created)).where(*_LANE, RunRow.outcome.in_(sorted(GREEN)))
_LAST_OF_OTHER_COLOUR = {
    "green": select(func.max(RunRow.created)).where(*_LANE, _DECIDED, RunRow.outcome.not_in(sorted(GREEN))),
    "red": _LAST_GREEN,
}
_COUNT_SINCE = select(func.count()).select_from(RunRow).where(*_LANE, _DECIDED, RunRow.created > bindparam("since"))
_COUNT_ALL = select(func.count()).select_from(RunRow).where(*_LANE, _DECIDED)


def lane_runs(session: Session, branch: str, builder: str, window: int = WINDOW) -> list:
    """A lane's last `window` branch builds, newest first (_RUN_COLUMNS)."""
    return session.connection().execute(_LANE_RUNS, {"branch": branch, "builder": builder, "window": window}).all()


def health(session: Session, branch: str, builder: str, window: int = WINDOW) -> Health:
    """A lane's last `window` branch builds, its last green run and its streak; the last two
    come from the window when it holds them, else from one or two more indexed queries."""
    conn = session.connection()
    lane = {"branch": branch, "builder": builder}
    result = Health(branch, builder, lane_runs(session, branch, builder, window))
    full = len(result.runs) == window
    result.last_green = next((r.created for r in result.runs if r.outcome in GREEN), None)
    if result.last_green is None and full:
        result.last_green = conn.scalar(_LAST_GREEN, lane)
    if result.state in ("green", "red"):
        # The streak runs back to the newest finished run of the other colour, beyond the window.
        green, streak = result.state == "green", 0
        for run in result.finished:
            if (run.outcome in GREEN) != green:
                break
            streak += 1
        else:
            if full:   # all one colour: the streak may go on beyond the window
                other_last = conn.scalar(_LAST_OF_OTHER_COLOUR[result.state], lane)
                streak = (conn.scalar(_COUNT_ALL, lane) if other_last is None
                          else conn.scalar(_COUNT_SINCE, {**lane, "since": other_last}))
        result.streak = streak
    return result


def overview(session: Session, tier3_builders: frozenset[str] | None = None) -> dict:
    """The grid: branches (rows) × builders (columns) -> Health, of branch builds; which
    builders count for PEP 11; the newest pull requests."""
    found = lanes(session)
    cells = {(b, c): h for b, c, _ in found if (h := health(session, b, c)).runs}
    branches = sorted({b for b, _ in cells}, key=branch_key)
    builders = sorted({c for _, c in cells})
    tier3 = sorted({c for b, c, origin in found if (b, c) in cells and is_tier3(c, origin, tier3_builders)})
    return {"branches": branches, "builders": builders, "cells": cells, "tier3": tier3,
            "prs": recent_prs(session)}


def pep11(session: Session, branch: str | None = None, tier3_builders: frozenset[str] | None = None) -> list[dict]:
    """Per branch (or just `branch`): its Tier 3 builders' Health and whether it meets STABLE_RULE.
    A branch none of whose builders counts has no verdict (not listed)."""
    by_branch: dict[str, list[Health]] = {}
    for name, builder, origin in lanes(session, branch):
        if is_tier3(builder, origin, tier3_builders):
            h = health(session, name, builder, window=STABLE_LAST)
            if h.runs:
                by_branch.setdefault(name, []).append(h)
    return [{"branch": b, "stable": all(h.stable for h in hs), "builders": hs} for b, hs in by_branch.items()]


@dataclass
class PullRequest:
    number: int
    branch: str          # its base branch, or its ref when the base is not known
    last: object         # newest run (_RUN_COLUMNS + builder)


RECENT_PRS = 10   # pull requests the overview lists


def recent_prs(session: Session, limit: int = RECENT_PRS, scan: int = 500) -> list[PullRequest]:
    """The newest `limit` pull requests among the last `scan` PR builds (one bounded query)."""
    rows = session.execute(select(*_RUN_COLUMNS, RunRow.builder, RunRow.branch).where(RunRow.pr.is_not(None))
                           .order_by(RunRow.created.desc()).limit(scan)).all()
    found: dict[int, PullRequest] = {}
    for row in rows:
        if row.pr not in found:
            found[row.pr] = PullRequest(row.pr, row.branch, row)
            if len(found) == limit:
                break
    return list(found.values())


def pr_runs(session: Session, number: int, limit: int = 200) -> list:
    """A pull request's builds, newest first (at most `limit`)."""
    return session.execute(select(*_RUN_COLUMNS, RunRow.builder, RunRow.branch)
                           .where(RunRow.pr == number).order_by(RunRow.created.desc()).limit(limit)).all()


@dataclass
class Flaky:
    name: str
    branch: str
    builder: str
    runs: int = 0
    rerun_flakes: int = 0
    failures: int = 0
    flips: int = 0
    events: list = field(default_factory=list)   # (created, run_id) of each flaky run, oldest first

    @property
    def alternating(self) -> bool:
        return self.flips >= FLAKY_FLIPS

    @property
    def is_flaky(self) -> bool:
        return self.rerun_flakes > 0 or self.alternating

    @property
    def flake_rate(self) -> float:
        return len(self.events) / self.runs if self.runs else 0.0

    @property
    def first_seen(self) -> datetime:
        return self.events[0][0]

    @property
    def last_seen(self) -> datetime:
        return self.events[-1][0]


_LANE_WINDOW = (select(RunRow.id, RunRow.run_id, RunRow.created).where(*_LANE)
                .order_by(RunRow.created.desc(), RunRow.id.desc()).limit(bindparam("window")))
_SUSPECT = sorted(BAD_FILE_OUTCOMES | {"flaky"})


def flaky_tests(session: Session, branch: str | None = None, window: int = WINDOW) -> list[Flaky]:
    """Flaky files of every lane: its last `window` branch builds (one indexed query per lane),
    then, in two queries for all lanes, the files that went wrong in them and their history."""
    conn = session.connection()
    runs: dict[int, tuple] = {}    # run pk -> (lane, row with created and run_id)
    for lane in groups(session, branch):
        for row in conn.execute(_LANE_WINDOW, {"branch": lane[0], "builder": lane[1], "window": window}).all():
            runs[row.id] = (lane, row)
    if not runs:
        return []
    # Only files that ever went wrong can be flaky: read their history, not all ~500 files.
    suspects = {(runs[pk][0], name) for pk, name in conn.execute(
        select(FileRow.run_pk, FileRow.name).where(FileRow.run_pk.in_(runs), FileRow.outcome.in_(_SUSPECT))).all()}
    rows = conn.execute(select(FileRow.run_pk, FileRow.name, FileRow.outcome).where(
        FileRow.run_pk.in_(runs), FileRow.name.in_(sorted({name for _, name in suspects})))).all()
    order = {pk: n for n, pk in enumerate(sorted(runs, key=lambda pk: runs[pk][1].created))}
    rows.sort(key=lambda row: order[row[0]])   # oldest first, once for all histories
    history: dict[tuple, list] = {}
    for pk, name, outcome in rows:
        lane, run = runs[pk]
        if (lane, name) in suspects:
            history.setdefault((lane, name), []).append((run, outcome))
    found: list[Flaky] = []
    for (lane, name), seen in history.items():
        flaky = _judge(Flaky(name, lane[0], lane[1]), seen)
        if flaky.is_flaky:
            found.append(flaky)
    return sorted(found, key=lambda f: (-f.flake_rate, f.name, branch_key(f.branch), f.builder))


def _judge(flaky: Flaky, seen: list) -> Flaky:
    """Count `seen` ((run, outcome), oldest first) into `flaky`; events only when it is flaky."""
    previous = None
    runs = failures = rerun_flakes = flips = 0
    for _run, outcome in seen:
        if outcome in BAD_FILE_OUTCOMES:
            passed = False
        elif outcome == "passed" or outcome == "flaky":
            passed = True
        else:
            continue   # skipped / resource-denied / no-tests say nothing either way
        runs += 1
        failures += not passed
        rerun_flakes += outcome == "flaky"
        flips += previous is not None and passed != previous
        previous = passed
    flaky.runs, flaky.failures, flaky.rerun_flakes, flaky.flips = runs, failures, rerun_flakes, flips
    if flaky.is_flaky:
        alternating = flaky.alternating
        flaky.events = [(run.created, run.run_id) for run, outcome in seen
                        if outcome == "flaky" or (alternating and outcome in BAD_FILE_OUTCOMES)]
    return flaky


def crash_summary(text: str | None) -> str:
    """The error line of a crash (node prints it after the test's own output), else the first line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return next((line for line in lines if re.match(r"^\w*(Error|Exception)\b", line)),
                lines[0] if lines else "no error text")


CRASH_RUNS = 2_000   # the crash lists look at the newest runs (of the branch), not at every run


def recent_runs(branch: str | None = None, scan: int = CRASH_RUNS):
    """The pks of the newest `scan` runs (of `branch`: its branch and PR builds), as a
    subquery: what the crash lists look at (a backward walk of ix_runs_created)."""
    recent = select(RunRow.id).order_by(RunRow.created.desc()).limit(scan)
    if branch is not None:
        recent = recent.where(RunRow.branch == branch)
    return recent.scalar_subquery()


def crashes(session: Session, branch: str | None = None, limit: int = 100, scan: int = CRASH_RUNS) -> list:
    """Newest crashed test files (the runtime died inside them: their own category, with the
    error) among the newest `scan` runs: bounded however many runs or crashes the store holds."""
    query = (select(FileRow.name, FileRow.crash, RunRow.run_id, RunRow.branch, RunRow.builder, RunRow.created,
                    RunRow.pr)
             .join(RunRow, FileRow.run_pk == RunRow.id)
             .where(FileRow.outcome == "crashed", FileRow.run_pk.in_(recent_runs(branch, scan))))
    return session.execute(query.order_by(RunRow.created.desc()).limit(limit)).all()


def run_detail(session: Session, run_id: str) -> RunRow | None:
    """A run (with its pythoninfo) with its files and their cases: three queries, however
    many files it has."""
    return session.scalar(select(RunRow).where(RunRow.run_id == run_id)
                          .options(undefer(RunRow.pythoninfo), selectinload(RunRow.files).selectinload(FileRow.cases)))


def branches(session: Session) -> list[str]:
    return sorted(session.scalars(select(LaneRow.branch).distinct()), key=branch_key)
