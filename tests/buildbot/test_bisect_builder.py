"""The `Emscripten bisect` builder on a live master (master/master.cfg) and worker on 127.0.0.1.

An admin logs in (htpasswd), forces a bisection from the builder's own form on a history of the
stand-in tree where one commit breaks a test; the build names that commit (step text and
properties) and uploads bisect.json and bisect.md. Anonymous users cannot force it.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from test_integration import SUCCESS, Fleet, wait_for
from test_master_config import BCRYPT_ENTRY       # user alice, password "pw2"

pytestmark = pytest.mark.timeout(900)
BUILDER = "Emscripten bisect"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


class BisectFleet(Fleet):
    def __init__(self, root):
        super().__init__(root, builder=BUILDER)
        users = root / "users.htpasswd"
        users.write_text(f"alice:{BCRYPT_ENTRY}\n")
        self.env["EP_AUTH"] = f"htpasswd:{users}"
        self.repo = root / "cpython"
        self.commits = [self.git("rev-parse", "HEAD")]
        behaviour = self.repo / "Lib" / "test" / "fake-behaviour"
        behaviour.parent.mkdir(parents=True, exist_ok=True)
        for number, breaks in enumerate((False, False, True, False, False), 1):
            with (self.repo / "Lib" / "os.py").open("a") as lib:
                lib.write(f"# change {number}\n")
            if breaks:
                behaviour.write_text("test_target test_fail\n")
            self.git("add", "-A")
            self.git("commit", "-q", "-m", f"change {number}" + (": test_target fails" if breaks else ""))
            self.commits.append(self.git("rev-parse", "HEAD"))

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.repo, env={**os.environ, **GIT_ENV}, check=True,
                              capture_output=True, text=True).stdout.strip()

    def session(self, user: str | None) -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        if user:
            basic = base64.b64encode(f"{user}:pw2".encode()).decode()
            opener.open(urllib.request.Request(f"{self.url}auth/login", headers={"Authorization": f"Basic {basic}"}),
                        timeout=60).read()
        return opener

    def force_bisect(self, opener, **properties) -> dict:
        body = json.dumps({"jsonrpc": "2.0", "method": "force", "id": 1, "params": {
            "builderid": str(self.builder_id()), "branch": "main", **properties}}).encode()
        request = urllib.request.Request(f"{self.url}api/v2/forceschedulers/force-bisect", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as refused:
            return {"http": refused.code, "body": refused.read().decode(errors="replace")}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with BisectFleet(tmp_path_factory.mktemp("bisect-fleet")).running() as fleet:
        yield fleet


def test_anonymous_users_cannot_start_a_bisection(fleet):
    answer = fleet.force_bisect(fleet.session(None), good=fleet.commits[0], bad="main", tests="test_target")
    assert answer.get("http") == 403, answer
    assert not fleet.get(f"builders/{fleet.builder_id()}/builds")["builds"]


def test_the_form_refuses_an_option_as_a_revision(fleet):
    answer = fleet.force_bisect(fleet.session("alice"), good="--upload-pack=touch x", bad="main", tests="test_target")
    assert answer.get("http") == 400 and "good" in answer["body"], answer
    assert not fleet.get(f"builders/{fleet.builder_id()}/builds")["builds"]


def test_an_admin_bisects_and_the_build_names_the_commit(fleet):
    answer = fleet.force_bisect(fleet.session("alice"), good=fleet.commits[0], bad="main", tests="test_target",
                                flaky_reruns=1)
    assert "error" not in answer, answer
    build = fleet.finished_build(1)
    with fleet.explained(build):
        assert build["results"] == SUCCESS, build["state_string"]
        steps = fleet.steps(build)
        culprit = fleet.commits[3]
        assert steps["bisect"]["state_string"].startswith(f"first bad commit {culprit[:12]} (")
        props = {name: value for name, (value, _source) in build["properties"].items()}
        assert props["bisect_first_bad"] == culprit and props["bisect_state"] == "found"
        assert props["bisect_builds"] <= 2 + 3          # ceil(log2 5) + the endpoints
        uploaded = json.loads(open(props["bisect_path"]).read())
        assert uploaded["first_bad"]["commit"] == culprit and uploaded["flaky_reruns"] == 1
        assert culprit[:12] in open(props["bisect-summary_path"]).read()
        assert props["bisect_url"].startswith("http://artifacts.test/Emscripten-bisect/1/")
        assert "--good=" + fleet.commits[0] in fleet.step_log(steps["bisect"])
        # The master's status hook records the answer (record_status in master.cfg): the test
        # page of the store shows the culprit, filed under this builder and branch.
        wait_for(lambda: _recorded(fleet), 120, "the bisection in the status store")
        [row] = _recorded(fleet)
        assert (row["state"], row["first_bad"]["commit"], row["builder"], row["branch"], row["origin"]) == (
            "found", culprit, BUILDER, "main", "buildbot")
        assert row["builds"] == props["bisect_builds"] and row["build_url"].endswith("/builds/1")
    wait_for(lambda: not fleet.leftover_processes(), 60, "the build's processes to end")


def _recorded(fleet) -> list[dict]:
    """The store's bisections of test_target, as its JSON API gives them."""
    from sqlalchemy.exc import OperationalError

    from emscripten_python.status.errors import StatusError
    from emscripten_python.status.web import create_app
    try:
        app = create_app(fleet.status_db)
    except (OperationalError, StatusError):     # the master's hook is writing (SQLite locked): not yet
        return []
    try:
        answer = app.test_client().get("/api/test/test_target.json")
        return answer.get_json()["bisections"] if answer.status_code == 200 else []
    finally:
        app.extensions["emscripten_python_status"].close()
