"""What the page says about the rows: health per branch × builder, flaky tests, crashes, PEP 11."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..results import BAD_FILE_OUTCOMES
from .models import FileRow, RunRow

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
FLAKY_RULE = (f"A test file is flaky when, within the last {WINDOW} runs of one branch on one builder, "
              f"it failed and then passed on re-run inside a run, or its outcome switched between pass "
              f"and fail at least {FLAKY_FLIPS} times across runs. Flake rate = flaky runs / runs.")

_RUN_COLUMNS = (RunRow.id, RunRow.run_id, RunRow.created, RunRow.outcome, RunRow.duration, RunRow.commit,
                RunRow.commit_message, RunRow.pr, RunRow.cpython_version, RunRow.files_bad,
                RunRow.files_crashed, RunRow.files_flaky, RunRow.files_total, RunRow.build_url)


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

    @property
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

    @property
    def dots(self) -> list[tuple[str, str]]:
        """(state, tooltip) per finished run, oldest first."""
        return [(state_of(r.outcome), f"{r.outcome} · {r.created:%Y-%m-%d %H:%M} · {(r.commit or '')[:10]}")
                for r in reversed(self.finished)]

    @property
    def stable(self) -> bool:
        last = self.finished[:STABLE_LAST]
        return len(last) == STABLE_LAST and all(r.outcome in GREEN for r in last)


def rolling_pass_rate(chrono: list, over: int = 10) -> list[tuple[str, float]]:
    """(label, percent green of the `over` runs up to this one), for runs oldest first."""
    points = []
    for i, run in enumerate(chrono):
        recent = chrono[max(0, i - over + 1):i + 1]
        points.append((f"{run.created:%Y-%m-%d %H:%M}", 100 * sum(r.outcome in GREEN for r in recent) / len(recent)))
    return points


def duration_points(chrono: list) -> list[tuple[str, float]]:
    return [(f"{r.created:%Y-%m-%d %H:%M} {r.outcome}", (r.duration or 0) / 60) for r in chrono]


def groups(session: Session, branch: str | None = None) -> list[tuple[str, str]]:
    query = select(RunRow.branch, RunRow.builder).distinct()
    if branch is not None:
        query = query.where(RunRow.branch == branch)
    return sorted((tuple(row) for row in session.execute(query)), key=lambda g: (branch_key(g[0]), g[1]))


def health(session: Session, branch: str, builder: str, window: int = WINDOW) -> Health:
    same = (RunRow.branch == branch, RunRow.builder == builder)
    runs = session.execute(select(*_RUN_COLUMNS).where(*same).order_by(RunRow.created.desc())
                           .limit(window)).all()
    result = Health(branch, builder, runs)
    result.last_green = session.scalar(select(func.max(RunRow.created))
                                       .where(*same, RunRow.outcome.in_(GREEN)))
    if result.state != "pending":
        # The streak runs back to the newest finished run of the other colour, beyond the window.
        other = RunRow.outcome.not_in(GREEN) if result.state == "green" else RunRow.outcome.in_(GREEN)
        other_last = session.scalar(select(func.max(RunRow.created))
                                    .where(*same, other, RunRow.outcome.not_in(NO_VERDICT)))
        streak = select(func.count()).where(*same, RunRow.outcome.not_in(NO_VERDICT))
        if other_last is not None:
            streak = streak.where(RunRow.created > other_last)
        result.streak = session.scalar(streak.select_from(RunRow))
    return result


def overview(session: Session) -> dict:
    """The grid: branches (rows) × builders (columns) -> Health."""
    cells = {(b, c): health(session, b, c) for b, c in groups(session)}
    branches = sorted({b for b, _ in cells}, key=branch_key)
    builders = sorted({c for _, c in cells})
    return {"branches": branches, "builders": builders, "cells": cells}


def pep11(session: Session, branch: str | None = None) -> list[dict]:
    """Per branch (or just `branch`): its builders' Health and whether it meets STABLE_RULE."""
    by_branch: dict[str, list[Health]] = {}
    for name, builder in groups(session, branch):
        by_branch.setdefault(name, []).append(health(session, name, builder, window=STABLE_LAST))
    return [{"branch": b, "stable": all(h.stable for h in hs), "builders": hs} for b, hs in by_branch.items()]


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


def flaky_tests(session: Session, branch: str | None = None, window: int = WINDOW) -> list[Flaky]:
    found: list[Flaky] = []
    for group_branch, builder in groups(session, branch):
        runs = session.execute(select(RunRow.id, RunRow.run_id, RunRow.created)
                               .where(RunRow.branch == group_branch, RunRow.builder == builder)
                               .order_by(RunRow.created.desc()).limit(window)).all()
        by_pk = {r.id: r for r in runs}
        # Only files that ever went wrong can be flaky: read their history, not all ~500 files.
        suspects = select(FileRow.name).distinct().where(
            FileRow.run_pk.in_(by_pk), FileRow.outcome.in_(BAD_FILE_OUTCOMES | {"flaky"}))
        rows = session.execute(select(FileRow.name, FileRow.run_pk, FileRow.outcome)
                               .where(FileRow.run_pk.in_(by_pk), FileRow.name.in_(suspects))).all()
        history: dict[str, list] = {}
        for row in sorted(rows, key=lambda r: by_pk[r.run_pk].created):
            history.setdefault(row.name, []).append((by_pk[row.run_pk], row.outcome))
        for name, seen in history.items():
            flaky = _judge(Flaky(name, group_branch, builder), seen)
            if flaky.is_flaky:
                found.append(flaky)
    return sorted(found, key=lambda f: (-f.flake_rate, f.name))


def _judge(flaky: Flaky, seen: list) -> Flaky:
    previous = None
    for _run, outcome in seen:
        if outcome in BAD_FILE_OUTCOMES:
            verdict = "fail"
        elif outcome in ("passed", "flaky"):
            verdict = "pass"
        else:
            continue   # skipped / resource-denied / no-tests say nothing either way
        flaky.runs += 1
        flaky.failures += verdict == "fail"
        flaky.rerun_flakes += outcome == "flaky"
        flaky.flips += previous is not None and verdict != previous
        previous = verdict
    for run, outcome in seen:
        if outcome == "flaky" or (flaky.alternating and outcome in BAD_FILE_OUTCOMES):
            flaky.events.append((run.created, run.run_id))
    return flaky


def crash_summary(text: str | None) -> str:
    """The error line of a crash (node prints it after the test's own output), else the first line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return next((line for line in lines if re.match(r"^\w*(Error|Exception)\b", line)),
                lines[0] if lines else "no error text")


def crashes(session: Session, branch: str | None = None, limit: int = 100) -> list:
    """Newest crashed test files: the runtime died inside them (their own category, with the error)."""
    query = (select(FileRow.name, FileRow.crash, RunRow.run_id, RunRow.branch, RunRow.builder, RunRow.created)
             .join(RunRow, FileRow.run_pk == RunRow.id).where(FileRow.outcome == "crashed"))
    if branch is not None:
        query = query.where(RunRow.branch == branch)
    return session.execute(query.order_by(RunRow.created.desc()).limit(limit)).all()


def run_detail(session: Session, run_id: str) -> RunRow | None:
    return session.scalar(select(RunRow).where(RunRow.run_id == run_id))


def branches(session: Session) -> list[str]:
    return sorted(session.scalars(select(RunRow.branch).distinct()), key=branch_key)
