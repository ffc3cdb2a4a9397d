"""`buildbot checkconfig master`, as CI runs it, with the environment unset and fully set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MASTER = Path(__file__).parents[2] / "master"
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
