"""Runs read back from the store for comparison: baselines, any two runs, one test's history.

Only reads. The store keeps a run's files and its non-passing cases (models.py), so a run
rebuilt here says so (``tests.cases_recorded = "non-passing"``) and compare.py treats a
case missing from such a run as passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..results.compare import COMPLETED
from ..results.model import Run, TestCase, TestFile
from .models import CaseRow, FileRow, RunRow

MIN_PREFIX = 8
BAD = frozenset({"failed", "error", "unexpected-success", "crashed", "timed-out", "env-changed"})
PASSING = frozenset({"passed", "expected-failure", "no-tests", "flaky"})


def find_run(session: Session, run_id: str) -> RunRow | None:
    """The run with this id, or with this unique prefix (at least 8 characters)."""
    row = session.scalars(select(RunRow).where(RunRow.run_id == run_id)).first()
    if row is not None or len(run_id) < MIN_PREFIX or not run_id.isalnum():
        return row
    found = session.scalars(select(RunRow).where(RunRow.run_id.like(f"{run_id}%")).limit(2)).all()
    return found[0] if len(found) == 1 else None


def run_from_row(session: Session, row: RunRow) -> Run:
    files = session.scalars(select(FileRow).where(FileRow.run_pk == row.id).order_by(FileRow.id)).all()
    cases: dict[int, list[TestCase]] = {}
    if any(f.outcome not in ("passed", "skipped", "resource-denied", "no-tests") for f in files):
        query = (select(CaseRow).join(FileRow, CaseRow.file_pk == FileRow.id)
                 .where(FileRow.run_pk == row.id).order_by(CaseRow.id))
        for case in session.scalars(query):
            cases.setdefault(case.file_pk, []).append(
                TestCase(case.name, case.outcome, case.duration, case.message, case.traceback))
    created = row.created.replace(tzinfo=timezone.utc).isoformat(timespec="seconds")
    run = Run(run_id=row.run_id, created=created,
              origin={"kind": row.origin, "builder": row.builder, "url": row.build_url, "pr": row.pr},
              source={"branch": row.branch, "commit": row.commit, "cpython_version": row.cpython_version},
              toolchain={"emcc_version": row.emcc_version}, node={"version": row.node_version},
              outcome=row.outcome, errors=list(row.errors or []))
    run.tests = {"selection": [f.name for f in files], "cases_recorded": "non-passing", "files": [
        TestFile(f.name, f.outcome, f.duration, tests_run=f.tests_run, failures=f.failures,
                 attempts=f.attempts, cases=cases.get(f.id, []), crash=f.crash, log_excerpt=f.log_excerpt)
        for f in files]}
    return run


def load_run(session: Session, run_id: str) -> Run | None:
    row = find_run(session, run_id)
    return run_from_row(session, row) if row is not None else None


def _naive_utc(stamp: str | datetime) -> datetime:
    when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def find_baseline(session: Session, *, builder: str, branch: str, before: str | datetime,
                  exclude: str | None = None) -> RunRow | None:
    """The latest completed branch build (not a PR build) of `builder` on `branch` created
    before `before`: the base of a run. Pending, cancelled and error runs never are."""
    query = (select(RunRow).where(RunRow.builder == builder, RunRow.branch == branch, RunRow.pr.is_(None),
                                  RunRow.outcome.in_(sorted(COMPLETED)), RunRow.created < _naive_utc(before))
             .order_by(RunRow.created.desc(), RunRow.id.desc()).limit(2))
    for row in session.scalars(query):
        if row.run_id != exclude:
            return row
    return None


def store_builder(run: Run) -> str:
    """The builder name ingest files a run under (ingest.py)."""
    origin = run.origin or {}
    return origin.get("builder") or origin.get("kind") or "local"


def baseline_for(session: Session, run: Run, base_branch: str | None = None) -> tuple[Run | None, str]:
    """(base run, description): the base of `run` in the store, or None and why there is none."""
    branch = base_branch or (run.source or {}).get("branch")
    builder = store_builder(run)
    if not branch:
        return None, "the run has no branch and no --base-branch was given"
    row = find_baseline(session, builder=builder, branch=branch, before=run.created, exclude=run.run_id)
    if row is None:
        return None, f"no completed run of {builder} on {branch} before this one in the status store"
    return run_from_row(session, row), f"latest completed run of {builder} on {branch}"


@dataclass
class TestHistory:
    __test__ = False
    test: str
    builder: str
    branch: str
    runs: list[dict]                  # newest first: run_id, created, commit, state, message
    first_failed: dict | None         # the oldest run of the current failing streak
    last_passed: dict | None          # the newest run where it passed (before the streak)


def test_history(session: Session, test: str, *, builder: str, branch: str, limit: int = 200) -> TestHistory:
    """One test (a file name or a case id) on branch × builder: newest runs first.

    The streak is the newest run's state carried back: "first failed at run X / commit Y"
    is the oldest run of the unbroken run of failures ending at the newest run.
    """
    file_name = test
    is_case = False
    runs = (select(RunRow.id, RunRow.run_id, RunRow.created, RunRow.commit, RunRow.outcome)
            .where(RunRow.builder == builder, RunRow.branch == branch, RunRow.pr.is_(None),
                   RunRow.outcome.in_(sorted(COMPLETED)))
            .order_by(RunRow.created.desc(), RunRow.id.desc()).limit(limit)).subquery()
    lane_files = (select(runs.c.run_id, runs.c.created, runs.c.commit, FileRow.id, FileRow.name, FileRow.outcome)
                  .join(FileRow, FileRow.run_pk == runs.c.id).order_by(runs.c.created.desc()))
    files = session.execute(lane_files.where(FileRow.name == test)).all()
    if not files:
        # A test case: its file is the one that stored it (when it failed), else the file
        # whose name its id starts with (test.test_os.X.y -> test_os).
        owner = session.scalar(select(FileRow.name).join(runs, FileRow.run_pk == runs.c.id)
                               .join(CaseRow, CaseRow.file_pk == FileRow.id).where(CaseRow.name == test).limit(1))
        if owner is None:
            owner = session.scalar(
                select(FileRow.name).join(runs, FileRow.run_pk == runs.c.id)
                .where(or_(func.substr(test, 1, func.length(FileRow.name) + 1) == FileRow.name + ".",
                           func.substr(test, 1, func.length(FileRow.name) + 6) == "test." + FileRow.name + "."))
                .limit(1))
        if owner is not None:
            is_case, file_name = True, owner
            files = session.execute(lane_files.where(FileRow.name == owner)).all()
    case_states: dict[int, tuple[str, str | None]] = {}
    if is_case:
        file_pks = [f.id for f in files if f.outcome not in ("passed", "skipped", "resource-denied", "no-tests")]
        for chunk in range(0, len(file_pks), 500):
            for file_pk, outcome, message in session.execute(
                    select(CaseRow.file_pk, CaseRow.outcome, CaseRow.message)
                    .where(CaseRow.file_pk.in_(file_pks[chunk:chunk + 500]), CaseRow.name == test)):
                case_states[file_pk] = (outcome, message)
    history = []
    for row in files:
        state = row.outcome
        message = None
        if is_case:
            if row.id in case_states:
                state, message = case_states[row.id]
            elif row.outcome in ("crashed", "timed-out"):
                state = "not-run"
            elif row.outcome in ("skipped", "resource-denied"):
                state = "skipped"
            else:
                state = "passed"    # only non-passing cases are stored
        history.append({"run_id": row.run_id, "created": row.created, "commit": row.commit,
                        "state": state, "message": message})
    first_failed = last_passed = None
    for entry in history:
        if entry["state"] in PASSING:
            last_passed = entry
            break
        if entry["state"] in BAD:
            first_failed = entry      # skipped / not-run neither break nor extend the streak
    return TestHistory(test, builder, branch, history, first_failed, last_passed)
