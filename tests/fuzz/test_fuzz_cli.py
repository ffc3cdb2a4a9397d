"""Fuzzing the CLI's entry points that take a file or an option (issue 21): `report` (plain,
with --baseline and with --expected), `merge`, `compare`, the option parsing of `run`, `test`
and `build`, `status ingest` (when the status extra is installed), the tree's config.toml and
expectations files, with generated bad and hostile input: wrong types, NaN and Infinity, huge
numbers, deep nesting, invalid UTF-8, text with `::` line starts, `##[` and newlines.

Every example runs the real entry point in this process (`cli.main`, or the loader a command
calls) and asserts: no traceback (an exception escaping is a failed example), an exit code
from the documented ones, on refusal one `error:` line and every input file unchanged (and
nothing written), bounded time (a generous limit: a hang or a quadratic path is far above),
and no line on stdout or stderr that an Actions runner would act on as a workflow command
(tests/github/runner_commands.py, written from the runner's source). Fixed, modest,
derandomized budgets; examples found, and the inputs of the defects the issue lists, are kept
as @example cases.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))
from runner_commands import acted_on  # noqa: E402

from json_paths import json_paths  # noqa: E402  (tests/fuzz)

from emscripten_python.cli import main as cli  # noqa: E402
from emscripten_python.results.compare import Expectation, load_expectations  # noqa: E402
from emscripten_python.errors import EmscriptenPythonError, ResultsError, SourceError  # noqa: E402
from emscripten_python.results.model import Run, Stage, TestCase, TestFile  # noqa: E402
from emscripten_python.building.source import inspect_tree  # noqa: E402
from emscripten_python.testing.shards import selection_digest  # noqa: E402

BUDGET = settings(max_examples=40, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = 30.0      # seconds for one command on a loaded 2-core machine; a hang is far above

HOSTILE_TEXT = ["::add-mask::EVIL", "x\n::error::EVIL", "a\r##[set-output name=x]y", "  ::stop-commands::t",
                "%0A::warning::x", "\u2028::debug::x", "é" * 300, "\x1b[31mred", "", "../../etc/passwd",
                "refs/pull/1/merge\n::error::x"]
def _nested(depth: int):
    value = "deep"
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_JSON = st.one_of(
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**80, -1, 10**400, True, None, [], {},
                     "x" * 5000, _nested(40)]),
    st.sampled_from(HOSTILE_TEXT),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                 max_leaves=8))
RAW = st.sampled_from([b"", b"{", b"null", b"[]", b'{"schema_version": 1}', b'{"schema_version": 2, "x": NaN}',
                       b"\xff\xfe{}", b"\xef\xbb\xbf{}", b"[" * 100_000 + b"]" * 100_000,
                       b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"schema_version": 2, "run_id": 5}'])


def _valid_run(branch: str = "main", commit: str = "a" * 40, **shard) -> Run:
    run = Run(source={"branch": branch, "commit": commit, "cpython_version": "3.13.15", "era": "configure"},
              origin={"kind": "local", "builder": "node"}, stages=[Stage("test", "succeeded", 2.0)])
    files = [TestFile("test_os", "failed", 1.0, tests_run=2, failures=1,
                      cases=[TestCase("test.test_os.T.test_a", "failed", message="boom"),
                             TestCase("test.test_os.T.test_b", "passed")]),
             TestFile("test_math", "passed", 0.5, tests_run=3)]
    run.tests = {"selection": [f.name for f in files], "files": files}
    if shard:
        run.shard = shard
    run.decide_outcome()
    return run


def _mutated(data: dict, where: int, value, drop: bool) -> dict:
    data = json.loads(json.dumps(data))
    places = [p for p in json_paths(data) if p]
    path = places[where % len(places)]
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


# A results.json: a valid run with one place replaced or dropped, or raw bytes.
MUTATION = st.tuples(st.integers(min_value=0, max_value=10_000), HOSTILE_JSON, st.booleans())
RESULTS = st.one_of(MUTATION.map(lambda m: ("mutated", m)), RAW.map(lambda raw: ("raw", raw)))


def _results_bytes(kind_and_value, run: Run | None = None) -> bytes:
    kind, value = kind_and_value
    if kind == "raw":
        return value
    data = (run or _valid_run()).to_dict()
    # json.dumps writes NaN and Infinity as Python's json reads them: hostile, not invalid here.
    return json.dumps(_mutated(data, *value)).encode()


def _main(argv: list[str]) -> tuple[int, str, str]:
    """cli.main in this process: (exit code, stdout, stderr), within SLOW seconds."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:             # argparse: usage errors and --help
            code = exc.code
    assert time.monotonic() - started < SLOW, argv
    _inert(out.getvalue(), err.getvalue())
    return code, out.getvalue(), err.getvalue()


def _inert(stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert acted_on(stdout) == [], acted_on(stdout)
    assert acted_on(stderr) == [], acted_on(stderr)


def _one_error_line(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and stderr.endswith("\n"), stderr


def _snapshot(*paths: Path) -> dict:
    return {p: (p.read_bytes() if p.is_file() else None) for p in paths}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_NO_RECORD", "1")
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_CACHE", str(tmp_path_factory.mktemp("cache")))


# -- report, report --baseline, report --expected ----------------------------------------------------
@BUDGET
@given(head=RESULTS, flags=st.sampled_from(["plain", "json", "baseline", "expected", "bad-baseline"]),
       base=RESULTS)
@example(head=("raw", b'{"schema_version": 1}'), flags="plain", base=("raw", b""))
@example(head=("mutated", (3, float("nan"), False)), flags="expected", base=("raw", b""))
@example(head=("raw", b"[" * 100_000 + b"]" * 100_000), flags="baseline", base=("raw", b""))
@example(head=("mutated", (0, 0, True)), flags="bad-baseline", base=("mutated", (5, float("inf"), False)))
def test_report_refuses_before_any_work_or_reports(tmp_path_factory, head, flags, base):
    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "out"
    out.mkdir()
    (out / "results.json").write_bytes(_results_bytes(head))
    baseline = tmp / "base.json"
    baseline.write_bytes(_results_bytes(base) if flags == "bad-baseline" else
                         json.dumps(_valid_run(branch="3.13\n::error::EVIL").to_dict()).encode())
    expected = tmp / "expected.toml"
    expected.write_text('[[expected]]\ntests = ["test.test_os.*"]\nreason = "::warning::x"\n')
    argv = ["report", "--out", out, "--format", "json" if flags == "json" else "markdown"]
    argv += {"baseline": ["--baseline", baseline], "bad-baseline": ["--baseline", baseline],
             "expected": ["--expected", expected]}.get(flags, [])
    before = _snapshot(out / "results.json", baseline, expected)
    code, stdout, stderr = _main(argv)
    assert code in (0, 40), (code, stderr)
    if code == 40:
        _one_error_line(stderr)
        assert stdout == ""
        assert _snapshot(out / "results.json", baseline, expected) == before
    elif flags in ("plain", "json"):
        assert _snapshot(out / "results.json") == {out / "results.json": before[out / "results.json"]}


# -- merge ---------------------------------------------------------------------------------------------
SELECTION = ["test_os", "test_math"]


def _shard_run(index: int, commit: str = "a" * 40) -> Run:
    shard = {"index": index, "count": 2, "method": "hash", "selection": SELECTION,
             "selection_digest": selection_digest(SELECTION), "files": [SELECTION[index - 1]],
             "build": {"run_id": "build0001", "bundle_sha256": "ab" * 32}}
    run = _valid_run(commit=commit, **shard)
    run.tests = {"selection": [SELECTION[index - 1]],
                 "files": [f for f in run.test_files if f.name == SELECTION[index - 1]]}
    run.decide_outcome()
    return run


@BUDGET
@given(first=st.one_of(st.none(), RESULTS), second=st.one_of(st.none(), RESULTS),
       commit=st.sampled_from(["a" * 40, "b" * 40]))
@example(first=None, second=None, commit="b" * 40)          # a shard of another commit
@example(first=("raw", b"[" * 100_000 + b"]" * 100_000), second=None, commit="a" * 40)
def test_merge_refuses_what_is_not_one_run(tmp_path_factory, first, second, commit):
    tmp = tmp_path_factory.mktemp("merge")
    paths = []
    for index, spec in ((1, first), (2, second)):
        path = tmp / f"s{index}" / "results.json"
        path.parent.mkdir()
        run = _shard_run(index, commit="a" * 40 if index == 1 else commit)
        path.write_bytes(json.dumps(run.to_dict()).encode() if spec is None else _results_bytes(spec, run))
        paths.append(path)
    before = _snapshot(*paths)
    code, stdout, stderr = _main(["merge", tmp / "merged", *paths])
    assert code in (0, 1, 30, 40), (code, stderr)
    if code == 40:
        _one_error_line(stderr)
        assert not (tmp / "merged").exists()
    else:
        assert (tmp / "merged" / "results.json").is_file()
    assert _snapshot(*paths) == before
    if first is None and second is None:
        assert (code == 40) == (commit != "a" * 40)


# -- compare -------------------------------------------------------------------------------------------
@BUDGET
@given(head=RESULTS, branch=st.sampled_from(HOSTILE_TEXT + ["main", "3.13"]),
       fmt=st.sampled_from(["verdict", "markdown", "json"]), expected=st.booleans())
@example(head=("mutated", (0, 0, True)), branch="x\n::error::EVIL", fmt="verdict", expected=False)
def test_compare_prints_nothing_a_runner_executes(tmp_path_factory, head, branch, fmt, expected):
    tmp = tmp_path_factory.mktemp("compare")
    base = tmp / "base.json"
    base.write_text(json.dumps(_valid_run(branch=branch).to_dict()))
    head_path = tmp / "head.json"
    head_path.write_bytes(_results_bytes(head, _valid_run(branch=branch, commit="b" * 40)))
    rules = tmp / "e.toml"
    rules.write_text('[[expected]]\ntests = ["test_os"]\nissue = "::error::x"\n')
    before = _snapshot(base, head_path, rules)
    code, stdout, stderr = _main(["compare", base, head_path, "--format", fmt,
                                  *(["--expected", rules] if expected else [])])
    assert code in (0, 30, 40), (code, stderr)
    if code == 40:
        _one_error_line(stderr)
        assert stdout == ""
    assert _snapshot(base, head_path, rules) == before


# -- options of run, test and build (nothing is built: --source names no tree) ----------------------------
NUMBERS = st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1", "2", "1e400", "1e9", "0x10", "1_000", " 3",
                           "", "٣", "2.5", "99999", "1200", "::error::x", "9" * 400])
OPTION = st.one_of(
    st.tuples(st.sampled_from(["--timeout", "--jobs", "--test-jobs", "--silence-timeout", "-j"]), NUMBERS),
    st.tuples(st.sampled_from(["--shard"]), st.sampled_from(["1/2", "0/2", "3/2", "1/0", "a/b", "1/-1", "2/2"])),
    st.tuples(st.sampled_from(["--durations", "--from-bundle", "--expected", "--baseline"]),
              st.sampled_from(["MISSING", "EMPTY", "NAN"])),
    st.tuples(st.sampled_from(["--tests"]), st.sampled_from(["none", "smoke", "test_os", "::error::x"])),
    st.tuples(st.sampled_from(["--test-args"]), st.sampled_from(["'unclosed", "-v", "\n::error::x"])),
)


@BUDGET
@given(command=st.sampled_from(["run", "test", "build"]), options=st.lists(OPTION, max_size=4),
       source=st.booleans())
@example(command="test", options=[("--timeout", "nan")], source=True)
@example(command="test", options=[("--jobs", "0")], source=True)
@example(command="test", options=[("--from-bundle", "MISSING")], source=True)
@example(command="test", options=[("--durations", "EMPTY")], source=True)
def test_options_are_checked_before_any_work(tmp_path_factory, command, options, source):
    tmp = tmp_path_factory.mktemp("options")
    files = {"MISSING": tmp / "missing", "EMPTY": tmp / "empty.json", "NAN": tmp / "nan.json"}
    files["EMPTY"].write_text("{}")
    files["NAN"].write_text('{"test_os": NaN, "test_math": Infinity}')
    out = tmp / "out"
    argv = [command, "--out", out, *(["--source", tmp / "no-tree"] if source else [])]
    for name, value in options:
        argv += [name, str(files.get(value, value))]
    code, stdout, stderr = _main(argv)
    # 2 usage, 10 no such source, 21 a --durations file that cannot be read, 40 a bad
    # --baseline/--expected file, 41 a --from-bundle that is not a bundle
    assert code in (2, 10, 21, 40, 41), (code, argv, stderr)
    _one_error_line(stderr)
    if code in (2, 21, 40):
        assert not out.exists(), argv           # refused before the record was begun


# -- the tree's config.toml -------------------------------------------------------------------------------
TOML_KEYS = st.sampled_from(["emscripten-version", "node-version", "test-args", "pythoninfo-args", "libffi",
                             "dependencies", "node_version", '"::set-output name=x::y"', '"a\\n::error::b"'])
TOML_VALUES = st.sampled_from(['"24"', "24", '["24"]', '"4.0.12"', "4.0", '["-m", "test", "-v"]', '["-m", "test", 3]',
                               '"-m test.pythoninfo"', '["-m", "test.pythoninfo"]', "true", "{a = 1}",
                               '{url = "u", version = "1", shasum = "x"}', '{libffi = "3"}', '"::error::x"',
                               '"x\\n::error::y"', "inf", "nan", "1e400", '"' + "9" * 300 + '"'])
CONFIG = st.one_of(
    st.lists(st.tuples(TOML_KEYS, TOML_VALUES), max_size=5).map(
        lambda pairs: "".join(f"{k} = {v}\n" for k, v in dict(pairs).items()).encode()),
    st.sampled_from([b"\xff\xfe", b"node-version = \"24\n", b"[[x]\n", b"a = " + b"[" * 5000 + b"]" * 5000,
                     b"[dependencies.libffi]\nshasum = 5\n", b"[libffi]\nurl = []\n"]),
    st.binary(max_size=80))


@BUDGET
@given(config=CONFIG)
@example(config=b'node-version = ["24"]\n')
@example(config=b'pythoninfo-args = "-m test.pythoninfo"\n')
@example(config=b'node-version = "24"\n\xff\n')
@example(config=b"a = " + b"[" * 5000 + b"]" * 5000)          # found: tomllib's RecursionError
def test_config_toml_is_typed_or_refused(tmp_path_factory, config):
    tree = tmp_path_factory.mktemp("cpython")
    (tree / "Include").mkdir()
    (tree / "Include" / "patchlevel.h").write_text('#define PY_VERSION "3.15.0"\n')
    (tree / "Platforms" / "emscripten").mkdir(parents=True)
    (tree / "Platforms" / "emscripten" / "__main__.py").write_text("# the driver\n")
    (tree / "Platforms" / "emscripten" / "config.toml").write_bytes(config)
    err = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err):
        try:
            source = inspect_tree(tree)
        except SourceError as exc:
            source, message = None, f"error: {exc}"
    assert time.monotonic() - started < SLOW
    _inert("", err.getvalue())
    if source is None:
        assert "\n" not in message
        return
    config = source.tree_config
    assert isinstance(config.node_version, str) and config.node_version[:1].isdigit() or config.node_version[:1] == "v"
    assert all(isinstance(a, str) for a in (*config.test_args, *config.pythoninfo_args))
    assert source.pin.version is None or isinstance(source.pin.version, str)
    assert all(isinstance(d, dict) for d in config.dependencies.values())
    assert all(line.startswith("warning: ") for line in err.getvalue().splitlines())


# -- expectations files --------------------------------------------------------------------------------------
ENTRY_KEYS = st.sampled_from(["tests", "test", "reason", "issue", "branches", "branch", "why", '"::x::"'])
ENTRY_VALUES = st.sampled_from(['["test_os"]', '"test_os"', "[]", '[""]', "[1]", "3", '"::error::x"',
                                '["test.test_io.*", "*"]', '"https://github.com/x/y/issues/1"', "nan", "{a = 1}"])
EXPECTATIONS = st.one_of(
    st.lists(st.lists(st.tuples(ENTRY_KEYS, ENTRY_VALUES), max_size=4), max_size=4).map(
        lambda tables: "".join("[[expected]]\n" + "".join(f"{k} = {v}\n" for k, v in dict(t).items())
                               for t in tables).encode()),
    st.sampled_from([b"\xff", b"expected = 3", b"[[expected]\n", b"expected = [1, 2]", b"[expected]\ntests = 1\n"]),
    st.binary(max_size=60))


@BUDGET
@given(text=EXPECTATIONS)
@example(text=b"[[expected]]\nwhy = 1\n")
@example(text=b"[[expected]]\ntests = nan\n")                 # found: a TypeError traceback
@example(text=b'[[expected]]\ntests = "test_os"\n')          # found: each character a pattern
@example(text=b"[[expected]]\ntests = " + b"[" * 5000 + b"]" * 5000 + b"\n")   # found: RecursionError
def test_expectations_load_or_exit_40(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("expected")
    path = tmp / "e.toml"
    path.write_bytes(text)
    try:
        entries = load_expectations(path)
    except ResultsError as exc:
        assert "\n" not in str(exc).strip() or isinstance(exc, EmscriptenPythonError)
        entries = None
    if entries is not None:
        assert all(isinstance(e, Expectation) and isinstance(e.pattern, str) and e.pattern for e in entries)
    base, head = tmp / "base.json", tmp / "head.json"
    base.write_text(json.dumps(_valid_run().to_dict()))
    head.write_text(json.dumps(_valid_run(commit="b" * 40).to_dict()))
    code, stdout, stderr = _main(["compare", base, head, "--expected", path, "--format", "verdict"])
    assert code == (40 if entries is None else code) and code in (0, 30, 40)
    if code == 40:
        _one_error_line(stderr)


# -- status ingest (the status extra) ---------------------------------------------------------------------------
@settings(BUDGET, max_examples=15)
@given(results=RESULTS)
@example(results=("raw", b'{"a":' * 3000 + b"1" + b"}" * 3000))
def test_status_ingest_of_a_results_file(tmp_path_factory, results):
    pytest.importorskip("emscripten_python.status.store")
    tmp = tmp_path_factory.mktemp("ingest")
    path = tmp / "results.json"
    path.write_bytes(_results_bytes(results))
    db = tmp / "status.sqlite"
    before = _snapshot(path)
    code, stdout, stderr = _main(["status", "ingest", path, "--db", f"sqlite:///{db}"])
    assert code in (0, 40), (code, stderr)
    assert _snapshot(path) == before
    if code == 40:
        assert all(line.startswith("error: ") for line in stderr.splitlines() if line), stderr

