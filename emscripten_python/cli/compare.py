"""`emscripten-python compare BASE HEAD`, and `--baseline`/`--expected`/`--fail-on` for run, test, report.

BASE and HEAD are results.json files (or directories holding one), or run ids in the
status store (needs the ``status`` extra; imported only then). BASE may also be ``auto``:
the latest completed run of HEAD's builder on its base branch in the store.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ..errors import EmscriptenPythonError, ResultsError, StatusStoreError, TestsFailed, UsageError
from ..report.compare_markdown import render_comparison
from ..results.compare import POLICIES, Comparison, compare, fails, load_expectations
from ..results.model import Run
from ..results.validation import load_validated
from ..untrusted import actions_safe

AUTO = "auto"


def _status():
    """The status store's modules; StatusStoreError (exit 51, one line) without the status extra."""
    try:
        from ..status import history, store
    except ImportError as exc:
        raise StatusStoreError(f"a run id or 'auto' needs the status store (pip install "
                               f"'emscripten-python[status]'): {exc}") from None
    return history, store


def _store_session(db: str | None):
    return _status()[1].Store(db)


def _results_path(spec: str) -> Path | None:
    """The results.json `spec` names, or None when it is a run id (hex, 8 to 64 digits)."""
    path = Path(spec)
    if path.is_dir():
        return path / "results.json"
    if not path.exists() and re.fullmatch(r"[0-9a-f]{8,64}", spec):
        return None
    return path


def load_side(spec: str, db: str | None) -> Run:
    """A results.json file or directory (validated: it may come from a fork), or a run id."""
    path = _results_path(spec)
    if path is not None:
        return load_validated(path)
    history, _ = _status()
    store = _store_session(db)
    try:
        with store.reader() as session:
            run = history.load_run(session, spec)
    finally:
        store.close()
    if run is None:
        raise ResultsError(f"{spec!r} is neither a results.json file nor a run id in the status store "
                           f"{store.safe_url}")
    return run


def store_baseline(head: Run, base_branch: str | None, db: str | None) -> tuple[Run | None, str]:
    history, _ = _status()
    store = _store_session(db)
    try:
        with store.reader() as session:
            return history.baseline_for(session, head, base_branch)
    finally:
        store.close()


def resolve_baseline(spec: str | None, head: Run, *, base_branch: str | None, db: str | None
                     ) -> tuple[Run | None, str | None]:
    """(base, why-missing): `spec` is a file/run id, 'auto' (the store), or None."""
    if spec is None:
        return None, "no baseline given"
    if spec == AUTO:
        base, why = store_baseline(head, base_branch, db)
        return base, None if base is not None else why
    return load_side(spec, db), None


def read_comparison_inputs(args: argparse.Namespace) -> None:
    """Before any work: read and validate the files --expected and --baseline name, once.

    A bad expectations file, or a baseline results.json that exists but is not valid, stops
    the command with exit 40 before anything is built, compared or written. A baseline that
    is not there (an artifact never downloaded) is not an error: the run says it has no
    baseline. The results are kept in ``args`` (``expectations``, ``baseline_run``).
    """
    args.expectations = load_expectations(args.expected) if getattr(args, "expected", None) else None
    args.baseline_run = None
    spec = getattr(args, "baseline", None)
    if spec and spec != AUTO:
        path = _results_path(spec)
        if path is not None and path.exists():
            args.baseline_run = load_validated(path)


def comparison_for(head: Run, args: argparse.Namespace, base: Run | None, missing: str | None) -> Comparison:
    expected = getattr(args, "expected", None)
    result = compare(base, head, expectations=getattr(args, "expectations", None),
                     expectations_source=str(expected) if expected else None, baseline_missing=missing)
    result.policy = args.fail_on
    result.fails = fails(result, head, args.fail_on)
    return result


def attach_comparison(args: argparse.Namespace, run: Run) -> bool:
    """For run/test/report: compare `run` with --baseline (and --expected) and put the
    comparison into it (the caller saves). Nothing happens without either option; with
    only --fail-on, the policy is applied to a comparison the run already has."""
    if not (getattr(args, "baseline", None) or getattr(args, "expected", None)):
        if not (getattr(args, "fail_on_given", False) and run.comparison):
            return False
        comparison = Comparison.from_dict(run.comparison)
        comparison.policy, comparison.fails = args.fail_on, fails(comparison, run, args.fail_on)
    else:
        try:
            base, missing = ((args.baseline_run, None) if getattr(args, "baseline_run", None) is not None
                             else resolve_baseline(args.baseline, run, base_branch=args.base_branch, db=args.db))
        except EmscriptenPythonError as exc:
            # The run's own results stand: it says why it has no baseline instead of failing.
            print(f"warning: no baseline: {actions_safe(exc)}", file=sys.stderr)
            base, missing = None, f"the baseline could not be read: {exc}"
        comparison = comparison_for(run, args, base, missing)
        print(f"compared: {actions_safe(comparison.verdict)}", file=sys.stderr)
    run.comparison = comparison.to_dict()
    return True


def attach_to_results(args: argparse.Namespace, results_path: Path) -> None:
    """`report --baseline …`: the comparison goes into the results.json being reported."""
    if getattr(args, "baseline", None) or getattr(args, "expected", None) or getattr(args, "fail_on_given", False):
        run = load_validated(results_path)
        if attach_comparison(args, run):
            run.save(results_path)


def exit_code_of(run: Run, default: int) -> int:
    """With a comparison, a failed run's exit status follows its policy (30 or 0); errors stay."""
    comparison = run.comparison
    if not comparison or run.outcome != "failure" or comparison.get("fails") is None:
        return default
    return TestsFailed.exit_code if comparison["fails"] else 0


class _Given(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.fail_on_given = True


def _policy_args(parser: argparse.ArgumentParser, *, baseline: bool) -> None:
    group = parser.add_argument_group("comparison", "what changed since a baseline run (docs/results-schema.rst)")
    if baseline:
        group.add_argument("--baseline", metavar="FILE|RUN_ID|auto",
                           help="results.json (or its directory) of the base run, a run id in the status "
                                "store, or 'auto': the latest completed run of this builder on the base "
                                "branch in the store")
    group.add_argument("--base-branch", metavar="BRANCH",
                       help="branch whose runs are the baseline for 'auto' (default: the run's branch)")
    group.add_argument("--expected", type=Path, metavar="FILE",
                       help="TOML file of tests expected to fail (e.g. emscripten-expected.toml)")
    group.add_argument("--fail-on", choices=POLICIES, default="new", action=_Given,
                       help="when test failures fail the run: new (default: new failures and crashes "
                            "only), any, never")
    group.add_argument("--db", metavar="URL", dest="db",
                       help="status store URL for run ids and 'auto' (default: $EMSCRIPTEN_PYTHON_STATUS_DB)")
    parser.set_defaults(fail_on_given=False)


def register(subparsers) -> None:
    for name in ("run", "test", "report"):
        if name in subparsers.choices:
            _policy_args(subparsers.choices[name], baseline=True)
    cmp = subparsers.add_parser("compare", help="what changed between two runs: new failures, fixes, crashes",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp.add_argument("base", metavar="BASE", help="results.json, its directory, a run id, or 'auto'")
    cmp.add_argument("head", metavar="HEAD", help="results.json, its directory, or a run id")
    cmp.add_argument("--format", choices=["verdict", "markdown", "json"], default="markdown")
    cmp.add_argument("--out", type=Path, metavar="FILE", help="write the output to FILE instead of stdout")
    cmp.add_argument("--save", action="store_true",
                     help="also write the comparison into HEAD's results.json (HEAD must be a file)")
    _policy_args(cmp, baseline=False)
    cmp.set_defaults(func=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    if args.save and _results_path(args.head) is None:
        raise UsageError("--save needs HEAD to be a results.json file, not a run id")
    head = load_side(args.head, args.db)
    base, missing = resolve_baseline(args.base, head, base_branch=args.base_branch, db=args.db)
    comparison = comparison_for(head, args, base, missing)
    if args.format == "json":
        output = json.dumps(comparison.to_dict(), indent=2) + "\n"
    elif args.format == "verdict":
        output = actions_safe(comparison.verdict) + "\n"
    else:
        output = render_comparison(comparison, heading="##")
    if args.out:
        args.out.write_text(output)
    else:
        # JSON escapes every control character, so only a line start can hold a command.
        sys.stdout.write(actions_safe(output, multiline=True))
    if args.save:
        path = _results_path(args.head)
        head.comparison = comparison.to_dict()
        head.save(path)
    return TestsFailed.exit_code if comparison.fails else 0
