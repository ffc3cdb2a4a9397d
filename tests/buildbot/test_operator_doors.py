"""The master's doors as an operator opens them: the htpasswd login, the no-login warning, and
GitHub Enterprise, each on a live master (master/master.cfg) on 127.0.0.1.

Defects they guard: Buildbot's HTPasswdAuth compared the typed password with the stored hash
as text (the password was refused, the hash let anyone who read the file in); the no-login
WARNING reached neither `buildbot start` nor the web UI; the webhook and commit statuses went
to api.github.com whatever EP_GITHUB_API_URL said.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.cookiejar
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emscripten_python.steps.htpasswd import HTPasswdError, read_htpasswd, verify

from test_integration import BIN, FAILURE, READY, SUCCESS, Fleet, read_json, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "status"))
from fake_github import FakeGitHub  # noqa: E402
from gh_helpers import SHA, TOKEN  # noqa: E402
from status_support import chromium_browser, require_system  # noqa: E402

pytestmark = pytest.mark.timeout(900)
HTPASSWD = "/usr/bin/htpasswd"


def htpasswd(path: Path, user: str, password: str, *flags: str) -> str:
    """Apache's own htpasswd (Debian's apache2-utils) adds `user`; returns the stored entry."""
    require_system(HTPASSWD, "apache2-utils")
    subprocess.run([HTPASSWD, *flags, "-b", *(["-c"] if not path.exists() else []), str(path), user, password],
                   check=True, capture_output=True)
    return next(line.partition(":")[2] for line in path.read_text().splitlines() if line.startswith(f"{user}:"))


class DoorFleet(Fleet):
    """A master started the way an operator does, `buildbot start` (daemon), with its output."""

    def start_daemon(self, **settings: str) -> subprocess.CompletedProcess:
        self.prepare_master()       # `buildbot upgrade-master` (it loads master.cfg too)
        self.env.update(settings)
        return subprocess.run([BIN / "buildbot", "start", self.master_dir], env=self.env, capture_output=True,
                              text=True, timeout=600)

    def stop(self):
        if (self.master_dir / "twistd.pid").exists():
            subprocess.run([BIN / "buildbot", "stop", self.master_dir], env=self.env, capture_output=True, timeout=120)
        super().stop()


@pytest.fixture
def doors(tmp_path):
    fleet = DoorFleet(tmp_path)
    try:
        yield fleet
    finally:
        fleet.stop()


# -- htpasswd -----------------------------------------------------------------------------------

def test_bcrypt_entries_verify_and_the_stored_hash_is_not_a_password(tmp_path):
    users = tmp_path / "users.htpasswd"
    stored = htpasswd(users, "alice", "correct horse", "-B")
    assert stored.startswith("$2y$")
    table = read_htpasswd(users)
    assert verify(table, "alice", b"correct horse")
    assert not verify(table, "alice", stored.encode())           # the hash is not a password
    assert not verify(table, "alice", b"correct hors") and not verify(table, "bob", b"correct horse")
    assert not verify(table, "alice", b"x" * 100)                 # over bcrypt's 72 bytes: refused, no error


@pytest.mark.parametrize("flags, kind", [((), "apr1 MD5, htpasswd's default"), (("-s",), "SHA-1"),
                                         (("-d",), "crypt or plain text"), (("-p",), "crypt or plain text")])
def test_other_htpasswd_formats_are_refused_in_one_line(tmp_path, flags, kind):
    users = tmp_path / "users.htpasswd"
    htpasswd(users, "alice", "pw", *flags)
    htpasswd(users, "bob", "pw", "-B")
    with pytest.raises(HTPasswdError) as refused:
        read_htpasswd(users)
    message = str(refused.value)
    assert "\n" not in message and f"'alice' ({kind})" in message and "bob" not in message
    assert f"htpasswd -B {users} USER" in message


def login(fleet: Fleet, user: str, password: str | bytes) -> urllib.request.OpenerDirector | int:
    """Logs in through the web UI's /auth/login (HTTP basic): an opener holding the session, or
    the HTTP status of the refusal."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    secret = password if isinstance(password, bytes) else password.encode()
    basic = base64.b64encode(user.encode() + b":" + secret).decode()
    try:
        opener.open(urllib.request.Request(f"{fleet.url}auth/login", headers={"Authorization": f"Basic {basic}"}),
                    timeout=60).read()
    except urllib.error.HTTPError as refused:
        return refused.code
    return opener


def whoami(fleet: Fleet, opener=None) -> dict:
    request = urllib.request.Request(f"{fleet.url}config")
    with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
        return json.load(response)["user"]


def test_live_master_logs_in_with_the_password_never_with_the_hash(doors, tmp_path):
    users = tmp_path / "users.htpasswd"
    stored = htpasswd(users, "alice", "correct horse", "-B")
    started = doors.start_daemon(EP_AUTH=f"htpasswd:{users}")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "WARNING" not in started.stdout
    wait_for(doors._reachable, READY, "the master's web API")

    session = login(doors, "alice", "correct horse")
    assert not isinstance(session, int), f"the password was refused: HTTP {session}"
    assert whoami(doors, session).get("username") == "alice"
    assert login(doors, "alice", stored) == 401                  # the stored hash typed as the password
    assert login(doors, "alice", "correct hors") == 401
    assert login(doors, "mallory", "correct horse") == 401
    assert whoami(doors).get("anonymous")
    # A user added while the master runs logs in without a restart.
    htpasswd(users, "bob", "battery staple", "-B")
    assert not isinstance(login(doors, "bob", "battery staple"), int)


def test_live_master_with_an_htpasswd_c_file_does_not_start_and_says_why_in_one_line(doors, tmp_path):
    users = tmp_path / "users.htpasswd"
    htpasswd(users, "alice", "correct horse")          # the documented `htpasswd -c` before: apr1 MD5
    started = doors.start_daemon(EP_AUTH=f"htpasswd:{users}")
    assert started.returncode != 0
    said = [line for line in started.stdout.splitlines() if "htpasswd" in line]
    assert len(said) == 1 and "'alice' (apr1 MD5, htpasswd's default)" in said[0], started.stdout
    assert f"htpasswd -B {users} USER" in said[0]
    assert "Traceback" not in started.stdout + started.stderr


# -- the no-login warning -------------------------------------------------------------------------

def test_no_login_warning_in_buildbot_start_and_on_every_page(doors):
    started = doors.start_daemon()
    assert started.returncode == 0, started.stdout + started.stderr
    assert "WARNING: EP_AUTH unset: the web UI has no login" in started.stdout, started.stdout
    wait_for(doors._reachable, READY, "the master's web API")
    config = read_json(f"{doors.url}config")
    assert config["title"] == "CPython: NO LOGIN"
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 600})
        for route in ("#/", "#/builders", "#/workers"):
            page.goto(f"{doors.url}{route}")
            banner = page.locator("nav").get_by_text("CPython: NO LOGIN").first
            banner.wait_for(state="visible", timeout=READY * 1000)


# -- GitHub Enterprise ----------------------------------------------------------------------------

def test_webhook_and_commit_statuses_use_the_enterprise_api_url(doors):
    with FakeGitHub(tokens=(TOKEN,)) as ghe:
        secret = "s3cret"
        doors.env.update({"EP_GITHUB_WEBHOOK_SECRET": secret, "EP_GITHUB_TOKEN": TOKEN,
                          "EP_GITHUB_API_URL": ghe.base_url, "EP_GITHUB_REPO": "python/cpython"})
        with doors.running():
            payload = pr_labeled(ghe, 42)
            body = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            request = urllib.request.Request(f"{doors.url}change_hook/github", data=body, headers={
                "Content-Type": "application/json", "X-GitHub-Event": "pull_request",
                "X-Hub-Signature-256": signature})
            with urllib.request.urlopen(request, timeout=60) as answer:
                assert answer.status == 200
            # The gate's calls: the head commit, the PR's files, the label removed, the comment.
            calls = wait_for(lambda: (seen := {(e.method, e.path) for e in ghe.log})
                             >= {("GET", f"/api/v3/repos/python/cpython/commits/{SHA}"),
                                 ("POST", "/api/v3/repos/python/cpython/issues/42/comments")} and seen,
                             READY, "the webhook's calls on the Enterprise API")
            assert ("DELETE", "/api/v3/repos/python/cpython/issues/42/labels/test-with-buildbots") in calls
            # The label's build (its checkout of refs/pull/42/merge fails on the stand-in
            # repository) posts its commit statuses there too: pending, then the result.
            doors.builder = "Emscripten PR"
            build = doors.finished_build(1)
            with doors.explained(build):
                assert build["results"] == FAILURE and doors.steps(build)["git"]["results"] == FAILURE
                states = wait_for(lambda: len(s := [x["state"] for x in ghe.statuses.get(SHA, [])]) >= 2 and s,
                                  READY, "both commit statuses")
                assert states == ["pending", "failure"]
            assert all(e.authorization == f"token {TOKEN}" for e in ghe.log if "/statuses/" in e.path)
            assert all(e.path.startswith("/api/v3/") for e in ghe.log)


def pr_labeled(ghe: FakeGitHub, number: int) -> dict:
    repo = {"full_name": "python/cpython", "name": "cpython", "html_url": f"{ghe.origin}/python/cpython",
            "clone_url": f"{ghe.origin}/python/cpython.git", "owner": {"login": "python"}}
    return {"action": "labeled", "number": number, "label": {"name": "test-with-buildbots"},
            "sender": {"login": "maintainer"}, "repository": repo,
            "pull_request": {"number": number, "title": "gh-1: fix", "body": "", "commits": 1,
                             "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                             "html_url": f"{ghe.origin}/python/cpython/pull/{number}",
                             "_links": {"html": {"href": f"{ghe.origin}/python/cpython/pull/{number}"}},
                             "head": {"sha": SHA, "ref": "fix", "repo": repo},
                             "base": {"ref": "main", "sha": "0" * 40, "repo": repo},
                             "user": {"login": "contributor"}}}


# -- a builder whose checkout keeps failing -------------------------------------------------------

def test_a_builder_whose_checkout_keeps_failing_turns_red_on_the_status_page(doors):
    """Green first (a passing build); then two builds whose clone fails: the status page's lane
    is red, not the green a failed checkout used to leave (it was recorded nowhere)."""
    doors.env["EP_TESTS"] = "test_ok_a"
    overview = f"{doors.url}plugins/wsgi_dashboards/emscripten-status/api/overview.json"

    def lane() -> dict | None:
        cells = read_json(overview)["cells"]
        return next((c for c in cells if (c["branch"], c["builder"]) == ("main", doors.builder)), None)

    with doors.running():
        doors.force()
        first = doors.finished_build(1)
        assert first["results"] == SUCCESS, first["state_string"]
        assert wait_for(lambda: (cell := lane()) and cell["state"] == "green" and cell, READY, "a green lane")
        doors.hold.write_text("fail checkout\n")
        for number in (2, 3):
            doors.force()
            build = doors.finished_build(number)
            with doors.explained(build):
                assert build["results"] == FAILURE and doors.steps(build)["git"]["results"] == FAILURE
                wait_for(lambda: doors.stored_run(number), READY, f"build {number} in the status store")
        cell = lane()
        assert (cell["state"], cell["streak"]) == ("red", 2), cell
