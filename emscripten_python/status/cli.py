"""`emscripten-python status ingest|serve|export` (registered by the core CLI)."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

# The core CLI imports this module on every command and skips it when the import fails, so
# `status` appears only with the `status` extra installed. find_spec rather than imports:
# `run` and the other stages should not pay for loading Flask and SQLAlchemy.
for _dependency in ("sqlalchemy", "flask"):
    if importlib.util.find_spec(_dependency) is None:
        raise ModuleNotFoundError(f"No module named {_dependency!r}", name=_dependency)


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL",
                        help="SQLAlchemy URL of the store, e.g. postgresql+psycopg://user@host/db "
                             "(default: $EMSCRIPTEN_PYTHON_STATUS_DB, else a SQLite file in the "
                             "user data directory)")


def register(subparsers) -> None:
    status = subparsers.add_parser("status", help="results store and status page (Tier 3 tracking)")
    sub = status.add_subparsers(dest="status_command", required=True)

    ingest = sub.add_parser("ingest", help="store results.json files (idempotent on run_id)")
    _db(ingest)
    ingest.add_argument("results", nargs="+", type=Path, help="results.json file(s)")
    ingest.add_argument("--builder", help="builder / job name (default: origin.builder)")
    ingest.add_argument("--branch", help="branch (default: source.branch)")
    ingest.add_argument("--pr", type=int, help="pull request number")
    ingest.add_argument("--commit-message", help="commit message shown with the run")
    ingest.add_argument("--build-url", help="link to the build (default: origin.url)")
    ingest.add_argument("--origin", choices=["local", "buildbot", "github-actions"],
                        help="who ran it (default: origin.kind)")
    ingest.set_defaults(func=_ingest)

    serve = sub.add_parser("serve", help="serve the status page (read-only WSGI app)")
    _db(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.set_defaults(func=_serve)

    export = sub.add_parser("export", help="write the status page as static HTML + JSON")
    _db(export)
    export.add_argument("dir", type=Path)
    export.set_defaults(func=_export)


def _ingest(args: argparse.Namespace) -> int:
    from ..results import Run
    from .ingest import ingest
    from .store import Store

    store = Store(args.db)
    try:
        for path in args.results:
            run = Run.load(path)
            result = ingest(store, run, builder=args.builder, branch=args.branch, pr=args.pr,
                            commit_message=args.commit_message, build_url=args.build_url, origin=args.origin)
            print(f"{result}: {run.run_id} from {path} -> {store.safe_url}")
    finally:
        store.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from .web import create_app

    server = make_server(args.host, args.port, create_app(args.db), threaded=True)
    print(f"serving the status page on http://{args.host}:{server.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export

    count = export(args.db, args.dir)
    print(f"wrote {count} files to {args.dir}")
    return 0
