"""Tables of the status store: one row per run, per test file, per non-passing test case.

Passing test cases are not stored: a full regrtest run has ~40,000 of them and nothing on
the page needs them (the file's outcome and counts say they passed).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied: Mapped[datetime] = mapped_column(DateTime)


class LaneRow(Base):
    """One row per branch × builder that has branch builds: the overview's cells, read without
    a DISTINCT over every run. Written by ingest (insert, or nothing when it is known)."""

    __tablename__ = "lanes"
    branch: Mapped[str] = mapped_column(String(200), primary_key=True)
    builder: Mapped[str] = mapped_column(String(200), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32))     # of the first run seen: local / buildbot / github-actions


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64))     # of the ingested results.json: re-ingest is a no-op
    created: Mapped[datetime] = mapped_column(DateTime)  # naive UTC, so SQLite and PostgreSQL agree
    ingested: Mapped[datetime] = mapped_column(DateTime)
    origin: Mapped[str] = mapped_column(String(32))     # local / buildbot / github-actions
    builder: Mapped[str] = mapped_column(String(200))
    branch: Mapped[str] = mapped_column(String(200))
    commit: Mapped[str | None] = mapped_column(String(64))
    commit_message: Mapped[str | None] = mapped_column(Text)
    # A PR build: its PR number, and `branch` is the PR's base branch (or its ref when the
    # base is not known). Never part of the grid, the PEP 11 verdict or a badge.
    pr: Mapped[int | None] = mapped_column(Integer)
    build_url: Mapped[str | None] = mapped_column(Text)
    cpython_version: Mapped[str | None] = mapped_column(String(32))
    emcc_version: Mapped[str | None] = mapped_column(String(32))
    node_version: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    duration: Mapped[float] = mapped_column(Float)       # sum of the stage durations, seconds
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_bad: Mapped[int] = mapped_column(Integer, default=0)
    files_crashed: Mapped[int] = mapped_column(Integer, default=0)
    files_flaky: Mapped[int] = mapped_column(Integer, default=0)
    tests_run: Mapped[int] = mapped_column(Integer, default=0)
    stages: Mapped[list] = mapped_column(JSON)           # [{name, status, duration, returncode, log}]
    artifacts: Mapped[list] = mapped_column(JSON)        # [{path, size, sha256, url}]
    errors: Mapped[list] = mapped_column(JSON)
    # One entry per runtime the run was tested under (results.json `tests` + `runtimes`),
    # primary first: {"slug", "label", "outcome", "files_total", "files_bad", "files_crashed",
    # "files_flaky", "tests_run"} (ingest.stored_runtimes). A lane's runs carry it, so each
    # runtime of a builder has its own series (insight.Health.by_runtime). NULL before schema 4
    # and for a run whose results name no runtime.
    runtimes: Mapped[list | None] = mapped_column(JSON)
    # results.json `pythoninfo` ({"build"|"host": {"status", "log", "info": {key: value}}}),
    # bounded at ingest (ingest.stored_pythoninfo). Deferred: only the run page and api/run
    # read it, never a list of runs. NULL for runs stored before schema 3.
    pythoninfo: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    # Read-only relationships for the pages; ingest writes with Core inserts, and deleting a
    # run removes its files and cases through ON DELETE CASCADE.
    files: Mapped[list[FileRow]] = relationship(back_populates="run", order_by="FileRow.id", viewonly=True)

    __table_args__ = (
        # The overview, branch, flaky and PEP 11 pages read "the last N branch builds of
        # branch × builder": a partial index on branch builds only (PR builds are kept apart,
        # by PR). tests/status/test_plans.py checks both databases' plans use these. It ends
        # in id so the lane pager's keyset seek on (created, id) is an index range (schema 5).
        Index("ix_runs_grid", "branch", "builder", "created", "id",
              sqlite_where=text("pr IS NULL"), postgresql_where=text("pr IS NULL")),
        Index("ix_runs_pr", "pr", "created",
              sqlite_where=text("pr IS NOT NULL"), postgresql_where=text("pr IS NOT NULL")),
        # The overview's newest pull requests: PR builds by time, without sorting them all.
        Index("ix_runs_pr_created", "created",
              sqlite_where=text("pr IS NOT NULL"), postgresql_where=text("pr IS NOT NULL")),
        Index("ix_runs_created", "created"),
    )


class FileRow(Base):
    __tablename__ = "test_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(16))
    duration: Mapped[float | None] = mapped_column(Float)
    tests_run: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    crash: Mapped[str | None] = mapped_column(Text)
    log_excerpt: Mapped[str | None] = mapped_column(Text)
    run: Mapped[RunRow] = relationship(back_populates="files", viewonly=True)
    # (run_pk, outcome): a run's files, the flaky page's "bad files of these runs".
    # (outcome, run_pk): the crash lists, "the newest crashed files" (rare among ~500 a run).
    # Not (outcome) alone: with sampled statistics SQLite took it for the flaky page and read
    # every bad file of the store (260 ms at 100k runs instead of 2 ms); with run_pk after
    # it, both IN lists are index seeks.
    __table_args__ = (Index("ix_test_files_run_outcome", "run_pk", "outcome"),
                      Index("ix_test_files_outcome_run", "outcome", "run_pk"))
    cases: Mapped[list[CaseRow]] = relationship(back_populates="file", order_by="CaseRow.id", viewonly=True)


class CaseRow(Base):
    __tablename__ = "test_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_pk: Mapped[int] = mapped_column(ForeignKey("test_files.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(24))
    duration: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    file: Mapped[FileRow] = relationship(back_populates="cases", viewonly=True)


class BisectionRow(Base):
    """One finished bisection (`bisect`'s bisect.json, recorded by `status record-bisect`):
    its answer and where it belongs, filed under builder and branch as runs are. Written
    by status/bisections.py; unique on the digest of what it holds, so recording the same
    bisect.json again is a no-op. Every text (subjects, authors) is the repository's, shown
    escaped."""

    __tablename__ = "bisections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    recorded: Mapped[datetime] = mapped_column(DateTime)          # naive UTC, as runs.created
    started: Mapped[datetime | None] = mapped_column(DateTime)    # bisect.json `started`; NULL when it has none
    origin: Mapped[str] = mapped_column(String(32))
    builder: Mapped[str] = mapped_column(String(200))
    branch: Mapped[str] = mapped_column(String(200))
    build_url: Mapped[str | None] = mapped_column(Text)
    from_run: Mapped[str | None] = mapped_column(String(64))      # the run whose range was bisected (--from-run)
    state: Mapped[str] = mapped_column(String(16))                # found / inconclusive
    failure: Mapped[str | None] = mapped_column(String(16))       # fail / crash
    good_commit: Mapped[str] = mapped_column(String(64))
    bad_commit: Mapped[str] = mapped_column(String(64))
    # The first bad commit when found; when inconclusive, NULL and `suspects` holds the range.
    first_bad_commit: Mapped[str | None] = mapped_column(String(64))
    first_bad_subject: Mapped[str | None] = mapped_column(Text)
    first_bad_author: Mapped[str | None] = mapped_column(Text)
    suspects: Mapped[list] = mapped_column(JSON)                  # [{commit, subject, author}], oldest first
    commits: Mapped[int] = mapped_column(Integer)                 # after GOOD up to BAD
    builds: Mapped[int] = mapped_column(Integer)
    steps: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float] = mapped_column(Float)
    tests: Mapped[list[BisectionTestRow]] = relationship(order_by="BisectionTestRow.name", viewonly=True,
                                                         lazy="selectin")
    # The branch page: a branch's newest bisections.
    __table_args__ = (Index("ix_bisections_branch", "branch", "recorded"),)


class BisectionTestRow(Base):
    """The test files a bisection ran: the test page finds its bisections by name."""

    __tablename__ = "bisection_tests"
    bisection_pk: Mapped[int] = mapped_column(ForeignKey("bisections.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    __table_args__ = (Index("ix_bisection_tests_name", "name", "bisection_pk"),)
