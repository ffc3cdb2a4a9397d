"""results.json -> rows, idempotent on the run's run_id.

One path for every run that enters the store: `load` (size limit before reading, strict JSON,
the shared validation, then the result model), `_prepare` (the values a run is stored with
and the store's checks of them, checks.py) and `ingest_many` (any number of runs in one
transaction, three INSERTs per batch). `ingest` (one run), `ingest_paths` (the CLI's batch)
and `record_run` (the master hook, `run`/`test`) all go through them; a file is loaded and
prepared before the store is opened, so a refused file never reaches the database (the
same answer on SQLite and PostgreSQL). After a large batch, and every ANALYZE_EVERY runs,
the planner's statistics are refreshed (ANALYZE): without them SQLite picks the wrong index
on a grown store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import EmscriptenPythonError, ResultsError
from ..results.model import BAD_FILE_OUTCOMES, Run, TestFile
from ..results.validation import Limits, load_validated
from ..testing.runtimes import runtime_label, runtime_slug
from .checks import check_row, pr_number, stored_text
from .migrations import PR_REF
from .models import CaseRow, FileRow, LaneRow, RunRow
from .store import Store

# Passing and skipped cases are implied by their file's counts (see models.py).
STORED_CASE_OUTCOMES = frozenset({"failed", "error", "unexpected-success"})
OVERRIDES = ("builder", "branch", "base_branch", "pr", "commit_message", "build_url", "origin")
# Two writers inserting the same new run_id: the loser gets IntegrityError and, on its
# next attempt, sees the winner's row.
_ATTEMPTS = 5
BATCH = 500              # runs per transaction in a bulk ingest
ANALYZE_EVERY = 2_000    # refresh statistics when the run ids pass a multiple of this...
ANALYZE_BATCH = 200      # ...or after a batch of this many new runs that adds 10% to the store


def load(path: Path, limits: Limits | None = None) -> Run:
    """Read one results.json through the shared validation (size checked before reading;
    types, finite numbers, sizes, a safe run_id): ResultsError naming the file otherwise."""
    try:
        return load_validated(path, limits or Limits())
    except ResultsError as exc:
        text = str(exc)
        raise ResultsError(text if text.startswith(str(path)) else f"{path}: {text}") from None


def _utc_naive(stamp: str | None) -> datetime:
    when = datetime.fromisoformat(stamp) if stamp else datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def _digest(run: Run, overrides: dict) -> str:
    payload = json.dumps([run.to_dict(), overrides], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def pr_and_branch(branch: str, base: str | None, pr: int | None) -> tuple[int | None, str]:
    """(PR number or None, the branch the run is filed under): a PR build (a PR number, or a
    refs/pull/N/… branch) is filed under its base branch when known, else under its ref."""
    if pr is None and isinstance(branch, str) and (match := PR_REF.match(branch)):
        pr = int(match.group(1))
    if pr is None:
        return None, branch
    return pr, base or branch


def _run_values(run: Run, digest: str, overrides: dict) -> dict:
    origin, source = run.origin or {}, run.source or {}
    pr, branch = pr_and_branch(overrides.get("branch") or source.get("branch") or "unknown",
                               overrides.get("base_branch") or origin.get("base_branch") or origin.get("base")
                               or source.get("base_branch"),
                               pr_number(overrides.get("pr"), "--pr") or pr_number(origin.get("pr")))
    counts = run.counts()
    files = counts["files"]
    return dict(
        run_id=run.run_id, digest=digest, created=_utc_naive(run.created), ingested=_utc_naive(None),
        origin=overrides.get("origin") or origin.get("kind") or "local",
        builder=overrides.get("builder") or origin.get("builder") or origin.get("kind") or "local",
        branch=branch, commit=source.get("commit"), pr=pr,
        commit_message=stored_text(overrides.get("commit_message") or source.get("commit_message")),
        build_url=overrides.get("build_url") or origin.get("url"),
        cpython_version=source.get("cpython_version"), emcc_version=(run.toolchain or {}).get("emcc_version"),
        node_version=(run.node or {}).get("version"), outcome=run.outcome,
        duration=round(sum(s.duration or 0.0 for s in run.stages), 3),
        files_total=files["total"], files_bad=sum(files[o] for o in BAD_FILE_OUTCOMES),
        files_crashed=files["crashed"], files_flaky=files["flaky"], tests_run=counts["tests"]["run"],
        stages=[{"name": s.name, "status": s.status, "duration": s.duration, "returncode": s.returncode,
                 "log": stored_text(s.log)} for s in run.stages],
        artifacts=[{"path": a.path, "size": a.size, "sha256": a.sha256, "url": a.url} for a in run.artifacts],
        errors=[stored_text(e) for e in run.errors], pythoninfo=stored_pythoninfo(run.pythoninfo),
        runtimes=stored_runtimes(run, counts),
    )


def _section_outcome(run: Run, section: dict, files: dict) -> str:
    """One runtime's own outcome, by the rules of Run.decide_outcome applied to its section."""
    if run.outcome in ("cancelled", "pending"):
        return run.outcome
    if section.get("error"):
        return "error"
    if not files["total"]:
        return run.outcome if run.outcome == "error" else "pending"
    if any(files[o] for o in BAD_FILE_OUTCOMES):
        return "failure"
    return "warnings" if files["flaky"] else "success"


def stored_runtimes(run: Run, counts: dict) -> list[dict] | None:
    """Each runtime's slug (node-20, node-24, chromium), label, outcome and counts, primary
    first; None for a run whose results name no runtime (one series, as before)."""
    sections = run.sections
    if len(sections) == 1 and not isinstance(sections[0].get("runtime"), dict):
        return None
    found, seen = [], set()
    for section, own in zip(sections, counts["by_runtime"]):
        runtime = section.get("runtime") if isinstance(section.get("runtime"), dict) else {}
        slug = runtime_slug(runtime)[:40]
        if slug in seen:     # two sections of one major: the store keys by slug, the first counts
            continue
        seen.add(slug)
        files = own["files"]
        found.append({"slug": slug, "label": runtime_label(runtime), "outcome": _section_outcome(run, section, files),
                      "files_total": files["total"], "files_bad": sum(files[o] for o in BAD_FILE_OUTCOMES),
                      "files_crashed": files["crashed"], "files_flaky": files["flaky"],
                      "tests_run": own["tests"]["run"]})
    return found


PYTHONINFO_KEYS = 500      # per interpreter, as validation.Limits allows
PYTHONINFO_KEY = 200       # characters of a key
PYTHONINFO_VALUE = 500     # characters of a value


def _plain_text(value, limit: int) -> str:
    return stored_text(str(value)[:limit])


def stored_pythoninfo(pythoninfo) -> dict | None:
    """results.json `pythoninfo` as stored: only "build" and "host", each {"status", "log",
    "info": {str: str}}, at most PYTHONINFO_KEYS keys, keys and values cut (a Run built in
    Python skips the file validation, so the bounds are applied here too). None when empty."""
    stored = {}
    for which in ("build", "host"):
        section = pythoninfo.get(which) if isinstance(pythoninfo, dict) else None
        if not isinstance(section, dict):
            continue
        info = section.get("info") if isinstance(section.get("info"), dict) else {}
        stored[which] = {
            "status": _plain_text(section.get("status") or "unknown", 16),
            "log": _plain_text(section["log"], 300) if section.get("log") else None,
            "info": {_plain_text(k, PYTHONINFO_KEY): _plain_text(v, PYTHONINFO_VALUE)
                     for k, v in list(info.items())[:PYTHONINFO_KEYS]},
        }
    return stored or None


@dataclass
class _Item:
    run: Run
    overrides: dict
    digest: str
    values: dict
    files: list        # (where in results.json, stored name, TestFile)


def stored_files(run: Run) -> list[tuple[str, str, TestFile]]:
    """Every runtime's test files: the primary runtime's under their own names, a further
    runtime's as "<runtime slug>/<name>" (chromium/test_os, node-24/test_os), so each
    runtime's files keep their own history, flaky verdicts and crashes."""
    found = []
    for k, section in enumerate(run.sections):
        prefix = "" if k == 0 else runtime_slug(section.get("runtime")) + "/"
        where = "tests" if k == 0 else f"runtimes[{k - 1}]"
        found += [(f"{where}.files[{i}]", prefix + f.name, f) for i, f in enumerate(section.get("files", []))]
    return found


def _prepare(run: Run, overrides: dict, source: str) -> _Item:
    overrides = {k: v for k, v in overrides.items() if k in OVERRIDES and v is not None}
    digest = _digest(run, overrides)
    try:
        values = _run_values(run, digest, overrides)
    except (ResultsError, TypeError, ValueError) as exc:   # TypeError/ValueError: a Run built in Python
        raise ResultsError(f"{source} cannot be stored: {exc}") from None
    files = stored_files(run)
    check_row(values, files, source)
    return _Item(run, overrides, digest, values, files)


def _insert_lanes(session: Session, items: list[_Item]) -> None:
    lanes = {(i.values["branch"], i.values["builder"]): i.values["origin"] for i in items if i.values["pr"] is None}
    if not lanes:
        return
    dialect = session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert if dialect == "sqlite" else None
    rows = [{"branch": b, "builder": c, "origin": o} for (b, c), o in sorted(lanes.items())]
    if insert_ is None:   # another database: one by one
        known = {tuple(row) for row in session.execute(select(LaneRow.branch, LaneRow.builder)).all()}
        rows = [r for r in rows if (r["branch"], r["builder"]) not in known]
        if rows:
            session.execute(insert(LaneRow), rows)
        return
    session.execute(insert_(LaneRow).on_conflict_do_nothing(index_elements=["branch", "builder"]), rows)


def _insert(session: Session, items: list[_Item]) -> list[int]:
    """All `items` in three INSERTs (runs, files, cases), after the lanes they add; the new run pks.

    Rows are written in run_id order (and lanes in name order), so two writers whose batches
    overlap take their locks in the same order and cannot deadlock."""
    items = sorted(items, key=lambda i: i.run.run_id)
    _insert_lanes(session, items)
    # Core inserts, not ORM objects: a full run has ~500 files, and the unit of work would
    # triple the ingest time (benchmarks/status_store.py).
    run_pks = session.execute(insert(RunRow).returning(RunRow.id, sort_by_parameter_order=True),
                              [i.values for i in items]).scalars().all()
    files = [(run_pk, name, f) for run_pk, item in zip(run_pks, items) for _, name, f in item.files]
    if files:
        file_pks = session.execute(
            insert(FileRow).returning(FileRow.id, sort_by_parameter_order=True),
            [dict(run_pk=run_pk, name=name, outcome=f.outcome, duration=f.duration, tests_run=f.tests_run,
                  failures=f.failures, attempts=f.attempts, crash=stored_text(f.crash),
                  log_excerpt=stored_text(f.log_excerpt))
             for run_pk, name, f in files]).scalars().all()
        cases = [dict(file_pk=file_pk, name=c.name, outcome=c.outcome, duration=c.duration,
                      message=stored_text(c.message), traceback=stored_text(c.traceback))
                 for file_pk, (_, _, test_file) in zip(file_pks, files)
                 for c in test_file.cases if c.outcome in STORED_CASE_OUTCOMES]
        if cases:
            session.execute(insert(CaseRow), cases)
    return run_pks


def _store_batch(session: Session, items: list[_Item]) -> tuple[list[str], list[int]]:
    """(result per item, new run pks) within the caller's transaction."""
    existing = {r.run_id: r for r in session.execute(
        select(RunRow.id, RunRow.run_id, RunRow.digest).where(RunRow.run_id.in_({i.run.run_id for i in items})))}
    results: list[str] = []
    pending: dict[str, _Item] = {}
    replace = []
    for item in items:
        run_id = item.run.run_id
        earlier = pending.get(run_id) or existing.get(run_id)
        if earlier is not None and earlier.digest == item.digest:
            results.append("unchanged")
            continue
        if run_id not in pending and earlier is not None:
            # A staged build ingests after each stage: the later record replaces the earlier;
            # its files and cases go with it (ON DELETE CASCADE).
            replace.append(earlier.id)
        results.append("inserted" if earlier is None else "updated")
        pending[run_id] = item    # the same run twice in one batch: the later one is stored
    if replace:
        session.execute(delete(RunRow).where(RunRow.id.in_(replace)))
    return results, _insert(session, list(pending.values())) if pending else []


def analyze(store: Store) -> None:
    """Fresh planner statistics (SQLite: sampled, so it stays fast on a big store)."""
    with store.engine.execution_options(write=True).begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE runs, test_files, test_cases, lanes")


def ingest_many(store: Store, runs: Sequence[tuple[Run, dict, str]]) -> list[str]:
    """Store (run, overrides, source name) triples in one transaction; a result per run:
    "inserted", "updated" (same run_id, newer content) or "unchanged". ResultsError when a
    run's stored values are not acceptable (nothing of the batch is stored then)."""
    return _store_items(store, [_prepare(run, overrides, source) for run, overrides, source in runs])


def _store_items(store: Store, items: list[_Item]) -> list[str]:
    if not items:
        return []
    attempt = 0
    while True:
        try:
            with store.writer() as session, session.begin():
                results, new_pks = _store_batch(session, items)
            break
        except IntegrityError:
            attempt += 1
            if attempt == _ATTEMPTS:
                raise
    if new_pks and (len(new_pks) >= max(ANALYZE_BATCH, max(new_pks) // 10)
                    or max(new_pks) // ANALYZE_EVERY > (min(new_pks) - 1) // ANALYZE_EVERY):
        analyze(store)
    return results


def ingest(store: Store, run: Run, **overrides) -> str:
    """Store one `run`; "inserted", "updated" (same run_id, newer content) or "unchanged"."""
    return ingest_many(store, [(run, overrides, f"run {run.run_id}")])[0]


@dataclass
class Outcome:
    path: Path
    result: str | None = None         # inserted / updated / unchanged
    run_id: str | None = None
    error: EmscriptenPythonError | None = None


def ingest_paths(open_store: Callable[[], Store], paths: Iterable[Path], *, limits: Limits | None = None,
                 overrides: dict | None = None, batch: int = BATCH,
                 report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Store every good file of `paths`, BATCH files per transaction; a bad file (ResultsError
    from the validation or the store's checks) is reported and skipped, the others are
    stored. `open_store` is called once, when the first good file is ready: files that are
    all refused leave no store behind. Errors of the store itself propagate."""
    limits, overrides = limits or Limits(), overrides or {}
    outcomes: list[Outcome] = []
    chunk: list[tuple[Outcome, _Item]] = []
    store: Store | None = None

    def flush() -> None:
        nonlocal store
        if not chunk:
            return
        store = store or open_store()
        results = _store_items(store, [item for _, item in chunk])
        for (outcome, item), result in zip(chunk, results):
            outcome.result, outcome.run_id = result, item.run.run_id
            if report:
                report(outcome)
        chunk.clear()

    for path in paths:
        outcome = Outcome(Path(path))
        outcomes.append(outcome)
        try:
            chunk.append((outcome, _prepare(load(outcome.path, limits), overrides, str(outcome.path))))
        except ResultsError as exc:
            outcome.error = exc
            if report:
                report(outcome)
            continue
        if len(chunk) >= batch:
            flush()
    flush()
    return outcomes


def record_run(results_path: str | Path, db_url: str | None = None, **overrides) -> str:
    """Ingest one results.json into the store at `db_url` (default store when None); the file
    is refused (ResultsError) before the store is opened."""
    item = _prepare(load(Path(results_path)), overrides, str(results_path))
    store = Store(db_url)
    try:
        return _store_items(store, [item])[0]
    finally:
        store.close()
