"""The release workflow: builds once, tests what it built, publishes by trusted publishing, and
moves vMAJOR last; plus the metadata it publishes (version, classifiers, changelog)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from release_support import ROOT, VERSION
from trove_classifiers import classifiers as known_classifiers

WORKFLOW_TEXT = (ROOT / ".github" / "workflows" / "release.yml").read_text()
WORKFLOW = yaml.safe_load(WORKFLOW_TEXT)
JOBS = WORKFLOW["jobs"]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _needs(job: str) -> set[str]:
    """Every job `job` waits for, directly or through others."""
    direct = JOBS[job].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    return set(direct).union(*(_needs(name) for name in direct))


def test_only_a_version_tag_starts_it_and_nothing_has_permissions_by_default():
    assert WORKFLOW[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}     # YAML 1.1 reads `on:` as True
    assert WORKFLOW["permissions"] == {}


def test_the_order_build_test_publish_then_the_major_tag():
    assert _needs("test") == {"build"}
    assert _needs("publish") == {"build", "test"}
    assert _needs("move-major-tag") == {"build", "test", "publish"}
    assert set(JOBS) == {"build", "test", "publish", "move-major-tag"}


def test_publishing_is_trusted_publishing_with_no_token():
    publish = JOBS["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    [step] = [s for s in publish["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert not step.get("with"), "no password, no token: the action exchanges the job's OIDC token"
    assert "secrets." not in WORKFLOW_TEXT
    assert not any("id-token" in job.get("permissions", {}) for name, job in JOBS.items() if name != "publish")
    assert JOBS["move-major-tag"]["permissions"] == {"contents": "write"}


def test_the_test_job_tests_the_built_files():
    test = JOBS["test"]
    [download] = [s for s in test["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    [run] = [s for s in test["steps"] if "pytest" in s.get("run", "")]
    assert run["env"]["EP_RELEASE_DIST"] == download["with"]["path"].rstrip("/") == "dist"
    assert "tests/release" in run["run"]


def test_every_action_is_pinned_by_full_commit_sha():
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", WORKFLOW_TEXT, re.M)
    assert len(uses) >= 8
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*# v\d+(\.\d+)*", comment), f"{ref}: the version as a comment"


def _version_check(tmp_path: Path, tag: str, dist: list[str], changelog: str) -> subprocess.CompletedProcess:
    """The build job's version and changelog step, run by bash as the runner runs it."""
    [step] = [s for s in JOBS["build"]["steps"] if s.get("name", "").startswith("The tag is the built version")]
    (tmp_path / "dist").mkdir()
    for name in dist:
        (tmp_path / "dist" / name).touch()
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={"TAG": tag, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)


BUILT = ["emscripten_python-1.2.3.tar.gz", "emscripten_python-1.2.3-py3-none-any.whl"]


@pytest.mark.parametrize("tag, dist, changelog, error", [
    ("v1.2.3", BUILT, "## [1.2.3] - 2027-01-31\n", None),
    ("v1.2.4", BUILT, "## [1.2.4] - 2027-01-31\n", "tag v1.2.4 is not the version built"),
    ("v1.2.3", BUILT[:1], "## [1.2.3] - 2027-01-31\n", "is not the version built"),
    ("v1.2.3", BUILT, "## [1.2.3] - unreleased\n", "CHANGELOG.md has no section '## [1.2.3] - YYYY-MM-DD'"),
    ("v1.2.3", BUILT, "## [1.2.3a] - 2027-01-31\n## [1x2x3] - 2027-01-31\n", "CHANGELOG.md has no section"),
])
def test_the_tag_must_be_the_built_version_with_a_dated_changelog(tmp_path, tag, dist, changelog, error):
    done = _version_check(tmp_path, tag, dist, changelog)
    if error is None:
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert done.returncode == 1 and done.stdout.startswith("::error title=release::") and error in done.stdout


def test_the_changelog_has_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - (\d{{4}}-\d{{2}}-\d{{2}}|unreleased)$", changelog, re.M)
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{VERSION}]")


def test_the_version_has_one_source_and_the_metadata_is_publishable():
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "emscripten_python.__version__"}
    assert set(PROJECT["classifiers"]) <= known_classifiers, set(PROJECT["classifiers"]) - known_classifiers
    assert all((ROOT / name).is_file() for name in PROJECT["license-files"])
