"""results.json -> rows, idempotent on the run's run_id."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..results import BAD_FILE_OUTCOMES, Run
from .models import CaseRow, FileRow, RunRow
from .store import Store

# Passing and skipped cases are implied by their file's counts (see models.py).
STORED_CASE_OUTCOMES = frozenset({"failed", "error", "unexpected-success"})
OVERRIDES = ("builder", "branch", "pr", "commit_message", "build_url", "origin")
_PR_REF = re.compile(r"^refs/pull/(\d+)/")
# Two writers inserting the same new run_id: the loser gets IntegrityError (or, both
# replacing one row, StaleDataError) and on its next attempt sees the winner's row.
_ATTEMPTS = 3


def _utc_naive(stamp: str | None) -> datetime:
    when = datetime.fromisoformat(stamp) if stamp else datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def _digest(run: Run, overrides: dict) -> str:
    payload = json.dumps([run.to_dict(), overrides], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _row(run: Run, digest: str, overrides: dict) -> RunRow:
    origin, source = run.origin or {}, run.source or {}
    branch = overrides.get("branch") or source.get("branch") or "unknown"
    pr = overrides.get("pr") or origin.get("pr")
    if pr is None and (match := _PR_REF.match(branch)):
        pr = int(match.group(1))
    counts = run.counts()["files"]
    row = RunRow(
        run_id=run.run_id, digest=digest, created=_utc_naive(run.created), ingested=_utc_naive(None),
        origin=overrides.get("origin") or origin.get("kind") or "local",
        builder=overrides.get("builder") or origin.get("builder") or origin.get("kind") or "local",
        branch=branch, commit=source.get("commit"), pr=int(pr) if pr is not None else None,
        commit_message=overrides.get("commit_message") or source.get("commit_message"),
        build_url=overrides.get("build_url") or origin.get("url"),
        cpython_version=source.get("cpython_version"), emcc_version=(run.toolchain or {}).get("emcc_version"),
        node_version=(run.node or {}).get("version"), outcome=run.outcome,
        duration=round(sum(s.duration or 0.0 for s in run.stages), 3),
        files_total=counts["total"], files_bad=sum(counts[o] for o in BAD_FILE_OUTCOMES),
        files_crashed=counts["crashed"], files_flaky=counts["flaky"],
        tests_run=run.counts()["tests"]["run"],
        stages=[{"name": s.name, "status": s.status, "duration": s.duration, "returncode": s.returncode,
                 "log": s.log} for s in run.stages],
        artifacts=[{"path": a.path, "size": a.size, "sha256": a.sha256, "url": a.url} for a in run.artifacts],
        errors=list(run.errors),
    )
    for test_file in run.test_files:
        file_row = FileRow(name=test_file.name, outcome=test_file.outcome, duration=test_file.duration,
                           tests_run=test_file.tests_run, failures=test_file.failures,
                           attempts=test_file.attempts, crash=test_file.crash,
                           log_excerpt=test_file.log_excerpt)
        file_row.cases = [CaseRow(name=c.name, outcome=c.outcome, duration=c.duration, message=c.message,
                                  traceback=c.traceback)
                          for c in test_file.cases if c.outcome in STORED_CASE_OUTCOMES]
        row.files.append(file_row)
    return row


def ingest(store: Store, run: Run, **overrides) -> str:
    """Store `run`; "inserted", "updated" (same run_id, newer content) or "unchanged"."""
    overrides = {k: v for k, v in overrides.items() if k in OVERRIDES and v is not None}
    digest = _digest(run, overrides)
    attempt = 0
    while True:
        try:
            with store.writer() as session, session.begin():
                existing = session.scalar(select(RunRow).where(RunRow.run_id == run.run_id))
                if existing is not None and existing.digest == digest:
                    return "unchanged"
                if existing is not None:
                    # A staged build ingests after each stage: the later record replaces the earlier.
                    session.delete(existing)
                    session.flush()
                session.add(_row(run, digest, overrides))
            return "updated" if existing is not None else "inserted"
        except (IntegrityError, StaleDataError):
            attempt += 1
            if attempt == _ATTEMPTS:
                raise


def record_run(results_path: str | Path, db_url: str | None = None, **overrides) -> str:
    """Ingest one results.json into the store at `db_url` (default store when None)."""
    store = Store(db_url)
    try:
        return ingest(store, Run.load(Path(results_path)), **overrides)
    finally:
        store.close()
