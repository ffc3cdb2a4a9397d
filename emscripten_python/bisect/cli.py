"""The `bisect` subcommand (registered through cli/main.py's EXTENSION_MODULES)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import cancel
from ..building.source import inspect_tree
from ..building.stages import say, set_silence_timeout, set_streaming
from ..cli.main import _build_args, _common, _options
from ..errors import BisectInconclusive, ResultsError, StatusStoreError, UsageError
from ..options import jobs, reruns, seconds
from ..testing.selection import bad_test_names, split_names
from ..untrusted import actions_safe
from . import git
from .fromrun import range_from_run
from .runner import Bisection, plan, step_options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bisect", help="find the commit at which test files started failing (warm rebuild per step)",
        description="Binary search over GOOD..BAD (BAD's first-parent history): each step checks the "
                    "commit out in --source, rebuilds it with the build caches and runs --tests. "
                    "Writes OUT/bisect.json and OUT/bisect.md; the checkout is put back at the end.")
    _common(parser)
    _build_args(parser)
    parser.add_argument("--good", metavar="REV", help="a commit where the tests pass")
    parser.add_argument("--bad", metavar="REV", help="a later commit where they fail")
    parser.add_argument("--tests", help="the test files that fail at BAD: 'test_os,test_math'")
    parser.add_argument("--from-run", metavar="RUN_ID",
                        help="take BAD (the run's commit), the tests (its failing files, unless --tests) and "
                             "GOOD (their last pass before it on the same builder and branch) from the status store")
    parser.add_argument("--db", metavar="URL", help="status store URL for --from-run and --record "
                        "(default: $EMSCRIPTEN_PYTHON_STATUS_DB, else the user data directory's SQLite file)")
    parser.add_argument("--record", action="store_true",
                        help="record the answer in the status store when the bisection ends (found or "
                             "inconclusive), as `status record-bisect` does: the test and branch pages show it")
    parser.add_argument("--branch", help="branch the bisection is filed under in bisect.json and the status "
                                         "store (default: the --from-run run's branch)")
    parser.add_argument("--flaky-reruns", type=reruns, default=2, metavar="N",
                        help="run a failing result again up to N times before it counts as bad; a pass "
                             "in between makes the commit flaky, not bad (default: 2)")
    parser.add_argument("--test-jobs", type=jobs, default=None,
                        help="node processes to shard the test files across (default: --jobs)")
    parser.add_argument("--timeout", type=seconds, default=1200.0, dest="file_timeout",
                        help="seconds one test file may run before it is killed and marked timed-out")
    parser.set_defaults(func=run_bisect, out=Path("emscripten-python-bisect"))


def _selection(spec: str) -> list[str]:
    names = list(dict.fromkeys(split_names(spec)))
    bad = bad_test_names(names)
    if not names or bad:
        raise UsageError(f"--tests {spec!r}: give test file names such as test_os,test_math"
                         + (f" ({', '.join(bad)} is not one)" if bad else ""))
    return names


def _can_record(origin: dict) -> None:
    """--record: the status extra is there and the store would take the builder and branch,
    checked before any work rather than after hours of building."""
    try:
        from ..status.bisections import filing
    except ImportError as exc:
        raise StatusStoreError(f"--record needs the status store (pip install 'emscripten-python[status]'): "
                               f"{exc}") from None
    try:
        filing(origin, {}, "--record")
    except ResultsError as exc:
        raise UsageError(" ".join(str(exc).split())) from None


def run_bisect(args: argparse.Namespace) -> int:
    # Everything is checked before the first checkout: nothing is built or moved on a mistake.
    if args.only or args.browser:
        raise UsageError(f"bisect: {'--only' if args.only else '--browser'} does not apply: each step is a whole "
                         "build and a node run of --tests")
    if args.from_run and (args.good or args.bad):
        raise UsageError("--from-run takes GOOD and BAD from the status store: give it without --good and --bad")
    if not args.from_run and not (args.good and args.bad and args.tests):
        raise UsageError("bisect needs --good, --bad and --tests (or --from-run RUN_ID)")
    if args.db and not (args.from_run or args.record):
        raise UsageError("--db is the status store of --from-run and --record: it needs one of them")
    selection = _selection(args.tests) if args.tests else None
    tree = git.work_tree(Path(args.source))
    inspect_tree(tree)                              # a CPython tree (SourceError, exit 10)
    good_ref, bad_ref = args.good, args.bad
    if args.from_run:
        good_ref, bad_ref, selection, read = range_from_run(args.from_run, args.db, selection)
        say(f"bisect: from run {read['run']} of {read['builder']} on {read['branch']}: GOOD {good_ref[:12]}, "
            f"BAD {bad_ref[:12]}, tests {', '.join(selection)}")
    good, bad, commits = plan(tree, good_ref, bad_ref)
    options = step_options(_options(args), args.out, selection)
    # Filed under the run's builder and branch when the range came from one, as its runs are.
    origin = {**({"builder": read["builder"], "branch": read["branch"]} if args.from_run else {}),
              **options.origin, **({"branch": args.branch} if args.branch else {})}
    if args.record:
        _can_record(origin)
    if args.stream:
        set_streaming(True)
    set_silence_timeout(args.silence_timeout)
    cancel.install()
    say(f"bisect: {len(commits)} commit(s) after {good[:12]} up to {bad[:12]}; testing {', '.join(selection)}")
    bisection = Bisection(tree=tree, good=good, bad=bad, commits=commits, selection=selection, options=options,
                          out=args.out, flaky_reruns=args.flaky_reruns,
                          refs={"good": good_ref, "bad": bad_ref, **({"from_run": args.from_run} if args.from_run else {})},
                          origin=origin)
    result = bisection.run()
    if args.record:
        from ..status.bisections import record_bisection
        print(actions_safe(record_bisection(args.out / "bisect.json", args.db).describe()), flush=True)
    if result["first_bad"]:
        print(f"first bad commit: {result['first_bad']['commit']} ({result['builds']} builds) "
              f"-> {args.out / 'bisect.json'}")
        return 0
    print(f"inconclusive: the first bad commit is one of {len(result['suspects'])} commits "
          f"({result['builds']} builds) -> {args.out / 'bisect.json'}")
    return BisectInconclusive.exit_code
