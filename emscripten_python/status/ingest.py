"""results.json -> rows, idempotent on the run's run_id."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..results import BAD_FILE_OUTCOMES, Run
from .models import CaseRow, FileRow, RunRow
from .store import Store

# Passing and skipped cases are implied by their file's counts (see models.py).
STORED_CASE_OUTCOMES = frozenset({"failed", "error", "unexpected-success"})
OVERRIDES = ("builder", "branch", "pr", "commit_message", "build_url", "origin")
_PR_REF = re.compile(r"^refs/pull/(\d+)/")
# Two writers inserting the same new run_id: the loser gets IntegrityError and, on its
# next attempt, sees the winner's row.
_ATTEMPTS = 3


def _utc_naive(stamp: str | None) -> datetime:
    when = datetime.fromisoformat(stamp) if stamp else datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def _digest(run: Run, overrides: dict) -> str:
    payload = json.dumps([run.to_dict(), overrides], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _run_values(run: Run, digest: str, overrides: dict) -> dict:
    origin, source = run.origin or {}, run.source or {}
    branch = overrides.get("branch") or source.get("branch") or "unknown"
    pr = overrides.get("pr") or origin.get("pr")
    if pr is None and (match := _PR_REF.match(branch)):
        pr = int(match.group(1))
    counts = run.counts()
    files = counts["files"]
    return dict(
        run_id=run.run_id, digest=digest, created=_utc_naive(run.created), ingested=_utc_naive(None),
        origin=overrides.get("origin") or origin.get("kind") or "local",
        builder=overrides.get("builder") or origin.get("builder") or origin.get("kind") or "local",
        branch=branch, commit=source.get("commit"), pr=int(pr) if pr is not None else None,
        commit_message=overrides.get("commit_message") or source.get("commit_message"),
        build_url=overrides.get("build_url") or origin.get("url"),
        cpython_version=source.get("cpython_version"), emcc_version=(run.toolchain or {}).get("emcc_version"),
        node_version=(run.node or {}).get("version"), outcome=run.outcome,
        duration=round(sum(s.duration or 0.0 for s in run.stages), 3),
        files_total=files["total"], files_bad=sum(files[o] for o in BAD_FILE_OUTCOMES),
        files_crashed=files["crashed"], files_flaky=files["flaky"], tests_run=counts["tests"]["run"],
        stages=[{"name": s.name, "status": s.status, "duration": s.duration, "returncode": s.returncode,
                 "log": s.log} for s in run.stages],
        artifacts=[{"path": a.path, "size": a.size, "sha256": a.sha256, "url": a.url} for a in run.artifacts],
        errors=list(run.errors),
    )


def _insert(session: Session, run: Run, digest: str, overrides: dict) -> None:
    # Core inserts, not ORM objects: a full run has ~500 files, and the unit of work would
    # triple the ingest time (benchmarks/status_store.py).
    run_pk = session.execute(insert(RunRow).values(_run_values(run, digest, overrides))
                             .returning(RunRow.id)).scalar_one()
    if not run.test_files:
        return
    file_pks = session.execute(
        insert(FileRow).returning(FileRow.id, sort_by_parameter_order=True),
        [dict(run_pk=run_pk, name=f.name, outcome=f.outcome, duration=f.duration, tests_run=f.tests_run,
              failures=f.failures, attempts=f.attempts, crash=f.crash, log_excerpt=f.log_excerpt)
         for f in run.test_files]).scalars().all()
    cases = [dict(file_pk=file_pk, name=c.name, outcome=c.outcome, duration=c.duration, message=c.message,
                  traceback=c.traceback)
             for file_pk, test_file in zip(file_pks, run.test_files)
             for c in test_file.cases if c.outcome in STORED_CASE_OUTCOMES]
    if cases:
        session.execute(insert(CaseRow), cases)


def ingest(store: Store, run: Run, **overrides) -> str:
    """Store `run`; "inserted", "updated" (same run_id, newer content) or "unchanged"."""
    overrides = {k: v for k, v in overrides.items() if k in OVERRIDES and v is not None}
    digest = _digest(run, overrides)
    attempt = 0
    while True:
        try:
            with store.writer() as session, session.begin():
                existing = session.execute(select(RunRow.id, RunRow.digest)
                                           .where(RunRow.run_id == run.run_id)).first()
                if existing is not None and existing.digest == digest:
                    return "unchanged"
                if existing is not None:
                    # A staged build ingests after each stage: the later record replaces the
                    # earlier; its files and cases go with it (ON DELETE CASCADE).
                    session.execute(delete(RunRow).where(RunRow.id == existing.id))
                _insert(session, run, digest, overrides)
            return "updated" if existing is not None else "inserted"
        except IntegrityError:
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
