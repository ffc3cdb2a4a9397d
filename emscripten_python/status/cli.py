"""`emscripten-python status ingest|record-bisect|serve|export` (registered by the core CLI)."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

# The core CLI imports this module on every command and skips it when the import fails, so
# `status` appears only with the `status` extra installed. find_spec rather than imports:
# `run` and the other stages should not pay for loading Flask and SQLAlchemy.
for _dependency in ("sqlalchemy", "flask"):
    if importlib.util.find_spec(_dependency) is None:
        raise ModuleNotFoundError(f"No module named {_dependency!r}", name=_dependency)

from ..options import jobs  # noqa: E402  (no third-party import)
from ..results.validation import Limits  # noqa: E402


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL",
                        help="SQLAlchemy URL of the store, e.g. postgresql+psycopg://user@host/db "
                             "(default: $EMSCRIPTEN_PYTHON_STATUS_DB, else a SQLite file in the "
                             "user data directory)")


def _tier3(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tier3-builder", action="append", metavar="NAME", dest="tier3_builders",
                        help="a builder whose branch builds decide the PEP 11 verdict and the badges "
                             "(repeat for more; default: $EMSCRIPTEN_PYTHON_TIER3_BUILDERS, comma-separated, "
                             "else every builder whose runs come from Buildbot)")


def register(subparsers) -> None:
    status = subparsers.add_parser("status", help="results store and status page (Tier 3 tracking)")
    sub = status.add_subparsers(dest="status_command", required=True)

    ingest = sub.add_parser("ingest", help="store results.json files (idempotent on run_id); every good "
                                           "file is stored, every bad one reported (exit 40)")
    _db(ingest)
    ingest.add_argument("results", nargs="+", type=Path, help="results.json file(s)")
    ingest.add_argument("--builder", help="builder / job name (default: origin.builder)")
    ingest.add_argument("--branch", help="branch (default: source.branch)")
    ingest.add_argument("--pr", type=_positive, help="pull request number: the run is a PR build")
    ingest.add_argument("--base-branch", help="a PR build's base branch (default: origin.base_branch)")
    ingest.add_argument("--commit-message", help="commit message shown with the run")
    ingest.add_argument("--build-url", help="link to the build (default: origin.url)")
    ingest.add_argument("--origin", choices=["local", "buildbot", "github-actions"],
                        help="who ran it (default: origin.kind)")
    defaults = Limits()   # the shared validation's (emscripten_python.results.validation)
    ingest.add_argument("--max-bytes", type=_positive,
                        help=f"largest results.json accepted, checked before reading (default: {defaults.max_file_bytes})")
    ingest.add_argument("--max-files", type=_positive,
                        help=f"most test files in one run (default: {defaults.max_files})")
    ingest.add_argument("--max-text", type=_positive,
                        help=f"longest crash text, traceback, message or log excerpt, in characters "
                             f"(default: {defaults.max_text})")
    ingest.set_defaults(func=_ingest)

    bisect = sub.add_parser("record-bisect", help="record a finished bisection (a bisect.json of `bisect`): "
                                                  "the test and branch pages show its culprit; bad input exit 40")
    _db(bisect)
    bisect.add_argument("bisect_json", type=Path, metavar="BISECT_JSON",
                        help="the bisect.json (or the directory holding it) of a found or inconclusive bisection")
    bisect.add_argument("--builder", help="builder it is filed under (default: origin.builder of bisect.json)")
    bisect.add_argument("--branch", help="branch it is filed under (default: origin.branch of bisect.json)")
    bisect.add_argument("--build-url", help="link to the bisection's build (default: origin.url)")
    bisect.add_argument("--origin", choices=["local", "buildbot", "github-actions"],
                        help="who ran it (default: origin.kind)")
    bisect.set_defaults(func=_record_bisect)

    serve = sub.add_parser("serve", help="serve the status page (read-only WSGI app on waitress)")
    _db(serve)
    _tier3(serve)
    serve.add_argument("--host", type=_host, default="127.0.0.1",
                       help="address to listen on, a name that resolves (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8050,
                       help="0 to 65535; 0 lets the system choose (default: %(default)s)")
    serve.add_argument("--threads", type=jobs, default=8, help="worker threads, 1 to 1024 (default: %(default)s)")
    serve.set_defaults(func=_serve)

    export = sub.add_parser("export", help="write the status page as static HTML + JSON")
    _db(export)
    _tier3(export)
    export.add_argument("dir", type=_export_dir, help="directory to write the site into (made when missing)")
    export.set_defaults(func=_export)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _port(text: str) -> int:
    """A TCP port: waitress would take 70000 as 4464 (modulo 65536) and -5 as a traceback."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0 to 65535)")
    return value


def _host(text: str) -> str:
    """An address to listen on, resolved now: a name that does not resolve is refused before
    the store is opened, not a traceback from waitress after."""
    import socket

    try:
        socket.getaddrinfo(text, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an address to listen on ({exc})") from None
    return text


def _export_dir(text: str) -> Path:
    """The export's directory: an existing directory, or a path where one will be made."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    return path


def _ingest(args: argparse.Namespace) -> int:
    """Exit 0 when every file was stored; 40 when any was refused (each is named on stderr,
    every other file is stored; the store is opened only for a good file); 51 when the
    store itself is unusable."""
    import dataclasses
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from ..errors import ResultsError
    from ..untrusted import actions_safe
    from .errors import StatusError
    from .ingest import ingest_paths
    from .store import Store, default_url, one_line, safe_url

    given = {"max_file_bytes": args.max_bytes, "max_files": args.max_files, "max_text": args.max_text}
    limits = dataclasses.replace(Limits(), **{k: v for k, v in given.items() if v is not None})
    overrides = dict(builder=args.builder, branch=args.branch, base_branch=args.base_branch, pr=args.pr,
                     commit_message=args.commit_message, build_url=args.build_url, origin=args.origin)
    url = args.db or default_url()
    opened: list[Store] = []    # opened by ingest_paths when the first good file is ready

    def open_store() -> Store:
        opened.append(Store(url))
        return opened[-1]

    def report(outcome) -> None:
        # A refusal lists each problem on a line of its own; what the file said is quoted in
        # them, so no line may start as a workflow command an Actions runner would run.
        if outcome.error is not None:
            print(f"error: {actions_safe(outcome.error, multiline=True)}", file=sys.stderr)
        else:
            print(actions_safe(f"{outcome.result}: {outcome.run_id} from {outcome.path} -> {safe_url(url)}"),
                  flush=True)

    try:
        outcomes = ingest_paths(open_store, args.results, limits=limits, overrides=overrides, report=report)
    except SQLAlchemyError as exc:   # the database went away or refused a write: the store's problem
        raise StatusError(f"status store {safe_url(url)} failed while storing: {one_line(exc)}") from None
    finally:
        for store in opened:
            store.close()
    bad = [o for o in outcomes if o.error is not None]
    if bad:
        raise ResultsError(f"{len(bad)} of {len(outcomes)} results.json files refused (named above); "
                           f"the other {len(outcomes) - len(bad)} are stored")
    return 0


def _record_bisect(args: argparse.Namespace) -> int:
    """Exit 0 when stored (or stored already); 40 when the file is refused, before the store
    is opened, nothing written; 51 when the store itself is unusable."""
    from ..untrusted import actions_safe
    from .bisections import record_bisection

    recorded = record_bisection(args.bisect_json, args.db, builder=args.builder, branch=args.branch,
                                build_url=args.build_url, origin=args.origin)
    print(actions_safe(f"{recorded.describe()} (from {args.bisect_json})"), flush=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from ..errors import UsageError
    from .web import create_app

    app = create_app(args.db, args.tier3_builders)
    # waitress: a production WSGI server in pure Python (no compiler, any platform); the same
    # app Buildbot's dashboard mounts.
    try:
        server = create_server(app, host=args.host, port=args.port, threads=args.threads)
    except (OSError, ValueError) as exc:   # the port is taken, or the address is not this machine's
        app.extensions["emscripten_python_status"].close()
        raise UsageError(f"cannot listen on {args.host} port {args.port}: {exc}") from None
    print(f"serving the status page on http://{args.host}:{server.effective_port}/ (waitress)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from .export import export

    # Before the store is opened, and without making anything (a refused store leaves no
    # directory behind): the directory exists, or its nearest existing parent is a
    # directory this user may write in.
    parent = args.dir
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    problem = ("Not a directory" if not parent.is_dir()
               else "Permission denied" if not os.access(parent, os.W_OK | os.X_OK) else None)
    if problem:
        raise UsageError(f"export: cannot make the directory {str(args.dir)!r}: {problem}")
    count = export(args.db, args.dir, tier3_builders=args.tier3_builders)
    print(f"wrote {count} files to {args.dir}")
    return 0
