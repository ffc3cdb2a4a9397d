"""Recorded bisections: a bisect.json becomes a row of `bisections`; the pages read them back.

`record_bisection(path, db_url, **overrides)` is the one way in: `status record-bisect`,
`bisect --record` and the Buildbot bisect builder's reporter (steps/status_report.py) all
call it. A bisect.json is an artifact (a worker, or a fork's workflow, wrote it), so it is
read through the shared validation first (results/validation.py ``load_bisect``: its size
before reading, strict JSON, every type, commits as hex shas, test files as regrtest names)
and then the store's own checks (checks.py: column lengths, a branch safe as a URL path,
a builder without direction controls, as for runs), all before the store is opened: a
refused file is one ResultsError (exit 40) and nothing is written. Only a finished
bisection is recorded: ``found`` (its first bad commit) or ``inconclusive`` (the range of
suspects that skipped commits left).

It is filed under a builder and a branch as a run is (bisect.json ``origin``, which the
overrides replace, else origin ``local``, builder ``local``, branch ``unknown``), and
under each of its test files: the test page shows the bisections of its file, the branch
page the branch's newest ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import ResultsError
from ..results.validation import BISECT_LIMITS, SAFE_ID, Limits, load_bisect
from .checks import INT_MAX, LENGTHS, check_row
from .models import BisectionRow, BisectionTestRow, RunRow
from .errors import StatusError
from .store import Store, one_line

RECORDED_STATES = ("found", "inconclusive")
OVERRIDES = ("builder", "branch", "origin", "build_url")
SHOWN = 10       # bisections on a test page and on a branch page


def _utc_naive(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    when = datetime.fromisoformat(stamp)
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _commit(described: dict) -> dict:
    return {"commit": described["commit"], "subject": described["subject"], "author": described.get("author")}


def stored_values(data: dict, overrides: dict, source: str) -> tuple[dict, list[str]]:
    """(the row's values, its test files) for a validated bisect.json; ResultsError naming
    `source` when the store cannot take it. The values hold no time of recording, so their
    digest is the same every time the same bisection is recorded."""
    overrides = {k: v for k, v in overrides.items() if k in OVERRIDES and v is not None}
    if data["state"] not in RECORDED_STATES:
        raise ResultsError(f"{source}: the bisection is {data['state']!r}; only a finished one "
                           f"({' or '.join(RECORDED_STATES)}) is recorded")
    first_bad = data["first_bad"]
    from_run = (data.get("refs") or {}).get("from_run")
    values = dict(
        started=_utc_naive(data.get("started")), **filing(data.get("origin") or {}, overrides, source),
        from_run=from_run,
        state=data["state"], failure=data.get("failure"),
        good_commit=data["good"]["commit"], bad_commit=data["bad"]["commit"],
        first_bad_commit=first_bad["commit"] if first_bad else None,
        first_bad_subject=first_bad["subject"] if first_bad else None,
        first_bad_author=first_bad.get("author") if first_bad else None,
        suspects=[_commit(s) for s in data.get("suspects", [])] if data["state"] == "inconclusive" else [],
        commits=data["commits"], builds=data["builds"], steps=len(data.get("steps", [])),
        duration=round(float(data["duration"]), 3),
    )
    tests = sorted(set(data["tests"]))
    problems = [f"tests: {name[:60]!r} is longer than the store's limit of {LENGTHS['file']}"
                for name in tests if len(name) > LENGTHS["file"]]
    problems += [f"{key}: {values[key]} is more than the store's limit of {INT_MAX}"   # INTEGER columns
                 for key in ("commits", "builds", "steps") if values[key] > INT_MAX]
    if from_run is not None and not (len(from_run) <= LENGTHS["run_id"] and SAFE_ID.match(from_run)):
        problems.append(f"refs.from_run: {from_run[:60]!r} is not a run id")
    if problems:
        raise ResultsError(f"{source} cannot be stored: " + "; ".join(problems))
    return values, tests


def filing(origin: dict, overrides: dict, source: str) -> dict:
    """Who ran the bisection and where it is filed (origin, builder, branch, build_url): the
    overrides, else bisect.json's `origin`, else the defaults a run has. Checked by the rules
    of a run's builder, branch and origin (lengths, a branch safe as a URL path): ResultsError."""
    values = dict(origin=overrides.get("origin") or origin.get("kind") or "local",
                  builder=overrides.get("builder") or origin.get("builder") or origin.get("kind") or "local",
                  branch=overrides.get("branch") or origin.get("branch") or "unknown",
                  build_url=overrides.get("build_url") or origin.get("url"))
    check_row(values, [], source)
    return values


def _digest(values: dict, tests: list[str]) -> str:
    payload = json.dumps([values, tests], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def store_bisection(store: Store, values: dict, tests: list[str]) -> str:
    """Write one bisection: "inserted", or "unchanged" when the same one is stored already."""
    digest = _digest(values, tests)
    for attempt in range(2):
        try:
            with store.writer() as session, session.begin():
                if session.scalar(select(BisectionRow.id).where(BisectionRow.digest == digest)) is not None:
                    return "unchanged"
                recorded = datetime.now(timezone.utc).replace(tzinfo=None)
                pk = session.execute(insert(BisectionRow).returning(BisectionRow.id),
                                     [{**values, "digest": digest, "recorded": recorded}]).scalar_one()
                session.execute(insert(BisectionTestRow), [{"bisection_pk": pk, "name": name} for name in tests])
            return "inserted"
        except IntegrityError:
            if attempt:      # two writers recorded the same bisection: the other one's row is it
                raise
    raise AssertionError("unreachable")


def load(path: Path, overrides: dict | None = None, limits: Limits = BISECT_LIMITS) -> tuple[dict, list[str]]:
    """Read and check a bisect.json (no store involved): the values and test files to store."""
    data = load_bisect(Path(path), limits)
    return stored_values(data, overrides or {}, str(path))


@dataclass(frozen=True)
class Recorded:
    result: str          # inserted / unchanged
    values: dict
    tests: list[str]
    store: str           # the store's URL, without a password

    def describe(self) -> str:
        answer = self.values["first_bad_commit"] or f"one of {len(self.values['suspects'])} commits"
        return (f"{self.result}: bisection of {', '.join(self.tests)} on {self.values['branch']} / "
                f"{self.values['builder']} ({answer}) -> {self.store}")


def record_bisection(path: str | Path, db_url: str | None = None, **overrides) -> Recorded:
    """Record the bisect.json at `path` in the store at `db_url` (default store when None).
    The file is checked before the store is opened (ResultsError, exit 40, nothing written);
    a store that fails is StatusError (exit 51)."""
    values, tests = load(Path(path), overrides)
    store = Store(db_url)
    try:
        result = store_bisection(store, values, tests)
    except SQLAlchemyError as exc:
        raise StatusError(f"status store {store.safe_url} failed while storing: {one_line(exc)}") from None
    finally:
        store.close()
    return Recorded(result, values, tests, store.safe_url)


# -- what the pages read ------------------------------------------------------------------

def _file_names(test: str) -> list[str]:
    """The test file names `test` may be or belong to: itself and every dotted prefix of it,
    with and without regrtest's "test." package (test.test_os.T.test_x -> test_os)."""
    parts = test.split(".")[:12]     # a case id has a few dots; a longer name is no file's
    names = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return sorted(names | {n.removeprefix("test.") for n in names if n.startswith("test.")})


def for_test(session: Session, test: str, limit: int = SHOWN) -> list[BisectionRow]:
    """The newest bisections that ran the file `test` is (or the file a test case is in)."""
    query = (select(BisectionRow).join(BisectionTestRow, BisectionTestRow.bisection_pk == BisectionRow.id)
             .where(BisectionTestRow.name.in_(_file_names(test)))
             .order_by(BisectionRow.recorded.desc(), BisectionRow.id.desc()).limit(limit))
    return list(dict.fromkeys(session.scalars(query)))


def for_branch(session: Session, branch: str, limit: int = SHOWN) -> list[BisectionRow]:
    query = (select(BisectionRow).where(BisectionRow.branch == branch)
             .order_by(BisectionRow.recorded.desc(), BisectionRow.id.desc()).limit(limit))
    return list(session.scalars(query))


def stored_runs(session: Session, rows: list[BisectionRow]) -> set[str]:
    """Which of the rows' `from_run` ids are runs of the store (only those become links)."""
    ids = {r.from_run for r in rows if r.from_run}
    return set(session.scalars(select(RunRow.run_id).where(RunRow.run_id.in_(ids)))) if ids else set()


def bisection_json(row: BisectionRow) -> dict:
    def stamp(when):
        return when and when.isoformat(timespec="seconds") + "Z"
    first_bad = row.first_bad_commit and {"commit": row.first_bad_commit, "subject": row.first_bad_subject,
                                          "author": row.first_bad_author}
    return {"state": row.state, "tests": [t.name for t in row.tests], "builder": row.builder, "branch": row.branch,
            "origin": row.origin, "build_url": row.build_url, "from_run": row.from_run, "failure": row.failure,
            "good": row.good_commit, "bad": row.bad_commit, "first_bad": first_bad, "suspects": row.suspects,
            "commits": row.commits, "builds": row.builds, "steps": row.steps, "duration": row.duration,
            "started": stamp(row.started), "recorded": stamp(row.recorded)}
