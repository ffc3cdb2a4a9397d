"""`buildbot checkconfig master`, as CI runs it, with the environment unset and fully set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MASTER = Path(__file__).parents[2] / "master"
# A bcrypt entry as `htpasswd -B` writes it (the password is "pw2").
BCRYPT_ENTRY = "$2y$05$rGzJs6sk7HVh5.EH6odub.LJRcZV2exVA41OToVcBSBDfLLD0oBCy"
BUILDBOT = Path(sys.executable).with_name("buildbot")


def checkconfig(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    # A copy: checkconfig loads buildbot.tac, which opens twistd.log next to it.
    master = tmp_path / "master"
    shutil.copytree(MASTER, master, ignore=shutil.ignore_patterns("state.sqlite*", "twistd.log*"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("EP_")}
    return subprocess.run([BUILDBOT, "checkconfig", str(master)], env={**env, **settings},
                          capture_output=True, text=True, timeout=120)


def test_defaults(tmp_path):
    done = checkconfig(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Config file is good!" in done.stdout
    assert "Title is too long" not in done.stderr


@pytest.mark.parametrize("settings", [{
    "EP_WORKERS": "linux-1:pw1 mac-mini:pw2", "EP_DB_URL": "sqlite:///other.sqlite",
    "EP_BRANCHES": "3.13 3.14 3.15 main", "EP_GITHUB_WEBHOOK_SECRET": "s3cret", "EP_GITHUB_TOKEN": "token",
    "EP_PR_LABEL": ":hammer: test-with-buildbots", "EP_TOOLCHAIN": "system", "EP_TESTS": "smoke", "EP_JOBS": "8",
    "EP_TIMEOUT_FACTOR": "2.5", "EP_MIRROR": "/srv/mirror", "EP_CACHE_DIR": "/srv/cache",
    "EP_ARTIFACTS_DIR": "/srv/artifacts", "EP_ARTIFACTS_URL": "https://ci.example.org/artifacts/",
    "EP_GITHUB_REPO": "python/cpython", "EP_GITHUB_API_URL": "https://ghe.example.org/api/v3",
    "EP_GITHUB_REPORT_PARTS": "comment,check",
}])
def test_everything_set(tmp_path, settings):
    done = checkconfig(tmp_path, **settings)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("settings", [{"EP_STATUS_DB": "sqlite:///{tmp}/status.sqlite"},
                                      {"EP_GITHUB_TOKEN": "token"},
                                      {"EP_STATUS_DB": "sqlite:///{tmp}/status.sqlite", "EP_GITHUB_TOKEN": "token"}],
                         ids=["status-db", "github-token", "both"])
def test_master_hooks(tmp_path, settings):
    done = checkconfig(tmp_path, **{key: value.format(tmp=tmp_path) for key, value in settings.items()})
    assert done.returncode == 0, done.stdout + done.stderr
    # Loading the configuration does not open (nor create) the status store.
    assert not (tmp_path / "status.sqlite").exists()


def test_unknown_report_part_is_a_config_error(tmp_path):
    done = checkconfig(tmp_path, EP_GITHUB_TOKEN="token", EP_GITHUB_REPORT_PARTS="comment,tweet")
    assert done.returncode != 0 and "tweet" in done.stdout + done.stderr


def load(monkeypatch, tmp_path, **settings) -> dict:
    """master.cfg's BuildmasterConfig, executed as the master would, with these settings."""
    import runpy
    for key in [k for k in os.environ if k.startswith("EP_")]:
        monkeypatch.delenv(key)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return runpy.run_path(str(MASTER / "master.cfg"))["BuildmasterConfig"]


def test_force_scheduler_cannot_build_a_pull_request_ref(monkeypatch, tmp_path, capsys):
    from buildbot.schedulers.forcesched import FixedParameter
    config = load(monkeypatch, tmp_path)
    forces = {s.name: s for s in config["schedulers"] if type(s).__name__ == "ForceScheduler"}
    assert list(forces) == ["force"]                         # no PR force without a login
    [codebase] = forces["force"]._config_kwargs["codebases"]     # as given, before the master starts it
    for field in ("branch", "revision", "repository", "project"):
        parameter = next(f for f in codebase.fields if f.name == field)
        assert isinstance(parameter, FixedParameter) and parameter.default == "", field
    assert "auth" not in config["www"] and "authz" not in config["www"]
    assert "WARNING: EP_AUTH unset" in capsys.readouterr().err
    assert config["title"] == "CPython: NO LOGIN"        # on every page of the web UI


def test_htpasswd_login_makes_its_users_admins_and_adds_the_pr_force(monkeypatch, tmp_path):
    from emscripten_python.steps.htpasswd import BcryptHTPasswdAuth
    users = tmp_path / "users.htpasswd"
    users.write_text(f"alice:{BCRYPT_ENTRY}\nbob:{BCRYPT_ENTRY}\n")
    config = load(monkeypatch, tmp_path, EP_AUTH=f"htpasswd:{users}")
    assert isinstance(config["www"]["auth"], BcryptHTPasswdAuth)
    assert config["title"] == "CPython Emscripten" and "theme" not in config["www"]
    [matcher] = config["www"]["authz"].roleMatchers
    assert matcher.roles == ["admins"] and sorted(matcher.usernames) == ["alice", "bob"]
    forces = {s.name: s for s in config["schedulers"] if type(s).__name__ == "ForceScheduler"}
    assert forces["force-pr"]._config_kwargs["builderNames"] == ["Emscripten PR"]
    [codebase] = forces["force-pr"]._config_kwargs["codebases"]
    branch = next(f for f in codebase.fields if f.name == "branch")
    assert branch.regex.match("refs/pull/123/merge") and not branch.regex.match("main")
    assert not branch.regex.match("refs/pull/1/merge; rm -rf /")


def test_github_login_and_max_builds(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, EP_AUTH="github:client:secret", EP_ADMINS="ned",
                  EP_ADMIN_GROUPS="python/python-core", EP_MAX_BUILDS="4", EP_WORKERS="w1:pw w2:pw")
    assert type(config["www"]["auth"]).__name__ == "GitHubAuth"
    assert [w.max_builds for w in config["workers"]] == [4, 4]


def test_unknown_auth_is_a_config_error(tmp_path):
    done = checkconfig(tmp_path, EP_AUTH="ldap:whatever")
    assert done.returncode != 0 and "EP_AUTH" in done.stdout + done.stderr


def test_checkconfig_with_htpasswd(tmp_path):
    users = tmp_path / "users.htpasswd"
    users.write_text(f"alice:{BCRYPT_ENTRY}\n")
    done = checkconfig(tmp_path, EP_AUTH=f"htpasswd:{users}", EP_MAX_BUILDS="2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr


def test_checkconfig_refuses_an_htpasswd_file_that_is_not_bcrypt(tmp_path):
    users = tmp_path / "users.htpasswd"
    users.write_text("alice:$apr1$2ymB0lBn$dj0qQOoXu7SDO9sa/23lH.\n")     # what `htpasswd -c` writes
    done = checkconfig(tmp_path, EP_AUTH=f"htpasswd:{users}")
    assert done.returncode != 0
    [line] = [line for line in (done.stdout + done.stderr).splitlines() if "htpasswd" in line]
    assert "'alice' (apr1 MD5, htpasswd's default)" in line and f"htpasswd -B {users} USER" in line
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("url", ["ghe.example.org/api/v3", "https://ghe.example.org/v3", "https://ghe.example.org"])
def test_a_github_api_url_that_is_not_an_enterprise_api_is_refused(tmp_path, url):
    done = checkconfig(tmp_path, EP_GITHUB_API_URL=url)
    assert done.returncode != 0 and "EP_GITHUB_API_URL" in done.stdout + done.stderr


def test_github_enterprise_url_reaches_the_login_webhook_and_statuses(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, EP_AUTH="github:client:secret", EP_GITHUB_TOKEN="token",
                  EP_GITHUB_WEBHOOK_SECRET="s3cret", EP_GITHUB_API_URL="https://ghe.example.org/api/v3")
    assert config["www"]["auth"].serverURL == "https://ghe.example.org"
    assert config["www"]["change_hook_dialects"]["github"]["github_api_endpoint"] == "https://ghe.example.org/api/v3"
    [push] = [s for s in config["services"] if type(s).__name__ == "GitHubStatusPush"]
    assert push._config_kwargs["baseURL"] == "https://ghe.example.org/api/v3"


def test_the_bisect_builder_and_its_form_exist_only_with_a_login(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path)
    assert "Emscripten bisect" not in [b.name for b in config["builders"]]
    users = tmp_path / "users.htpasswd"
    users.write_text(f"alice:{BCRYPT_ENTRY}\n")
    config = load(monkeypatch, tmp_path, EP_AUTH=f"htpasswd:{users}", EP_BRANCHES="3.14 main")
    assert "Emscripten bisect" in [b.name for b in config["builders"]]
    forces = {s.name: s for s in config["schedulers"] if type(s).__name__ == "ForceScheduler"}
    assert forces["force-bisect"]._config_kwargs["builderNames"] == ["Emscripten bisect"]
    assert "Emscripten bisect" not in forces["force"]._config_kwargs["builderNames"]
    fields = {f.name: f for f in forces["force-bisect"]._config_kwargs["properties"]}
    for name in ("good", "bad"):
        assert all(fields[name].regex.match(rev) for rev in ("main", "v3.14.0", "a1b2c3d", "HEAD~3", "main^"))
        assert not any(fields[name].regex.match(rev) for rev in ("--upload-pack=x", "-x", "a b", "a;b", ""))
    tests = fields["tests"].regex
    assert tests.match("test_os") and tests.match("test_os,test.test_asyncio.test_tasks")
    assert not any(tests.match(spec) for spec in ("test_os --x", "test_os,", "../x", "test_os;rm", "all"))
    [codebase] = forces["force-bisect"]._config_kwargs["codebases"]
    branch = next(f for f in codebase.fields if f.name == "branch")
    assert branch.choices == ["3.14", "main"]
