"""The GitHub face's master hook: the sticky PR report for finished PR builds, on the fake GitHub."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from twisted.python import log as twisted_log

from buildbot.config.errors import ConfigErrors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))

from fake_github import FakeGitHub  # noqa: E402
from gh_helpers import CLIENT_TIMEOUT, EXAMPLE, SHA, TOKEN, policy  # noqa: E402

from buildbot_helpers import FakeMaster  # noqa: E402

from emscripten_python.steps import github_report as pr_hook  # noqa: E402
from emscripten_python.github.client import Credentials, connect  # noqa: E402
from emscripten_python.github.reporter import MARKER  # noqa: E402

BUILDER = "Emscripten PR"
BUILD_URL = "http://buildbot.example.org/#/builders/4/builds/9"
PR = 4242


@pytest.fixture
def fake():
    with FakeGitHub(tokens=(TOKEN,), hold=CLIENT_TIMEOUT + 1.0) as server:
        yield server


@pytest.fixture
def results(tmp_path) -> Path:
    """The example results.json where EmscriptenUpload puts it on the master."""
    path = tmp_path / "artifacts" / "Emscripten-PR" / "9" / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(EXAMPLE.read_text())
    return path


def pr_build(results: Path | None, *, number=9, **properties) -> dict:
    """A finished PR build as the change hook (steps/prgate.py over Buildbot's GitHub hook) makes it."""
    props = {"buildername": BUILDER, "buildnumber": number, "branch": f"refs/pull/{PR}/merge",
             "revision": SHA, "pullrequesturl": f"https://github.com/python/cpython/pull/{PR}",
             "basename": "main", "event": "pull_request", "project": "python/cpython",
             "emscripten_outcome": "failure", **properties}
    if results is not None:
        props.setdefault("results_path", str(results))
        props.setdefault("results_url", f"http://artifacts.test/Emscripten-PR/{number}/results.json")
    return {"buildid": 100 + number, "number": number, "builderid": 4, "results": 2, "complete": True,
            "url": BUILD_URL, "builder": {"builderid": 4, "name": BUILDER},
            "properties": {name: (value, "test") for name, value in props.items()}}


def client(fake):
    return connect(Credentials(token=TOKEN), base_url=fake.base_url, timeout=CLIENT_TIMEOUT,
                   seconds_between_requests=0, seconds_between_writes=0)


def ours(fake, pr=PR):
    return [c for c in fake.comments_on(pr) if MARKER.match(c["body"])]


def test_pr_build_posts_the_sticky_comment_linking_the_build(fake, results):
    messages = []
    # Through the hook's own connection, as the master makes it (token, Enterprise-style base URL).
    result = pr_hook.report_build(pr_build(results), token=TOKEN, repo="python/cpython", base_url=fake.base_url,
                                  policy=policy(), say=messages.append)

    assert result.ok and [(p.part, p.action) for p in result.parts] == [("comment", "created")]
    [comment] = ours(fake)
    assert f"[details]({BUILD_URL})" in comment["body"] and BUILDER in comment["body"]
    assert fake.check_runs == {} and fake.statuses == {}     # GitHubStatusPush does the statuses
    assert not any(TOKEN in m for m in messages)


def test_a_later_build_updates_the_same_comment(fake, results):
    pr_hook.report_build(pr_build(results), token=TOKEN, github=client(fake), policy=policy(), say=lambda _: None)
    newer = results.read_text().replace("2026-11-24T10:12:03+00:00", "2026-11-25T10:12:03+00:00").replace(
        "3f9c2a7e51d04b6c9a0e8d1f2b3c4d5e", "4f9c2a7e51d04b6c9a0e8d1f2b3c4d5e")
    results.write_text(newer)
    result = pr_hook.report_build(pr_build(results, number=10), token=TOKEN, github=client(fake), policy=policy(),
                                  say=lambda _: None)
    assert [(p.part, p.action) for p in result.parts] == [("comment", "updated")]
    [comment] = ours(fake)
    assert "4f9c2a7e51d0" in comment["body"]


def test_check_run_part_when_asked(fake, results):
    result = pr_hook.report_build(pr_build(results), token=TOKEN, github=client(fake), policy=policy(),
                                  parts=("comment", "check"), say=lambda _: None)
    assert [(p.part, p.action) for p in result.parts] == [("comment", "created"), ("check", "created")]
    [check] = fake.check_runs.values()
    assert (check["name"], check["head_sha"], check["details_url"]) == (BUILDER, SHA, BUILD_URL)


def test_branch_builds_and_builds_without_results_post_nothing(fake, results):
    messages = []
    branch = pr_build(results, branch="main", pullrequesturl=None)
    assert pr_hook.report_build(branch, token=TOKEN, github=client(fake), say=messages.append) is None
    no_results = pr_build(None, results_url=None)
    assert pr_hook.report_build(no_results, token=TOKEN, github=client(fake), say=messages.append) is None
    assert fake.writes() == [] and len(messages) == 1 and "nothing to report" in messages[0]


@pytest.mark.parametrize(("properties", "number"), [
    ({"branch": "refs/pull/17/merge"}, 17),
    ({"branch": "refs/pull/18/head"}, 18),
    ({"branch": "main", "github.number": 19}, 19),
    ({"branch": None, "pullrequesturl": "https://github.com/python/cpython/pull/20"}, 20),
    ({"branch": "3.14"}, None),
    ({}, None),
])
def test_pr_number(properties, number):
    assert pr_hook.pr_number(properties) == number


class DetachedReporter(pr_hook.PullRequestReporter):
    master = None    # a plain attribute instead of the service parent's master


def test_reporter_never_fails_the_master_nor_logs_the_token(tmp_path, results, synchronous_threads):
    results.write_text("{broken")
    service = DetachedReporter(pr_hook.generators([BUILDER]), token=TOKEN)
    service.master = FakeMaster(tmp_path)
    # What reconfigService sets when the master starts the service; GitHub is unreachable.
    service.token, service.repo, service.base_url, service.parts = TOKEN, "python/cpython", "http://127.0.0.1:9", ("comment",)
    service.redact = pr_hook.Redactor([TOKEN])
    logged = []
    twisted_log.addObserver(logged.append)
    try:
        errors = []
        service.sendMessage([{"builds": [pr_build(results)]}]).addErrback(errors.append)
    finally:
        twisted_log.removeObserver(logged.append)
    assert errors == []
    text = "\n".join(str(event.get("message")) for event in logged)
    assert "could not report build 9 of Emscripten PR" in text and TOKEN not in text


def test_configure_without_token_adds_nothing(monkeypatch):
    monkeypatch.delenv("EP_GITHUB_TOKEN", raising=False)
    config = {"services": []}
    pr_hook.configure(config, [BUILDER])
    assert config == {"services": []}


def test_configure_with_token(monkeypatch):
    monkeypatch.setenv("EP_GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("EP_GITHUB_REPO", "example/cpython")
    monkeypatch.setenv("EP_GITHUB_API_URL", "https://ghe.example.org/api/v3")
    monkeypatch.setenv("EP_GITHUB_REPORT_PARTS", "comment,check")
    config = {"services": []}
    pr_hook.configure(config, ["Emscripten main", BUILDER])
    [service] = config["services"]
    assert isinstance(service, pr_hook.PullRequestReporter)
    assert service._config_kwargs == {"token": TOKEN, "repo": "example/cpython",
                                      "base_url": "https://ghe.example.org/api/v3", "parts": ("comment", "check")}
    [generator] = service._config_args[0]
    assert generator.builders == ["Emscripten main", BUILDER]


def test_configure_rejects_unknown_parts(monkeypatch):
    monkeypatch.setenv("EP_GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("EP_GITHUB_REPORT_PARTS", "comment,tweet")
    with pytest.raises(ConfigErrors, match="tweet"):
        pr_hook.configure({"services": []}, [BUILDER])
