"""`emscripten-python worker doctor` and `emscripten-python worker create` (loaded by the core CLI)."""

from __future__ import annotations

import argparse
import getpass
import os
import pwd
from pathlib import Path

from platformdirs import user_cache_dir

from .create import create_worker, default_service, read_password, user_cache_dir_of
from .doctor import MIN_FREE_GIB, failed, render, run_checks


def _default_cache(user: str | None = None) -> Path:
    # The same default as the pipeline's --cache-dir, so doctor checks the directory builds use;
    # for a service running as another account (root creating a worker for `buildbot`), theirs.
    if user and user != getpass.getuser():
        try:
            return user_cache_dir_of(pwd.getpwnam(user))
        except KeyError:
            pass
    return Path(os.environ.get("EMSCRIPTEN_PYTHON_CACHE", user_cache_dir("emscripten-python")))


def register(subparsers) -> None:
    worker = subparsers.add_parser("worker", help="set up a Buildbot worker for Emscripten builds")
    sub = worker.add_subparsers(dest="worker_command", required=True)

    doctor = sub.add_parser("doctor", help="check this machine for what an Emscripten worker needs")
    doctor.add_argument("--basedir", type=Path, default=Path.cwd(), help="where the worker lives (default: .)")
    doctor.add_argument("--cache-dir", type=Path, default=_default_cache(), help="emsdk and Emscripten caches")
    doctor.add_argument("--node", default="node", help="the Node.js that runs the tests")
    doctor.add_argument("--min-free-gb", type=float, default=MIN_FREE_GIB, help="free disk the worker needs")
    doctor.set_defaults(func=_doctor)

    create = sub.add_parser("create", help="create a worker directory and its systemd unit / launchd job")
    create.add_argument("name", help="the worker name configured on the master")
    create.add_argument("--master", required=True, metavar="HOST:PORT", help="the master's worker port")
    create.add_argument("--basedir", type=Path, help="worker directory (default: ./NAME)")
    create.add_argument("--password-file", type=Path,
                        help="file holding the worker password (default: $EMSCRIPTEN_PYTHON_WORKER_PASSWORD)")
    create.add_argument("--admin", help="who runs this worker, e.g. 'Jane Doe <jane@example.org>'")
    create.add_argument("--host-info", help="description of the machine shown on the master")
    create.add_argument("--cache-dir", type=Path, help="emsdk and Emscripten caches (default: the service "
                        "user's cache directory)")
    create.add_argument("--service", choices=["systemd", "launchd", "none"], default=default_service(),
                        help="service file to write into the worker directory (default: this OS's)")
    create.add_argument("--user", help="the account the service runs as (default: you; never root: "
                        "create a dedicated one, e.g. buildbot, that owns the basedir)")
    create.add_argument("--force", action="store_true", help="recreate an existing worker directory")
    create.set_defaults(func=_create)


def _doctor(args: argparse.Namespace) -> int:
    checks = run_checks(args.basedir, args.cache_dir, node=args.node, min_free_gib=args.min_free_gb)
    print(render(checks))
    return 1 if failed(checks) else 0


def _create(args: argparse.Namespace) -> int:
    basedir = args.basedir or Path(args.name)
    service = create_worker(args.name, args.master, basedir, read_password(args.password_file),
                         cache_dir=args.cache_dir or _default_cache(args.user), service=args.service, admin=args.admin,
                         host_info=args.host_info, user=args.user, force=args.force)
    print(f"worker {args.name} created in {basedir.resolve()} (master {args.master})")
    if service:
        unit, install = service
        print(f"service file: {unit}\ninstall and start it with:\n  {install}")
    else:
        print(f"start it with: buildbot-worker start {basedir.resolve()}")
    print("on the master: add it to EP_WORKERS (NAME:PASSWORD); EP_MAX_BUILDS sets how many builds a worker "
          "runs at once (`emscripten-python worker doctor` suggests a number for this machine)")
    return 0
