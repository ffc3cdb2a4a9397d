"""EmscriptenFactory: checkout, the CLI's stages one step each, uploads, and an always-run clean."""

from __future__ import annotations

from buildbot import config
from buildbot.process.factory import BuildFactory
from buildbot.process.properties import Property

from ..building.source import Era
from .checkout import EmscriptenCheckout
from .command import CLI, CHECKOUT, OUT, RESULTS
from .regrtest import EmscriptenTest
from .stages import (BUNDLE_PROPERTY, HOUR, MINUTE, EmscriptenBuildStage,
                     EmscriptenBundle, EmscriptenClean, EmscriptenDriverClean, EmscriptenPythonInfo,
                     EmscriptenToolchain)
from .upload import EmscriptenResultsUpload, EmscriptenUpload

CPYTHON_REPO = "https://github.com/python/cpython.git"
# The CLI's default per-file regrtest timeout, scaled with timeout_factor like every other timeout.
FILE_TIMEOUT = 20 * MINUTE

# Build stages per era, as the recipes name them (tests/buildbot/test_factory.py checks this
# against emscripten_python.building.recipes). A tuple is one step that runs whichever of its stages
# the tree has: the dependency stage changed name inside the driver era.
ERA_STAGES = {
    Era.CONFIGURE: ("configure-build-python", "make-build-python", "configure-host", "make-host"),
    Era.PLATFORMS: ("configure-build-python", "make-build-python", ("make-dependencies", "make-libffi", "make-mpdec"),
                    "configure-host", "make-host"),
}
ERA_STAGES[Era.TOOLS_WASM] = ERA_STAGES[Era.PLATFORMS]
# The warn-only pythoninfo step after the stage that built its interpreter (CPython's builder runs both).
PYTHONINFO_AFTER = {"make-build-python": "pythoninfo-build", "make-host": "pythoninfo-host"}


def era_for_branch(branch: str) -> Era:
    """3.11-3.13 build with configure; 3.14+, main and pull requests (against main) use the driver."""
    parts = branch.split(".")
    if len(parts) == 2 and parts[0] == "3" and parts[1].isdigit() and int(parts[1]) <= 13:
        return Era.CONFIGURE
    return Era.PLATFORMS


def _has_property(name: str):
    return lambda step: bool(step.getProperty(name))


def branch_name(branch) -> str:
    """A branch as a git ref: a string as is; an object like buildmaster-config's BranchInfo by
    its `git_branch` (None for the PR pseudo-branch: a PR targets main)."""
    if isinstance(branch, str):
        return branch
    return getattr(branch, "git_branch", None) or "main"


class SupportedBranches:
    """`branch in EmscriptenFactory.branches`: 3.11 and later, main, and pull requests.

    Takes a branch name or an object with `version_tuple` / `is_pr` (buildmaster-config's
    BranchInfo), which is how CPython's master.cfg asks a factory whether to build a branch.
    """

    OLDEST = (3, 11)

    def __contains__(self, branch) -> bool:
        if not isinstance(branch, str):
            if getattr(branch, "is_pr", False):
                return True
            version = getattr(branch, "version_tuple", None)
            return version is not None and tuple(version) >= self.OLDEST
        if branch in ("main", "3.x") or branch.startswith("refs/pull/"):
            return True
        major, _, minor = branch.partition(".")
        return major.isdigit() and minor.isdigit() and (int(major), int(minor)) >= self.OLDEST

    def __repr__(self) -> str:
        return f"<branches 3.{self.OLDEST[1]}+, main, PR>"


class EmscriptenFactory(BuildFactory):
    """The whole Emscripten build as one factory, usable two ways:

    - on its own: ``EmscriptenFactory(branch="3.14", toolchain="emsdk", ...)`` makes its own
      checkout step (``repourl``);
    - as CPython's buildmaster-config builds factories: ``EmscriptenFactory(source, branch=branch,
      worker=worker)`` with the master's checkout step, a BranchInfo-like branch and a
      CPythonWorker-like worker (its ``timeout_factor`` and ``parallel_tests`` are used), plus
      the class attributes that master.cfg reads: ``branches``, ``buildersuffix``,
      ``factory_tags`` and ``tags``.
    """

    buildersuffix = ".emscripten"
    factory_tags = ["emscripten"]
    tags = ()
    branches = SupportedBranches()
    # Defaults of the keyword arguments below: a subclass sets them, the way buildmaster-config's
    # factories are configured (`class EmscriptenBuild(EmscriptenFactory): toolchain = "system"`),
    # since CPython's master.cfg calls every factory as factory(source, branch=..., worker=...).
    toolchain = "emsdk"
    tests = "all"
    mirror = None
    cache_dir = None
    upload_dir = "artifacts"
    upload_url = None
    pythoninfo = True
    cli = CLI

    def __init__(self, source=None, *, branch="main", worker=None, extra_tags=(), toolchain=None, tests=None,
                 jobs=None, timeout_factor=None, mirror=None, repourl=CPYTHON_REPO, era: Era | None = None,
                 cli=None, cache_dir=None, upload_dir=None, upload_url=None, pythoninfo=None,
                 nodes=(), browser=False):
        """source: the checkout step (default: a GitHub step of repourl into the builddir's `build`);
        branch: the CPython branch (a name or a BranchInfo; the change's branch wins, e.g. a PR's
        refs/pull/N/merge); worker: read for timeout_factor and parallel_tests when those are not given;
        toolchain: the CLI's --toolchain (emsdk, emsdk:VERSION, system); tests: --tests;
        jobs: make -j and test shards (default: the worker's CPU count); timeout_factor: scales every timeout,
        like CPython's per-worker timeout_factor; mirror: a directory on the worker with the
        sources the build would otherwise download (air-gapped workers; repourl can be local too);
        upload_dir / upload_url: where artifacts go on the master and the URL that serves them;
        pythoninfo: the warn-only pythoninfo-build / pythoninfo-host steps CPython's builder runs;
        nodes: node binaries on the worker, the first the primary runtime, the others tested with the
        same build (docs/runtimes.rst); browser: build the browser flavour and run the Chromium smoke test.
        """
        super().__init__()
        self.tags = [*self.factory_tags, *extra_tags]
        toolchain, tests, mirror, cache_dir, upload_dir, upload_url, pythoninfo, cli = (
            getattr(self, name) if value is None else value for name, value in (
                ("toolchain", toolchain), ("tests", tests), ("mirror", mirror), ("cache_dir", cache_dir),
                ("upload_dir", upload_dir), ("upload_url", upload_url), ("pythoninfo", pythoninfo), ("cli", cli)))
        branch = branch_name(branch)
        if timeout_factor is None:
            timeout_factor = getattr(worker, "timeout_factor", None) or 1.0
        if jobs is None:
            jobs = getattr(worker, "parallel_tests", None)

        def scaled(seconds: float) -> int:
            return int(seconds * timeout_factor)

        if cache_dir and not str(cache_dir).startswith("/"):
            # The CLI runs in the checkout, which the checkout step (method "fresh") and the
            # clean steps wipe: the caches (emsdk, configure answers, ccache) must live outside.
            config.error(f"EmscriptenFactory cache_dir {cache_dir!r}: give an absolute path on the worker, "
                         "outside the build directory (the checkout and clean steps remove what is inside)",
                         always_raise=True)
        cache_args = ["--cache-dir", cache_dir] if cache_dir else []
        cli = list(cli)
        if source is not None:
            self.addStep(source)
        else:
            # A failed clone fails the build (red, as every early end): a build that tested
            # nothing must never look green or merely yellow to an operator or a PR reporter.
            self.addStep(EmscriptenCheckout(repourl=repourl, branch=branch, mode="full", method="fresh",
                                            workdir=CHECKOUT, clobberOnFailure=True, timeout=scaled(HOUR),
                                            haltOnFailure=True, logEnviron=False))
        # A build killed with its worker leaves outputs behind that the next build must not read.
        self.addStep(EmscriptenClean(name="clean-previous", alwaysRun=False, haltOnFailure=True))
        self.addStep(EmscriptenToolchain(toolchain, mirror=mirror, cache_dir=cache_dir, cli=cli,
                                         timeout=scaled(30 * MINUTE), maxTime=scaled(2 * HOUR)))
        for stage in ERA_STAGES[era or era_for_branch(branch)]:
            names = stage if isinstance(stage, tuple) else (stage,)
            self.addStep(EmscriptenBuildStage(*names, jobs=jobs, cli=cli, extra_args=cache_args,
                                              timeout=scaled(20 * MINUTE), maxTime=scaled(3 * HOUR)))
            if pythoninfo and names[0] in PYTHONINFO_AFTER:
                self.addStep(EmscriptenPythonInfo(PYTHONINFO_AFTER[names[0]], cli=cli, timeout=scaled(20 * MINUTE)))
        if browser and (era or era_for_branch(branch)) is Era.CONFIGURE:
            # 3.11-3.13: the browser flavour in its own build dir; 3.14+ make-host builds the page.
            for name in ("configure-browser", "make-browser"):
                self.addStep(EmscriptenBuildStage(name, jobs=jobs, cli=cli, extra_args=["--browser", *cache_args],
                                                  timeout=scaled(20 * MINUTE), maxTime=scaled(3 * HOUR)))
        self.addStep(EmscriptenTest(tests, file_timeout=scaled(FILE_TIMEOUT), jobs=jobs, cli=cli,
                                    nodes=nodes, browser=browser,
                                    timeout=scaled(30 * MINUTE), maxTime=scaled(6 * HOUR)))
        self.addStep(EmscriptenBundle(cli=cli, timeout=scaled(20 * MINUTE)))
        # Property defaults: the uploads' renderables are rendered before doStepIf is asked, and a
        # build that stopped before `bundle` has no such property (it would end EXCEPTION).
        # results.json: uploaded, or written by the master when the CLI never started (the
        # checkout failed or was stopped), so every build has one and the status store a row.
        self.addStep(EmscriptenResultsUpload(RESULTS, branch=branch, upload_dir=upload_dir, base_url=upload_url,
                                             workdir=CHECKOUT))
        uploads = [("junit", f"{OUT}/junit.xml", _has_property("emscripten_outcome")),
                   ("summary", f"{OUT}/summary.md", _has_property("emscripten_outcome")),
                   ("bundle", Property(BUNDLE_PROPERTY, default=""), _has_property(BUNDLE_PROPERTY))]
        for kind, source_path, condition in uploads:
            self.addStep(EmscriptenUpload(kind, source_path, upload_dir=upload_dir, base_url=upload_url,
                                          workdir=CHECKOUT, doStepIf=condition))
        self.addStep(EmscriptenDriverClean(timeout=scaled(20 * MINUTE)))
        self.addStep(EmscriptenClean())
