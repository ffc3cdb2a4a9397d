"""Fuzzing the action's report step and `report --github` with generated results.json files and
server answers (the GitHub-shaped fake of tests/github, answering with faults, dropped
connections and well-formed HTTP carrying JSON of the wrong shape).

Asserted for every example: no traceback, the documented exit code (the report step: 0, or 40
without results; `report --github`: 0, 40 for a refused file, 50 for an undelivered report),
no request at all when the file is refused, bounded time, and no output line a runner would
read as a workflow command other than the project's own (tests/github/runner_commands.py).
Fixed, modest, derandomized budgets; failing examples are kept as @example cases.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))
from fake_github import FakeGitHub  # noqa: E402
from gh_helpers import EXAMPLE, SHA, TOKEN  # noqa: E402
from runner_commands import stops_resumed, unexpected  # noqa: E402
from test_github_action import Runner  # noqa: E402

from emscripten_python.cli.main import main  # noqa: E402

HOSTILE = ["::add-mask::EVIL", "x\n::error::EVIL", "a\r##[set-output name=x]y", "::stop-commands::t\n::error::x",
           "%0A::warning::x", "<img src=x onerror=alert(1)>", "[link](https://evil.example)", "@admin #1 GH-2",
           "`` ` ``", "\u202e\u2066x", "é" * 300]
PLACES = {
    "error": lambda d, v: d["errors"].append(v),
    "branch": lambda d, v: d["source"].__setitem__("branch", v),
    "message": lambda d, v: d["tests"]["files"][2]["cases"][0].__setitem__("message", v),
    "traceback": lambda d, v: d["tests"]["files"][2]["cases"][0].__setitem__("traceback", v),
    "crash": lambda d, v: d["tests"]["files"][3].__setitem__("crash", v),
    "file name": lambda d, v: d["tests"]["files"][2].__setitem__("name", v),
    "builder": lambda d, v: d["origin"].__setitem__("builder", v),
}
BROKEN = ["", "{", "[]", '{"schema_version": 1}', '{"schema_version": 2, "x": NaN}', "[" * 5000 + "]" * 5000,
          '{"schema_version": 2, "run_id": 5}']


def _results(place: str | None, value: str, broken: str | None) -> str:
    if broken is not None:
        return broken
    data = json.loads(EXAMPLE.read_text())
    data.setdefault("errors", [])
    data.setdefault("origin", {})
    if place:
        PLACES[place](data, value)
    return json.dumps(data)


FILES = st.tuples(st.sampled_from([None, *PLACES]), st.sampled_from(HOSTILE),
                  st.one_of(st.none(), st.sampled_from(BROKEN)))


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=FILES)
@example(case=("branch", "x\n::error::EVIL", None))
@example(case=(None, "", "[" * 5000 + "]" * 5000))
def test_the_report_step_on_any_results_file(tmp_path_factory, case):
    tmp = tmp_path_factory.mktemp("report")
    results = tmp / "downloaded"
    results.mkdir()
    (results / "results.json").write_text(_results(*case))
    with FakeGitHub(tokens=()) as fake:      # every request refused (401): quick, and counted
        runner = Runner(tmp, {"results-from": str(results), "report": "github", "github-token": TOKEN,
                              "pr": "7", "sha": SHA}, {"GITHUB_API_URL": fake.base_url})
        assert runner.step("prepare").returncode == 0
        start = time.monotonic()
        done = runner.step("report")
        assert time.monotonic() - start < 90
        requests = list(fake.log)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert unexpected(done.stdout, done.stderr) == [], done.stdout + done.stderr
    assert stops_resumed(done.stdout)
    refused = runner.steps["report"]["result"] == "error" and runner.steps["report"]["exit-code"] == "40"
    if refused:
        assert requests == [], "a refused results.json makes no request"
    assert runner.steps["report"]["report-status"] in ("failed", "delivered")


class AnyAnswerGitHub(FakeGitHub):
    """The fake GitHub, able to answer 200 with JSON of the wrong shape."""

    SHAPES = {"list": ["x"], "string": "x", "null": None, "ints": {"id": "x", "user": 5, "body": 7, "total_count": "a",
                                                                    "check_runs": {}, "created_at": 3}}

    def _fault_reply(self, kind, auth):
        if kind in self.SHAPES:
            return 200, self.SHAPES[kind], {}
        return super()._fault_reply(kind, auth)


ANSWERS = st.lists(st.sampled_from([None, None, None, "500", "drop-after", "secondary", "list", "string", "null",
                                    "ints"]), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=FILES, answers=ANSWERS, in_actions=st.booleans())
@example(case=(None, "", None), answers=["ints"], in_actions=True)    # a run whose created_at is 3
@example(case=(None, "", None), answers=[None, "list"], in_actions=True)   # GET /user as a list: was a traceback
def test_report_github_on_any_server_answer(tmp_path_factory, monkeypatch, case, answers, in_actions):
    out = tmp_path_factory.mktemp("out")
    (out / "results.json").write_text(_results(*case))
    before = (out / "results.json").read_bytes()
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for key in ("GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    if in_actions:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_RUN_ID", "555")
    stdout, stderr = io.StringIO(), io.StringIO()
    with AnyAnswerGitHub(tokens=(TOKEN,), hold=1.5) as fake:
        fake.workflow_runs[555] = {"created_at": "2026-12-01T10:00:00Z", "run_number": 1}
        sequence = iter(answers)
        fake.faults = lambda method, path: next(sequence, None)
        start = time.monotonic()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7",
                             "--sha", SHA, "--base-url", fake.base_url, "--timeout", "1", "--attempts", "2",
                             "--backoff", "0.001", "--max-wait", "0", "--throttle", "0", "--settle", "0"])
            except SystemExit as exc:     # argparse's usage errors only
                code = exc.code
        elapsed = time.monotonic() - start
        requests = list(fake.log)
    assert elapsed < 120 and not math.isnan(elapsed)
    assert code in (0, 40, 50), (code, stderr.getvalue()[-2000:])
    assert "Traceback" not in stdout.getvalue() + stderr.getvalue()
    assert unexpected(stdout.getvalue(), stderr.getvalue()) == [], stdout.getvalue() + stderr.getvalue()
    if code == 40:
        assert requests == [], "a refused results.json makes no request"
        assert (out / "results.json").read_bytes() == before, "and is left as it was"


# -- the numeric options of `report --github` -----------------------------------------------------------
NUMBERS = ["nan", "inf", "-inf", "-1", "0", "1", "2.5", "1e400", "1e9", "0x10", "", " 3", "1_000", "٣",
           "::error::x", "x\n::error::y", "9" * 400, "604800", "604801"]
WAITS = ("--max-wait", "--backoff", "--throttle", "--settle")
MAX_SECONDS, MAX_ATTEMPTS = 7 * 24 * 3600, 100     # docs/github-action.rst


def _accepted(option: str, text: str) -> bool:
    """The documented rule, written here independently of the parser: --attempts a whole number
    from 1 to 100; --timeout a whole number of seconds from 1; the waits finite numbers of
    seconds from 0; at most a week."""
    if option in ("--attempts", "--timeout"):
        try:
            return 1 <= int(text) <= (MAX_ATTEMPTS if option == "--attempts" else MAX_SECONDS)
        except ValueError:
            return False
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and 0 <= value <= MAX_SECONDS


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(options=st.lists(st.tuples(st.sampled_from(["--timeout", "--attempts", *WAITS]), st.sampled_from(NUMBERS)),
                        min_size=1, max_size=3))
@example(options=[("--timeout", "nan")])          # a request never timed out
@example(options=[("--settle", "inf")])           # an endless wait before the re-read
@example(options=[("--attempts", "0")])           # nothing tried, nothing reported
@example(options=[("--throttle", "-1")])
@example(options=[("--max-wait", "1e400")])
@example(options=[("--backoff", "x\n::error::y")])
def test_report_github_numeric_options_are_checked_before_any_request(tmp_path_factory, monkeypatch, options):
    from emscripten_python.cli.main import build_parser

    out = tmp_path_factory.mktemp("out")
    (out / "results.json").write_text(_results(None, "", None))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    flags = [arg for pair in options for arg in pair]
    with FakeGitHub(tokens=(TOKEN,)) as fake:
        argv = ["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7", "--sha", SHA,
                "--base-url", fake.base_url, *flags]
        if all(_accepted(option, text) for option, text in options):
            # Accepted: parsed to finite values in range (not sent: a week-long settle is valid).
            args = build_parser().parse_args(argv)
            values = [getattr(args, option[2:].replace("-", "_")) for option, _ in options]
            assert all(math.isfinite(v) and 0 <= v <= MAX_SECONDS for v in values), values
            return
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
        requests = list(fake.log)
    err = stderr.getvalue()
    assert code == 2, (code, flags, err)
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert unexpected(stdout.getvalue(), err) == [], err
    assert requests == [] and not (out / "github-report.json").exists()
