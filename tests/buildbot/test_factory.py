"""EmscriptenFactory: the steps it assembles, their commands and scaled timeouts, and the
stage table it takes from the recipes."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildbot.plugins import steps, util

from emscripten_python.building.recipes import BuildContext, recipe_for
from emscripten_python.building.source import CPythonSource, EmscriptenPin, Era
from emscripten_python.steps import EmscriptenFactory
from emscripten_python.steps.factory import ERA_STAGES, era_for_branch
from emscripten_python.building.toolchain import Toolchain


def built(factory) -> list:
    return [step_factory.buildStep() for step_factory in factory.steps]


def recipe_stage_names(tmp_path: Path, era: Era, driver_main: str = "") -> list[str]:
    if era is Era.PLATFORMS:
        (tmp_path / "Platforms" / "emscripten").mkdir(parents=True)
        (tmp_path / "Platforms" / "emscripten" / "__main__.py").write_text(driver_main)
    source = CPythonSource(path=tmp_path, version="3.15.0" if era is Era.PLATFORMS else "3.13.15", era=era,
                           pin=EmscriptenPin("4.0.12", None, "test"))
    context = BuildContext(source=source, toolchain=Toolchain("system", Path("/x/emcc"), "4.0.12"), jobs=2,
                           build_triplet=lambda tree: "x86_64-pc-linux-gnu")
    return [step.name for step in recipe_for(source).steps(context)]


@pytest.mark.parametrize("era, driver_main", [
    (Era.CONFIGURE, ""),
    (Era.PLATFORMS, "subcommands: make-dependencies configure-host"),
    (Era.PLATFORMS, "subcommands: make-libffi make-mpdec configure-host"),
])
def test_stage_table_matches_the_recipes(tmp_path, era, driver_main):
    recipe_names = recipe_stage_names(tmp_path, era, driver_main)
    table = [name for stage in ERA_STAGES[era] for name in (stage if isinstance(stage, tuple) else (stage,))
             if name in recipe_names]
    assert table == recipe_names


@pytest.mark.parametrize("branch, era", [("3.11", Era.CONFIGURE), ("3.13", Era.CONFIGURE), ("3.14", Era.PLATFORMS),
                                         ("3.15", Era.PLATFORMS), ("main", Era.PLATFORMS),
                                         ("refs/pull/123/merge", Era.PLATFORMS)])
def test_era_for_branch(branch, era):
    assert era_for_branch(branch) is era


def test_driver_era_steps_in_order():
    names = [step.name for step in built(EmscriptenFactory(branch="3.14"))]
    assert names == ["git", "clean-previous", "toolchain", "configure-build-python", "make-build-python",
                     "pythoninfo-build", "make-dependencies", "configure-host", "make-host", "pythoninfo-host",
                     "test", "bundle", "upload-results", "upload-junit", "upload-summary", "upload-bundle",
                     "clean-driver", "clean"]


def test_configure_era_settings_and_scaled_timeouts():
    factory = EmscriptenFactory(branch="3.13", toolchain="system", tests="smoke", jobs=4, timeout_factor=2,
                                mirror="/srv/mirror", repourl="file:///srv/cpython.git", cli=["/opt/ep"])
    by_name = {step.name: step for step in built(factory)}
    assert [name for name in by_name if name.startswith(("configure", "make"))] == [
        "configure-build-python", "make-build-python", "configure-host", "make-host"]
    git = by_name["git"]
    assert (git.repourl, git.branch, git.mode, git.method) == ("file:///srv/cpython.git", "3.13", "full", "fresh")
    assert (git.haltOnFailure, git.flunkOnFailure) == (True, True)
    toolchain = by_name["toolchain"]
    assert toolchain.command[:9] == ["/opt/ep", "toolchain", "--source", ".", "--out", "../emscripten-python-out",
                                     "--stream", "--toolchain", "system"]
    assert (toolchain.sigtermTime, toolchain.interruptSignal) == (30, "KILL")
    assert "--mirror" in toolchain.command and (toolchain.timeout, toolchain.maxTime) == (3600, 14400)
    make_host = by_name["make-host"]
    assert make_host.command[-6:] == ["--only", "make-host", "-j", "4", "--silence-timeout", "2340"]
    assert (make_host.timeout, make_host.maxTime, make_host.haltOnFailure) == (2400, 21600, True)
    test = by_name["test"]
    assert test.command[-6:] == ["--tests", "smoke", "--jobs", "4", "--timeout", "2400"]
    assert (test.timeout, test.maxTime, test.haltOnFailure) == (3600, 43200, False)
    assert by_name["clean"].alwaysRun and not by_name["clean-previous"].alwaysRun
    assert all(by_name[name].alwaysRun for name in by_name if name.startswith("upload-"))


def test_uploads_go_to_the_configured_place():
    by_name = {step.name: step for step in built(EmscriptenFactory(upload_dir="/srv/a", upload_url="https://a/"))}
    upload = by_name["upload-junit"]
    assert upload.workersrc == "../emscripten-python-out/junit.xml" and upload.workdir == "build"
    assert upload.url is not None and not upload.flunkOnFailure and upload.warnOnFailure
    # results.json is missing only when the toolchain step failed first: nothing to warn about twice.
    assert not by_name["upload-results"].warnOnFailure


def test_registered_as_buildbot_plugins():
    assert util.EmscriptenFactory is EmscriptenFactory
    for name in ("EmscriptenToolchain", "EmscriptenBuildStage", "EmscriptenTest", "EmscriptenBundle",
                 "EmscriptenUpload", "EmscriptenClean"):
        assert getattr(steps, name).__module__.startswith("emscripten_python.steps.")
    assert util.LabelGatedGitHubEventHandler.__name__ == "LabelGatedGitHubEventHandler"


class Branch:
    """What buildmaster-config's BranchInfo offers a factory (written from its branches.py)."""

    def __init__(self, name, version_tuple, git_branch, is_pr=False):
        self.name, self.version_tuple, self.git_branch, self.is_pr = name, version_tuple, git_branch, is_pr


class Worker:
    """What buildmaster-config's CPythonWorker offers a factory."""

    def __init__(self, timeout_factor=1, parallel_tests=None):
        self.name, self.timeout_factor, self.parallel_tests = "rkm-emscripten", timeout_factor, parallel_tests


def test_constructible_the_way_cpythons_master_does():
    source = steps.GitHub(repourl="https://github.com/python/cpython.git", mode="full", method="fresh")
    pr = Branch("PR", None, None, is_pr=True)
    factory = EmscriptenFactory(source, branch=pr, worker=Worker(timeout_factor=2, parallel_tests=4))
    by_name = {step.name: step for step in built(factory)}
    # The caller's checkout step is the first step, not a second clone.
    assert list(by_name)[0] == "git" and sum(name == "git" for name in by_name) == 1
    assert by_name["git"].repourl == "https://github.com/python/cpython.git" and by_name["git"] is not None
    assert "make-dependencies" in by_name          # a PR builds like main (the driver era)
    assert by_name["test"].command[-6:] == ["--tests", "all", "--jobs", "4", "--timeout", "2400"]
    assert by_name["make-host"].timeout == 2400    # the worker's timeout_factor
    assert factory.tags == ["emscripten"] and EmscriptenFactory.buildersuffix == ".emscripten"
    assert EmscriptenFactory(source, branch=pr, worker=Worker(), extra_tags=["x"]).tags == ["emscripten", "x"]


@pytest.mark.parametrize("branch, built_here", [
    (Branch("3.x", (3, 16), "main"), True), (Branch("3.14", (3, 14), "3.14"), True),
    (Branch("3.11", (3, 11), "3.11"), True), (Branch("3.10", (3, 10), "3.10"), False),
    (Branch("PR", None, None, is_pr=True), True), ("main", True), ("3.13", True), ("3.9", False),
    ("refs/pull/1/merge", True), ("feature", False)])
def test_branches_it_builds(branch, built_here):
    assert (branch in EmscriptenFactory.branches) is built_here


def test_configure_era_branch_object_picks_configure_stages():
    names = [step.name for step in built(EmscriptenFactory(branch=Branch("3.13", (3, 13), "3.13")))]
    assert "make-dependencies" not in names and "configure-host" in names


def test_pythoninfo_steps_can_be_left_out():
    names = [step.name for step in built(EmscriptenFactory(pythoninfo=False))]
    assert not [name for name in names if name.startswith("pythoninfo")]


def test_a_subclass_sets_the_defaults_cpythons_master_cannot_pass():
    class EmscriptenBuild(EmscriptenFactory):
        toolchain, tests, pythoninfo = "system", "smoke", False

    by_name = {step.name: step for step in built(EmscriptenBuild(None, branch="main", worker=Worker()))}
    assert by_name["toolchain"].command[7:9] == ["--toolchain", "system"]
    assert by_name["test"].command[7:9] == ["--tests", "smoke"]
    assert "pythoninfo-host" not in by_name
    # An argument still wins over the class attribute.
    assert {s.name: s for s in built(EmscriptenBuild(tests="all"))}["test"].command[7:9] == ["--tests", "all"]
