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

from emscripten_python.cli import main  # noqa: E402

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
