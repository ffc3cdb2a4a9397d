"""`python -m emscripten_python.status ingest|serve|export`: the same commands as
`emscripten-python status …`, without loading the build faces (a Buildbot master or a
status host installs only the `status` extra)."""

from __future__ import annotations

import argparse
import sys

from ..errors import EmscriptenPythonError
from .cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emscripten_python.status")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["status", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except EmscriptenPythonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
