"""`emscripten-python report` with and without --github; secrets never leave the process."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_github import FakeGitHub
from gh_helpers import SHA, TOKEN, dump, make_run
from runner_commands import unexpected

from emscripten_python.cli.main import main
from emscripten_python.errors import ReportDeliveryError
from emscripten_python.github.reporter import MARKER
from emscripten_python.report.markdown import render_markdown
from emscripten_python.results.validation import load_validated

FAST = ["--timeout", "1", "--backoff", "0.001", "--throttle", "0", "--attempts", "3", "--settle", "0.05"]


def _args(fake, out, *extra):
    return ["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7",
            "--sha", SHA, "--base-url", fake.base_url, *FAST, *extra]


def _everything(capfd, caplog, out) -> str:
    captured = capfd.readouterr()
    files = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    return captured.out + captured.err + caplog.text + files


@pytest.fixture
def results(tmp_path, example_run):
    return dump(tmp_path / "out", make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00",
                                           failing=2))


def test_plain_report_is_unchanged(results, capsys):
    run = load_validated(results / "results.json")
    assert main(["report", "--out", str(results)]) == 0
    assert capsys.readouterr().out == render_markdown(run) + "\n"
    assert main(["report", "--out", str(results), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == run.to_dict()
    assert main(["report", "--out", str(results / "nowhere")]) == 40


def test_report_github_posts_and_records_without_the_token(fake, results, monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    before = (results / "results.json").read_text()

    assert main(_args(fake, results, "--name", "node 3.13", "--details-url", "https://ci.example.org/17")) == 0

    [comment] = fake.comments_on(7)
    assert MARKER.match(comment["body"]) and "node 3.13" in comment["body"]
    assert len(fake.check_runs) == 1 and len(fake.statuses[SHA]) == 1
    record = json.loads((results / "github-report.json").read_text())
    assert record["ok"] and [p["action"] for p in record["parts"]] == ["created"] * 3
    assert (results / "results.json").read_text() == before
    everything = _everything(capfd, caplog, results)
    assert "github comment: created" in everything
    assert TOKEN not in everything and TOKEN[4:20] not in everything


def test_outage_is_a_clear_failure_and_results_stay(fake, results, monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    fake.faults = lambda method, path: "503"
    before = (results / "results.json").read_text()

    assert main(_args(fake, results)) == 50

    captured = capfd.readouterr()
    assert "error: the GitHub report was not delivered" in captured.err
    assert "gave up after 3 attempts; last error: HTTP 503" in captured.err
    assert "send them again" in captured.err
    assert (results / "results.json").read_text() == before
    record = json.loads((results / "github-report.json").read_text())
    assert not record["ok"] and {p["action"] for p in record["parts"]} == {"failed"}
    # The fake echoed the Authorization header in its 503 body; it reached no output.
    everything = captured.out + captured.err + caplog.text + (results / "github-report.json").read_text()
    assert "Authorization: ***" in everything
    assert TOKEN not in everything and TOKEN[4:20] not in everything


def test_missing_token_is_reported_before_anything_is_sent(fake, results, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert main(_args(fake, results)) == 50
    assert "no GitHub token: $GITHUB_TOKEN is empty or unset" in capsys.readouterr().err
    assert fake.log == []


def test_pr_from_an_untrusted_file_is_verified_against_the_trusted_sha(fake, results, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    context = results.parent / "github-context.json"
    context.write_text(json.dumps({"pr": 7}))
    fake.pulls[7] = "e" * 40      # the PR has moved on, or the file names someone else's PR

    args = ["report", "--out", str(results), "--github", "--repo", "python/cpython", "--pr-from", str(context),
            "--sha", SHA, "--base-url", fake.base_url, "--parts", "comment", *FAST]
    assert main(args) == 0
    assert fake.comments_on(7) == []
    context.write_text(json.dumps({"pr": "7; rm -rf /"}))
    assert main(args) == 50
    assert "is not a pull request number" in capsys.readouterr().err


@pytest.mark.parametrize("content, said", [
    (b"[7]", "is not a JSON object"),
    (b"7", "is not a JSON object"),
    (b"null", "is not a JSON object"),
    (b"[" * 10_000, "nests 10,000 levels deep"),
    (b'{"pr": 7, "x": ' + b"[" * 40 + b"]" * 40 + b"}", "nests 41 levels deep"),
    (b"\xff", "is not UTF-8"),
    (b'{"pr": NaN}', "NaN is not valid JSON"),
    (b'{"pr": 99999999999999999999999}', '"pr" is not a pull request number'),
    (b'{"pr": 2147483648}', '"pr" is not a pull request number'),
    (b'{"pr": 0}', '"pr" is not a pull request number'),
    (b'{"pr": 7}' + b" " * (64 * 1024), "more than the limit of 65,536"),
])
def test_pr_from_a_hostile_file_is_one_line_and_no_request(fake, results, monkeypatch, capsys, content, said):
    # The file is written by the untrusted job: anything but a small JSON object holding a PR
    # number (the `pr` input's range) fails delivery (50) with one line before any request.
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    context = results.parent / "github-context.json"
    context.write_bytes(content)
    args = ["report", "--out", str(results), "--github", "--repo", "python/cpython", "--pr-from", str(context),
            "--sha", SHA, "--base-url", fake.base_url, *FAST]
    assert main(args) == 50
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --pr-from {context}") and said in err, err
    assert fake.log == []


def test_app_lookup_retries_print_nothing_a_runner_executes(results, monkeypatch, capsys):
    # GET /app failing with a 5xx is retried, and each retry is a line on stderr quoting the
    # server's message: through untrusted.actions_safe, like every other line of the report.
    from github import GithubException

    from emscripten_python.github.client import Credentials

    def failing(self, base_url=None, timeout=15):
        raise GithubException(502, {"message": "bad gateway\n::add-mask::EVIL\r::error::x"}, {})

    monkeypatch.setattr(Credentials, "app_bot_login", failing)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setenv("APP_KEY", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with FakeGitHub(app_public_key=public, app_id="4242") as fake:
        code = main(_args(fake, results, "--app-id", "4242", "--app-key-env", "APP_KEY", "--installation-id", "99"))
    err = capsys.readouterr().err
    assert code == 50 and "attempt 1 failed (HTTP 502 bad gateway" in err, err
    assert unexpected("", err) == [], err


def test_github_app_authentication(results, monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    monkeypatch.setenv("APP_KEY", pem)
    with FakeGitHub(app_public_key=public, app_id="4242") as fake:
        assert main(_args(fake, results, "--app-id", "4242", "--app-key-env", "APP_KEY",
                          "--installation-id", "99")) == 0
        assert len(fake.comments_on(7)) == 1
        minted = [t for t in fake.tokens if t.startswith("ghs_")]
        assert minted and fake.log[0].path.endswith("/app/installations/99/access_tokens")
    everything = _everything(capfd, caplog, results)
    assert minted[0] not in everything
    assert "PRIVATE KEY" not in everything and pem.splitlines()[1] not in everything


def test_order_in_actions_is_the_workflow_run_creation_time(tmp_path, monkeypatch):
    """One scheme for every workflow: the creation time GitHub recorded for the run (the
    triggering run's for workflow_run, from the event; else this run's, from the API)."""
    from emscripten_python.github.cli import actions_run_order

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"workflow_run": {"run_number": 17, "created_at": "2026-12-01T10:00:05Z"}}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_run")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert actions_run_order(None, "python/cpython") == 1796119205
    for bad in ("17; rm -rf /", None, 17, "2026-12-01T10:00:05"):      # no time zone: not GitHub's
        event.write_text(json.dumps({"workflow_run": {"created_at": bad}}))
        with pytest.raises(ReportDeliveryError):
            actions_run_order(None, "python/cpython")
