"""`bisect --from-run RUN_ID`: the range and the test files from a run in the status store.

BAD is the run's commit; the test files are those that failed or crashed in it (or --tests);
GOOD is the oldest of their last passes before the run, on the run's builder and branch (the
per-test history the status pages show, status/history.py). Needs the status extra.
"""

from __future__ import annotations

from ..errors import BisectError, StatusStoreError


def range_from_run(run_id: str, db: str | None, tests: list[str] | None) -> tuple[str, str, list[str], dict]:
    """(GOOD commit, BAD commit, test files, what was read: builder, branch, run)."""
    try:
        from ..status import history
        from ..status.store import Store
    except ImportError as exc:
        raise StatusStoreError(f"--from-run needs the status store (pip install 'emscripten-python[status]'): "
                               f"{exc}") from None
    store = Store(db)
    try:
        with store.reader() as session:
            row = history.find_run(session, run_id)
            if row is None:
                raise BisectError(f"--from-run {run_id!r}: no such run in the status store {store.safe_url}")
            if row.pr is not None or not row.commit:
                raise BisectError(f"--from-run {run_id!r}: " + ("a pull request's run; give a branch build's run"
                                                                if row.pr is not None else "the run has no commit"))
            run = history.run_from_row(session, row)
            names = tests or [f.name for f in run.test_files if f.outcome in history.BAD]
            if not names:
                raise BisectError(f"--from-run {run_id!r}: no test file failed in that run: nothing to bisect")
            passes = [_last_pass(history.test_history(session, name, builder=row.builder, branch=row.branch),
                                 row.created, name) for name in names]
    finally:
        store.close()
    good = min(passes, key=lambda entry: entry["created"])
    return good["commit"], row.commit, names, {"builder": row.builder, "branch": row.branch, "run": row.run_id}


def _last_pass(test_history, before, name: str) -> dict:
    """The newest run at or before `before` where the file passed (the history is newest first)."""
    from ..status.history import PASSING
    for entry in test_history.runs:
        if entry["created"] <= before and entry["state"] in PASSING and entry["commit"]:
            return entry
    raise BisectError(f"--from-run: {name} has not passed on {test_history.builder} / {test_history.branch} "
                      "before that run in the status store: give --good")
