"""Tier 3 status tracking: a results store (SQLite or PostgreSQL) and the maintainers' status page.

`create_app(db_url)` is the WSGI app (Buildbot's wsgi-dashboards plugin mounts it);
`record_run(results_path, db_url)` stores one results.json.
"""

__all__ = ["create_app", "record_run"]


def __getattr__(name: str):
    # Lazy: the core CLI imports status.cli (and so this package) on every command, and
    # should not load Flask and SQLAlchemy for `run`.
    if name == "create_app":
        from .web import create_app
        return create_app
    if name == "record_run":
        from .ingest import record_run
        return record_run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
