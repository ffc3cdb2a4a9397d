"""What an operator met in the first week, beyond the plugin's own tests (an independent re-check)."""

from __future__ import annotations

import hashlib  # noqa: F401 (hmac algorithms by name)
import hmac
import json
import os
import pwd
from pathlib import Path

import pytest

from emscripten_python.cli.main import main


def _create(tmp_path, monkeypatch, *extra) -> tuple[int, Path]:
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_WORKER_PASSWORD", "pw")
    basedir = tmp_path / "w1"
    rc = main(["worker", "create", "w1", "--master", "127.0.0.1:9989", "--basedir", str(basedir),
               "--service", "systemd", *extra])
    return rc, basedir


def test_worker_created_by_root_belongs_to_the_service_account(tmp_path, monkeypatch, capsys):
    """The documented path in a container (root) with `--user ACCOUNT`: the service runs as ACCOUNT,
    so the basedir (buildbot.tac is mode 600) and a new cache must be ACCOUNT's, else the service
    cannot even read its .tac; not root: a warning that says what to do instead."""
    account = pwd.getpwnam("nobody")
    tmp_path.chmod(0o755)
    rc, basedir = _create(tmp_path, monkeypatch, "--user", "nobody", "--cache-dir", str(tmp_path / "c" / "ep"))
    err = capsys.readouterr().err
    assert rc == 0
    if os.geteuid() == 0:
        owners = {path.stat().st_uid for path in (basedir, basedir / "buildbot.tac", basedir / "info",
                                                  tmp_path / "c", tmp_path / "c" / "ep")}
        assert owners == {account.pw_uid}, err
    else:
        assert "belongs to you, not to 'nobody'" in err and "sudo -u nobody" in err


def test_root_default_cache_is_the_service_accounts(tmp_path, monkeypatch, capsys):
    if os.geteuid() != 0:
        pytest.skip("only root creates a worker for another account")
    monkeypatch.delenv("EMSCRIPTEN_PYTHON_CACHE", raising=False)
    rc, basedir = _create(tmp_path, monkeypatch, "--user", "nobody")
    assert rc == 0
    unit = (basedir / "emscripten-python-worker-w1.service").read_text()
    # Not root's cache (/root/.cache), which the service account cannot reach; nobody's home
    # does not exist, which the operator is told.
    assert 'Environment="EMSCRIPTEN_PYTHON_CACHE=/nonexistent/.cache/emscripten-python"' in unit
    assert "nobody's home /nonexistent does not exist: pass --cache-dir" in capsys.readouterr().err
    assert not Path("/nonexistent").exists()


def test_unknown_service_account_is_named(tmp_path, monkeypatch, capsys):
    rc, basedir = _create(tmp_path, monkeypatch, "--user", "no-such-account-c3", "--cache-dir", str(tmp_path / "c"))
    assert rc == 0 and (basedir / "emscripten-python-worker-w1.service").exists()
    assert "there is no account 'no-such-account-c3' on this machine" in capsys.readouterr().err


def _unit_lines(text: str, key: str) -> list[str]:
    return [line.partition("=")[2] for line in text.splitlines() if line.startswith(f"{key}=")]


def test_systemd_environment_values_are_literal(tmp_path):
    """systemd.exec(5): Environment= does no variable expansion ("$" has no special meaning), only
    specifiers (%); so a `$` in the cache path must not be doubled there, as it must in ExecStart.
    The install comment is not parsed: it shows the path as typed."""
    from emscripten_python.worker.create import render_service, service_values

    basedir = tmp_path / "w $HOME 50%"
    values = service_values("w1", basedir, "systemd", "/venv/bin/buildbot-worker", tmp_path / "cache $x 5%",
                            user="buildbot", path="/usr/bin:/bin")
    text = render_service("systemd", values)
    assert _unit_lines(text, "Environment")[1] == f'"EMSCRIPTEN_PYTHON_CACHE={tmp_path}/cache $x 5%%"'
    assert _unit_lines(text, "ExecStart")[0].endswith(f'"{tmp_path}/w $$HOME 50%%"')
    install = next(line for line in text.splitlines() if line.startswith("# Install: "))
    assert f"'{basedir}/emscripten-python-worker-w1.service'" in install


# -- the test step's stdio as CPython's buildmaster reads it (buildbot_helpers.cpython_blocks) --

# What the CLI streams with two shards: each regrtest process prints its own summary, one of
# them names a flaky file (passed on re-run) as failed, and a crashed file has no summary at all.
SHARDED_CONSOLE = """0:00:00 load avg: 0.10 [1/2] test_failed_1
0:00:01 load avg: 0.10 [2/2] test_passed_0

== Tests result: FAILURE ==

1 test failed:
    test_failed_1

1 test OK.
0:00:00 load avg: 0.10 [1/2] test_crashed_2
RuntimeError: memory access out of bounds
0:00:00 load avg: 0.10 [1/1] test_flaky_3

== Tests result: FAILURE ==

1 test failed:
    test_flaky_3

0:00:01 load avg: 0.10 Re-running 1 failed tests in verbose mode
0:00:01 load avg: 0.10 [1/1] test_flaky_3 passed

== Tests result: FAILURE then SUCCESS ==

Total tests: run=3
Result: FAILURE then SUCCESS
"""

from buildbot.process.results import FAILURE  # noqa: E402
from buildbot.test.reactor import TestReactorMixin  # noqa: E402
from buildbot.test.steps import TestBuildStepMixin  # noqa: E402
from twisted.internet import defer  # noqa: E402
from twisted.trial import unittest  # noqa: E402

from buildbot_helpers import RERUN_HEADER, cpython_blocks, make_run, results_json, stdio_as_stored  # noqa: E402


class TestStdioForCPythonExtraction(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def test_last_failed_block_names_every_failing_file_of_every_shard(self):
        from emscripten_python.steps import EmscriptenTest
        from test_steps import CliShell, expect_results

        self.setup_step(EmscriptenTest())
        run = make_run("passed", "failed", "crashed", "flaky", "timed-out")
        self.expect_commands(CliShell(workdir="build", command=["emscripten-python", "test", "--source", ".", "--out",
                                                                 "../emscripten-python-out", "--stream", "--tests", "all"],
                                      timeout=1800, max_time=21600).stdout(SHARDED_CONSOLE).exit(30),
                             expect_results(results_json(run)))
        self.expect_outcome(result=FAILURE)
        # Before: two different blocks (the extraction reads either), one naming only the flaky file.
        assert cpython_blocks(SHARDED_CONSOLE) == {frozenset({"test_failed_1"}), frozenset({"test_flaky_3"})}
        d = self.run_step()

        def check(_):
            stdio = stdio_as_stored(self.get_nth_step(0).getLog("stdio"))
            assert cpython_blocks(stdio) == {frozenset({"test_crashed_2", "test_failed_1", "test_timed_out_4"})}, \
                stdio[-600:]
            assert cpython_blocks(stdio, RERUN_HEADER) == {frozenset({"test_flaky_3"})}
            assert stdio.startswith("o" + SHARDED_CONSOLE.splitlines()[0])    # regrtest's own text kept
            assert "\no| 1 test failed:\n" in stdio      # a process's own count, shown behind "| "
        return d.addCallback(check)


# -- the webhook's signature, as GitHub's webhook docs describe it ------------------------------
# GitHub signs the body with the secret: X-Hub-Signature-256: sha256=<HMAC-SHA256 hex> (the one
# GitHub tells receivers to check) and, for older receivers, X-Hub-Signature: sha1=<HMAC-SHA1 hex>.

class FakeRequest:
    def __init__(self, body: bytes, headers: dict[str, str]):
        import io
        self.content = io.BytesIO(body)
        self.headers = {name.lower().encode(): value.encode() for name, value in headers.items()}
        self.args = {}

    def getHeader(self, name):
        return self.headers.get(name.lower() if isinstance(name, bytes) else name.lower().encode())


class TestWebhookSignature(unittest.TestCase):
    SECRET = "s3cret"
    BODY = json.dumps({"action": "labeled", "number": 42, "label": {"name": "test-with-buildbots"}}).encode()

    def sign(self, algorithm: str, body: bytes = BODY, secret: str = SECRET) -> str:
        return f"{algorithm}={hmac.new(secret.encode(), body, algorithm).hexdigest()}"

    def payload(self, **signatures):
        from emscripten_python.steps import LabelGatedGitHubEventHandler
        handler = LabelGatedGitHubEventHandler(self.SECRET, True)
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request"}
        for name, value in signatures.items():
            headers[{"sha1": "X-Hub-Signature", "sha256": "X-Hub-Signature-256"}[name]] = value
        return defer.maybeDeferred(handler._get_payload, FakeRequest(self.BODY, headers))

    @defer.inlineCallbacks
    def test_both_valid_and_sha256_alone_are_accepted(self):
        self.assertEqual((yield self.payload(sha1=self.sign("sha1"), sha256=self.sign("sha256")))["number"], 42)
        self.assertEqual((yield self.payload(sha256=self.sign("sha256")))["number"], 42)

    @defer.inlineCallbacks
    def test_a_wrong_sha256_is_refused_even_with_a_valid_sha1(self):
        forged = self.sign("sha256", secret="guess")
        for signatures in (dict(sha1=self.sign("sha1"), sha256=forged), dict(sha256=forged),
                           dict(sha256="sha256=zz"), dict(sha256="md5=" + "0" * 32), {}):
            with self.assertRaises(ValueError, msg=str(signatures)):
                yield self.payload(**signatures)


# -- every documented exit code, as a build step's result --------------------------------------

def documented_exit_codes() -> list[int]:
    import re
    text = (Path(__file__).parents[2] / "docs" / "cli.rst").read_text()
    table = text[text.index("\nExit codes\n"):]
    return [int(code) for code in re.findall(r"^   \* - (\d+)$", table, re.M)]


def test_every_error_class_has_a_documented_exit_code():
    from emscripten_python.results import artifacts
    from emscripten_python import errors
    codes = {cls.exit_code for module in (errors, artifacts) for cls in vars(module).values()
             if isinstance(cls, type) and isinstance(getattr(cls, "exit_code", None), int)}
    assert codes <= set(documented_exit_codes()), codes - set(documented_exit_codes())


class TestExitCodesAsResults(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    """docs/buildbot.rst: 0 SUCCESS, 130 CANCELLED, anything else FAILURE (never EXCEPTION)."""

    def setUp(self):
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def test_each_documented_code(self):
        from buildbot.process.results import CANCELLED, SUCCESS
        from emscripten_python.steps.command import DECODE_RC
        from buildbot.process.remotecommand import RemoteCommand

        codes = documented_exit_codes()
        assert {0, 1, 2, 20, 30, 130} <= set(codes)
        for code in codes:
            command = RemoteCommand("shell", {}, decodeRC=DECODE_RC)
            command.rc = code
            expected = SUCCESS if code == 0 else CANCELLED if code == 130 else FAILURE
            self.assertEqual(command.results(), expected, code)

    def test_a_build_stage_exiting_130_unstopped_is_cancelled(self):
        """130 without a Stop (the CLI got SIGTERM/SIGINT from elsewhere): documented CANCELLED."""
        from buildbot.process.results import CANCELLED
        from emscripten_python.steps import EmscriptenBuildStage
        from test_steps import SILENCE, CliShell

        self.setup_step(EmscriptenBuildStage("make-host"))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", "--source", ".", "--out", "../emscripten-python-out", "--stream",
            "--only", "make-host", *SILENCE], timeout=1200, max_time=10800).exit(130))
        self.expect_outcome(result=CANCELLED)
        return self.run_step()


def test_results_upload_always_runs_and_records_an_early_end():
    """A failed or stopped clone leaves no results.json on the worker: upload-results still runs
    (the master writes the record, test_integration's checkout tests), never a red step."""
    from emscripten_python.steps import EmscriptenFactory
    from emscripten_python.steps.upload import EmscriptenResultsUpload
    from test_factory import built

    steps = {step.name: step for step in built(EmscriptenFactory())}
    upload = steps["upload-results"]
    assert isinstance(upload, EmscriptenResultsUpload) and upload.alwaysRun and upload.doStepIf is True
    assert not upload.flunkOnFailure and not upload.warnOnFailure and upload.branch == "main"


def test_steps_do_not_print_the_workers_environment():
    """Buildbot logs a command's whole environment by default: a worker started from a shell with
    EMSCRIPTEN_PYTHON_WORKER_PASSWORD (the documented alternative to --password-file) or a token
    exported put it into every public build log, as seen in a live master's step headers."""
    from emscripten_python.steps import EmscriptenFactory
    from test_factory import built

    steps = built(EmscriptenFactory())
    shells = [step for step in steps if hasattr(step, "logEnviron")]
    assert {step.name for step in shells} >= {"git", "toolchain", "make-host", "test", "bundle", "clean-driver"}
    assert [step.name for step in shells if step.logEnviron] == []


@defer.inlineCallbacks
def _labelled_change(monkeypatch):
    from buildbot.www.hooks.github import GitHubEventHandler

    from emscripten_python.steps import LabelGatedGitHubEventHandler
    from test_prgate import payload

    def unreachable(*args):
        return defer.fail(ConnectionRefusedError("api.github.com unreachable"))

    monkeypatch.setattr(GitHubEventHandler, "_get_commit_msg", unreachable)
    monkeypatch.setattr(GitHubEventHandler, "_get_pr_files", unreachable)
    handler = LabelGatedGitHubEventHandler(None, False, pullrequest_ref="merge")
    changes, _ = yield handler.handle_pull_request(payload("labeled", "test-with-buildbots"), "pull_request")
    return changes


def test_a_label_builds_even_when_the_github_api_cannot_be_reached(monkeypatch):
    """Live: the master could not reach GitHub's API, so the stock handler's look-ups (head commit
    message, PR files) raised, the delivery answered 500 and the maintainer's label built nothing."""
    results = []
    _labelled_change(monkeypatch).addBoth(results.append)
    assert not isinstance(results[0], Exception) and not hasattr(results[0], "getErrorMessage"), results[0]
    (change,) = results[0]
    assert (change["branch"], change["revision"], change["files"]) == ("refs/pull/42/merge", "abc123", [])
