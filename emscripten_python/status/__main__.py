"""`python -m emscripten_python.status ingest|serve|export`: the same commands as
`emscripten-python status …`, without loading the build faces (a Buildbot master or a
status host installs only the `status` extra)."""

from __future__ import annotations

import sys

from ..errors import EmscriptenPythonError
from ..options import Parser
from ..untrusted import actions_safe
from .cli import register


def main(argv: list[str] | None = None) -> int:
    # Parser: a usage error is one line and exit 2, as under `emscripten-python status`.
    parser = Parser(prog="python -m emscripten_python.status")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["status", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except EmscriptenPythonError as exc:
        # One line, whatever the message quotes (as the core CLI prints its errors).
        print(f"error: {actions_safe(exc)}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
