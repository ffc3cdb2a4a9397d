"""Helpers for the GitHub tests: runs to report and real PyGithub clients aimed at the fake."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

from emscripten_python.github.client import Credentials, Redactor, connect
from emscripten_python.github.reporter import Reporter, ReportTarget
from emscripten_python.github.retry import RetryPolicy
from emscripten_python.results.model import Run

from fake_github import FakeGitHub

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "results.json"
# Shaped like a real fine-grained token so the pattern-based redaction is exercised too.
TOKEN = "ghp_TopSecretTokenValue0123456789abcdefXYZ"
SHA = "4b1c0a7d9e2f36a8c5d7e9f0a1b2c3d4e5f60718"
# PyGithub accepts only whole seconds; the fake holds a "timeout" longer than this.
CLIENT_TIMEOUT = 1


def make_run(base: Run, *, run_id: str, created: str, failing: int = 1) -> Run:
    """A copy of ``base`` with its own identity and ``failing`` failed test cases in test_os."""
    run = copy.deepcopy(base)
    run.run_id, run.created = run_id, created
    data = run.to_dict()
    data["tests"]["files"] = [f for f in data["tests"]["files"] if f["name"] != "test_os"]
    data["tests"]["files"].append({
        "name": "test_os", "outcome": "failed" if failing else "passed", "tests_run": failing + 5,
        "failures": failing, "cases": [
            {"name": f"test.test_os.T.test_{i}", "outcome": "failed", "message": f"AssertionError {i}",
             "traceback": f'Traceback (most recent call last):\n  File "/src/Lib/test/test_os.py", '
                          f'line {100 + i}, in test_{i}\nAssertionError: {i}'}
            for i in range(failing)]})
    fresh = Run.from_dict(data)
    fresh.decide_outcome()
    return fresh


def policy(**overrides) -> RetryPolicy:
    """Real backoff arithmetic, but no real sleeping: waits are recorded in ``.waits``."""
    waits: list[float] = []
    settings = {"attempts": 8, "backoff": 0.001, "max_backoff": 0.01, "secondary_wait": 60.0,
                "sleep": waits.append, "rng": random.Random(7), "settle": 0.02, **overrides}
    chosen = RetryPolicy(**settings)
    chosen.waits = waits
    return chosen


def reporter(fake: FakeGitHub, *, token: str = TOKEN, per_page: int = 100, log=None, bot_login: str | None = None,
             **policy_overrides) -> Reporter:
    credentials = Credentials(token=token)
    github = connect(credentials, base_url=fake.base_url, timeout=CLIENT_TIMEOUT,
                     seconds_between_requests=0, seconds_between_writes=0, per_page=per_page)
    messages = log if log is not None else []
    return Reporter(github, policy=policy(**policy_overrides), redact=Redactor([token]), log=messages.append,
                    bot_login=bot_login)


def target(**overrides) -> ReportTarget:
    return ReportTarget(**{"repo": "python/cpython", "name": "wasm32-emscripten node 3.13", "pr": 7,
                           "sha": SHA, "details_url": "https://ci.example.org/builds/17", **overrides})


def dump(path: Path, run: Run) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "results.json").write_text(json.dumps(run.to_dict(), indent=2))
    return path
