"""`emscripten-python`: one entry point; each subcommand is one or more pipeline stages."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__, cancel
from ..building.stages import set_silence_timeout, set_streaming
from ..durable import report_disk_full
from ..errors import Cancelled, EmscriptenPythonError, SourceError, TestsFailed, UsageError
from ..extensions import import_optional
from ..options import MAX_JOBS, Parser, jobs, seconds
from ..pipeline import Options, Pipeline
from ..report.markdown import render_markdown
from ..results.validation import Limits, load_validated
from ..testing.frombundle import add_test_args
from ..testing.shards import load_durations_file
from ..untrusted import actions_safe
from .compare import attach_comparison, attach_to_results, exit_code_of, read_comparison_inputs


def _common(parser: argparse.ArgumentParser, *, source: bool = True) -> None:
    if source:
        parser.add_argument("--source", required=True,
                            help="CPython checkout directory, source tarball, or GIT-URL[@REF]")
    parser.add_argument("--out", type=Path, default=Path("emscripten-python-out"),
                        help="output directory: results.json, logs/, junit.xml, summary.md, bundle")
    parser.add_argument("--toolchain", default="emsdk",
                        help="emsdk (the version the checkout pins), emsdk:VERSION, or system "
                             "(emcc on PATH or $EMSDK); default: emsdk")
    parser.add_argument("--strict-toolchain", action="store_true",
                        help="fail (exit 12) when emcc is not the pinned version instead of warning")
    parser.add_argument("--mirror", type=Path,
                        help="directory of source tarballs for emcc's ports (zlib, bzip2), used offline")
    parser.add_argument("--cache-dir", type=Path, help="emsdk installs and Emscripten caches "
                        "(default: $EMSCRIPTEN_PYTHON_CACHE or the user cache dir)")
    parser.add_argument("--node", action="append", metavar="NODE",
                        help="the Node.js that runs the tests (default: node); repeat it to run the same "
                             "build under several, e.g. --node node --node /opt/node24/bin/node: the first "
                             "is the primary runtime, each further one gets its own results section")
    parser.add_argument("--browser", action="store_true",
                        help="also build the browser flavour (build) and run the browser smoke test in "
                             "Chromium (test); needs the browser extra and a system Chromium")
    parser.add_argument("--node-flag", action="append", dest="node_flags", metavar="FLAG",
                        help="node flag (repeatable); replaces the default --stack-size=30000")
    parser.add_argument("--origin", choices=["local", "buildbot", "github-actions"],
                        help="who runs this (recorded in results.json; default: github-actions when "
                             "$GITHUB_ACTIONS is 'true', else local)")
    parser.add_argument("--builder", help="builder / job name recorded in results.json")
    parser.add_argument("--build-url", help="URL of this build, recorded in results.json")
    parser.add_argument("--stream", action="store_true",
                        help="also copy each stage's output to stdout as it is written, without "
                             "heartbeats (what CI log viewers such as Buildbot want; also "
                             "EMSCRIPTEN_PYTHON_STREAM=1)")


def _build_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", "-j", type=jobs, default=min(os.cpu_count() or 2, MAX_JOBS),
                        help="parallel make jobs")
    parser.add_argument("--configure-arg", action="append", default=[], dest="configure_args",
                        help="extra argument for the host configure (repeatable)")
    parser.add_argument("--only", action="append", default=[], metavar="STAGE",
                        help="run only this build stage (repeatable), e.g. make-host, "
                             "pythoninfo-build or pythoninfo-host")
    parser.add_argument("--silence-timeout", type=seconds, metavar="SECONDS",
                        help="kill a build stage whose output has stopped for this long, and fail it "
                             "(default: never); the Buildbot steps set it below their no-output timeout")
    parser.add_argument("--rebuild", action="store_true",
                        help="run every configure step even when its inputs are unchanged")


def _test_args(parser: argparse.ArgumentParser, *, with_build: bool) -> None:
    # `test` alone: --jobs is the number of node processes; `run`: --jobs is make's, and
    # --test-jobs (default: the same) the test shards.
    parser.add_argument("--test-jobs" if with_build else "--jobs", type=jobs, dest="test_jobs",
                        default=None, help="node processes to shard the test files across (default: "
                        + ("run's --jobs)" if with_build else "the number of CPUs)"))
    parser.add_argument("--tests", default="smoke",
                        help="all, a named subset (smoke), or test files: 'test_os,test_math'")
    parser.add_argument("--exclude", "-x", action="append", default=[], help="test file to leave out")
    parser.add_argument("--resources", "-u", default=None,
                        help="regrtest -u resources, replacing the tree's (default: the tree's config.toml "
                             "test-args, e.g. -uall)")
    parser.add_argument("--no-rerun", action="store_false", dest="rerun",
                        help="do not re-run failed tests (drops --rerun from the tree's arguments)")
    parser.add_argument("--timeout", type=seconds, default=1200.0, dest="file_timeout",
                        help="seconds one test file may run before it is killed and marked timed-out")
    parser.add_argument("--chromium", help="the Chromium the browser smoke test drives (default: /usr/bin/chromium)")
    parser.add_argument("--web-assets", type=Path, help="offline copies of the web page's CDN files, "
                        "laid out as HOST/PATH (e.g. unpkg.com/xterm@4.18.0/lib/xterm.js)")
    parser.add_argument("--regrtest-arg", action="append", default=[], dest="regrtest_args",
                        help="regrtest argument added after the tree's (repeatable)")
    parser.add_argument("--test-args", type=shlex.split, default=None, metavar="ARGS",
                        help="regrtest arguments replacing the tree's config.toml test-args "
                             "(one shell-quoted string, without '-m test')")


# Faces that add subcommands (`report --github`, `status …`, `worker …`) live in their own
# modules, each with `register(subparsers)` setting `func`; a module whose extra is not
# installed simply contributes nothing.
EXTENSION_MODULES = ("emscripten_python.github.cli", "emscripten_python.status.cli",
                     "emscripten_python.worker.cli", "emscripten_python.cli.browser", "emscripten_python.cli.merge",
                     "emscripten_python.cli.compare", "emscripten_python.bisect.cli")


def _register_extensions(sub) -> None:
    for name in EXTENSION_MODULES:
        module = import_optional(name)
        if module is not None:
            module.register(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="emscripten-python", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="toolchain + build + test + report + bundle")
    _common(run), _build_args(run), _test_args(run, with_build=True)
    toolchain = sub.add_parser("toolchain", help="get and check the Emscripten toolchain")
    _common(toolchain)
    build = sub.add_parser("build", help="build-Python, dependencies, host Python")
    _common(build), _build_args(build)
    test = sub.add_parser("test", help="run regrtest under node, crash-proof")
    _common(test), _test_args(test, with_build=False), add_test_args(test)
    bundle = sub.add_parser("bundle", help="archive the interpreter, stdlib, logs and results")
    _common(bundle)
    report = sub.add_parser("report", help="print results.json as Markdown or JSON")
    report.add_argument("--out", type=Path, default=Path("emscripten-python-out"))
    report.add_argument("--format", choices=["markdown", "json"], default="markdown")
    _register_extensions(sub)
    return parser


# Options that contradict each other, checked after parsing and before any work: (the
# condition on the parsed arguments, what is wrong, the error). Options a subcommand lacks
# are None. A usage error exits 2; a missing --source is a SourceError (10) like any other.
CONTRADICTIONS = (
    (lambda a: a.from_bundle and a.source,
     "--from-bundle tests the build inside the bundle: it takes no --source", UsageError),
    (lambda a: a.durations_file and not a.shard,
     "--durations balances the shards of --shard I/N: it needs --shard", UsageError),
    (lambda a: a.command == "test" and not a.source and not a.from_bundle,
     "test needs --source (the built tree) or --from-bundle FILE", SourceError),
    (lambda a: a.command == "run" and a.tests == "none" and (a.baseline or a.expected),
     "--tests none runs no test: there is nothing for --baseline or --expected to compare", UsageError),
    (lambda a: a.command == "compare" and a.out and a.base and _same_file(a.out, a.base),
     "--out names BASE's results.json: the comparison would overwrite it", UsageError),
    (lambda a: a.command == "compare" and a.out and a.head and _same_file(a.out, a.head),
     "--out names HEAD's results.json: the comparison would overwrite it", UsageError),
    (lambda a: a.command == "merge" and any(_same_file(a.out / "results.json", str(r)) for r in a.results),
     "OUT/results.json is one of the RESULTS: the merge would overwrite a shard's results", UsageError),
    (lambda a: a.command in ("run", "test") and (a.chromium or a.web_assets) and not a.browser,
     "--chromium and --web-assets are for the browser smoke test: they need --browser", UsageError),
    (lambda a: a.from_bundle and a.strict_toolchain,
     "--from-bundle runs no toolchain: --strict-toolchain has nothing to check", UsageError),
    (lambda a: a.base_branch and (a.base if a.command == "compare" else a.baseline) != "auto",
     "--base-branch chooses the baseline of 'auto': it needs --baseline auto (compare: BASE auto)", UsageError),
)


def _same_file(out: Path, spec: str) -> bool:
    target = Path(spec) / "results.json" if Path(spec).is_dir() else Path(spec)
    return out.resolve() == target.resolve()


class _Absent(argparse.Namespace):
    def __getattr__(self, name):        # an option this subcommand does not have
        return None


def check_contradictions(args: argparse.Namespace) -> None:
    """The CONTRADICTIONS table over parsed arguments (no file is read): the first broken
    rule raises (UsageError, exit 2, or the error its row names)."""
    view = _Absent(**vars(args))
    for broken, message, error in CONTRADICTIONS:
        if broken(view):
            raise error(message)


def check_arguments(args: argparse.Namespace) -> None:
    """Everything about the command line that is not one option's own value, before any work:
    contradictions, then the files options name (--baseline FILE, --expected FILE,
    --durations FILE: each read and validated once, exit 40 or 21)."""
    check_contradictions(args)
    read_comparison_inputs(args)
    if getattr(args, "durations_file", None):
        load_durations_file(args.durations_file)


def _origin(args: argparse.Namespace) -> dict:
    kind = args.origin or ("github-actions" if os.environ.get("GITHUB_ACTIONS") == "true" else None)
    origin = {"kind": kind} if kind else {}
    if args.builder:
        origin["builder"] = args.builder
    if args.build_url:
        origin["url"] = args.build_url
    return origin


def _options(args: argparse.Namespace) -> Options:
    options = Options(source=args.source, out=args.out, toolchain=args.toolchain,
                      strict_toolchain=args.strict_toolchain, mirror=args.mirror, node=(args.node or ["node"])[0],
                      node_flags=args.node_flags, origin=_origin(args),
                      more_nodes=[n for n in dict.fromkeys(args.node or []) if n != (args.node or ["node"])[0]],
                      browser=args.browser, chromium=getattr(args, "chromium", None),
                      web_assets=getattr(args, "web_assets", None))
    if args.cache_dir:
        options.cache_dir = args.cache_dir
    if getattr(args, "test_jobs", None) is not None:
        options.test_jobs = args.test_jobs
    elif getattr(args, "jobs", None) is not None:
        options.test_jobs = args.jobs
    for name in ("jobs", "configure_args", "only", "rebuild", "tests", "exclude", "resources", "rerun",
                 "file_timeout", "regrtest_args", "test_args", "shard", "durations_file", "from_bundle"):
        if hasattr(args, name):
            setattr(options, name, getattr(args, name))
    return options


def record_in_status_store(results_path: Path) -> str | None:
    """Every local run lands in the Tier 3 status store, when the status extra is installed.

    Best effort: a store that cannot be reached warns, it never fails the run.
    """
    if os.environ.get("EMSCRIPTEN_PYTHON_NO_RECORD"):
        return None
    try:
        from ..status.ingest import record_run
    except ImportError:
        return None
    try:
        return record_run(results_path)
    except Exception as exc:    # noqa: BLE001 - whatever the store does, the run's result stands
        print(f"warning: not recorded in the status store: {actions_safe(exc)}", file=sys.stderr)
        return None


def _finish(pipeline: Pipeline) -> int:
    run = pipeline.run
    counts = run.counts()
    files = counts["files"]
    print(f"{run.outcome}: {files['total']} files: {files['passed']} passed, "
          f"{files['failed'] + files['env-changed']} failed, {files['crashed']} crashed, "
          f"{files['timed-out']} timed out, {files['flaky']} flaky, "
          f"{files['skipped'] + files['resource-denied']} skipped; {counts['tests']['run']} tests run "
          f"-> {pipeline.results_path}")
    if run.outcome == "failure":
        return TestsFailed.exit_code
    if run.outcome == "error":
        return EmscriptenPythonError.exit_code
    return 0


def _record_cancel(pipeline: Pipeline, command: str, exc: Cancelled) -> None:
    """results.json says the run was cancelled (not failed, not passed); the store keeps it as such."""
    cancel.cancel(cancel.reason() or "a signal")        # every node group is gone before we write
    pipeline.run.cancelled = {"command": command, "signal": cancel.reason(),
                              "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    pipeline.save()
    record_in_status_store(pipeline.results_path)


def main(argv: list[str] | None = None) -> int:
    # The command's SIGTERM/SIGINT handling (cancel.install) ends with the command: a caller
    # that runs main() in its own process (tests, a wrapper) gets its handlers back.
    with cancel.restored_afterwards():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_arguments(args)
        if args.command == "report":      # --baseline/--expected/--fail-on: into results.json first
            attach_to_results(args, args.out / "results.json")
        if getattr(args, "func", None) is not None:
            return int(args.func(args) or 0)
        if args.command == "report":
            run = load_validated(args.out / "results.json")
            text = render_markdown(run) if args.format == "markdown" else json.dumps(run.to_dict(), indent=2)
            print(actions_safe(text, multiline=True))     # the record's text is the run's, not ours
            return 0
        # `run` and `toolchain` (the first step of a staged build) begin a new record; the
        # later stages add to it. Build directories are reused either way.
        if args.stream:
            set_streaming(True)
        set_silence_timeout(getattr(args, "silence_timeout", None))
        cancel.install()
        # A test from a bundle is a new record too (of the bundle's build, on this machine).
        pipeline = Pipeline(_options(args), new_run=args.command in ("run", "toolchain")
                            or bool(getattr(args, "from_bundle", None)))
        pipeline.run.cancelled = None       # this command runs again what a cancel stopped
        try:
            if args.command in ("run", "toolchain"):
                pipeline.toolchain_stage()
            if args.command in ("run", "build"):
                pipeline.build_stage()
            if args.command == "test" or (args.command == "run" and args.tests != "none"):
                pipeline.test_stage()
                if attach_comparison(args, pipeline.run):    # --baseline / --expected
                    pipeline.report_stage()     # summary.md leads with the delta too
            if args.command in ("run", "bundle"):
                pipeline.bundle_stage()
        except Cancelled as exc:
            _record_cancel(pipeline, args.command, exc)
            raise
        except EmscriptenPythonError as exc:
            # Keep what was done: the error goes into results.json next to earlier stages,
            # cut to what the validation of the next command's read accepts.
            limit = Limits().max_string
            text = str(exc)
            pipeline.run.errors.append(text if len(text) <= limit else text[:limit - 1] + "…")
            pipeline.save()
            raise
        if args.command not in ("run", "test"):
            return 0
        # A shard is part of a run (`merge` records the whole); `run --tests none` tested nothing.
        if not pipeline.run.shard and args.tests != "none":
            record_in_status_store(pipeline.results_path)
        return exit_code_of(pipeline.run, _finish(pipeline))
    except EmscriptenPythonError as exc:
        # One line, whatever the message quotes (a path, a value from a file, a branch name).
        print(f"error: {actions_safe(exc)}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:      # ENOSPC where no write named its path: one line, exit 52; others re-raised
        return report_disk_full(exc, getattr(args, "out", None))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
