"""EmscriptenFactory: checkout, the CLI's stages one step each, uploads, and an always-run clean."""

from __future__ import annotations

from buildbot.process.factory import BuildFactory
from buildbot.process.properties import Property
from buildbot.steps.source.github import GitHub

from ..source import Era
from .command import CLI, CHECKOUT, OUT, RESULTS
from .regrtest import EmscriptenTest
from .stages import (BUNDLE_PROPERTY, HOUR, MINUTE, EmscriptenBuildStage, EmscriptenBundle, EmscriptenClean,
                     EmscriptenToolchain)
from .upload import EmscriptenUpload

CPYTHON_REPO = "https://github.com/python/cpython.git"
# The CLI's default per-file regrtest timeout, scaled with timeout_factor like every other timeout.
FILE_TIMEOUT = 20 * MINUTE

# Build stages per era, as the recipes name them (tests/buildbot/test_factory.py checks this
# against emscripten_python.recipes). A tuple is one step that runs whichever of its stages
# the tree has: the dependency stage changed name inside the driver era.
ERA_STAGES = {
    Era.CONFIGURE: ("configure-build-python", "make-build-python", "configure-host", "make-host"),
    Era.PLATFORMS: ("configure-build-python", "make-build-python", ("make-dependencies", "make-libffi", "make-mpdec"),
                    "configure-host", "make-host"),
}
ERA_STAGES[Era.TOOLS_WASM] = ERA_STAGES[Era.PLATFORMS]


def era_for_branch(branch: str) -> Era:
    """3.11-3.13 build with configure; 3.14+, main and pull requests (against main) use the driver."""
    parts = branch.split(".")
    if len(parts) == 2 and parts[0] == "3" and parts[1].isdigit() and int(parts[1]) <= 13:
        return Era.CONFIGURE
    return Era.PLATFORMS


def _has_property(name: str):
    return lambda step: bool(step.getProperty(name))


class EmscriptenFactory(BuildFactory):
    def __init__(self, branch="main", toolchain="emsdk", tests="all", jobs=None, timeout_factor=1.0, mirror=None,
                 *, repourl=CPYTHON_REPO, era: Era | None = None, cli=CLI, cache_dir=None,
                 upload_dir="artifacts", upload_url=None):
        """branch: the CPython branch (the change's branch wins, e.g. a PR's refs/pull/N/merge);
        toolchain: the CLI's --toolchain (emsdk, emsdk:VERSION, system); tests: --tests;
        jobs: make -j and test shards (default: the worker's CPU count); timeout_factor: scales every timeout,
        like CPython's per-worker timeout_factor; mirror: a directory on the worker with the
        sources the build would otherwise download (air-gapped workers; repourl can be local too);
        upload_dir / upload_url: where artifacts go on the master and the URL that serves them.
        """
        super().__init__()

        def scaled(seconds: float) -> int:
            return int(seconds * timeout_factor)

        cli = list(cli)
        # A failed clone is the infrastructure's problem, not CPython's: warn, do not fail.
        self.addStep(GitHub(repourl=repourl, branch=branch, mode="full", method="fresh", workdir=CHECKOUT,
                            clobberOnFailure=True, timeout=scaled(HOUR), haltOnFailure=True,
                            flunkOnFailure=False, warnOnFailure=True))
        # A build killed with its worker leaves outputs behind that the next build must not read.
        self.addStep(EmscriptenClean(name="clean-previous", alwaysRun=False, haltOnFailure=True))
        self.addStep(EmscriptenToolchain(toolchain, mirror=mirror, cache_dir=cache_dir, cli=cli,
                                         timeout=scaled(30 * MINUTE), maxTime=scaled(2 * HOUR)))
        for stage in ERA_STAGES[era or era_for_branch(branch)]:
            names = stage if isinstance(stage, tuple) else (stage,)
            self.addStep(EmscriptenBuildStage(*names, jobs=jobs, cli=cli, timeout=scaled(20 * MINUTE),
                                              maxTime=scaled(3 * HOUR)))
        self.addStep(EmscriptenTest(tests, file_timeout=scaled(FILE_TIMEOUT), jobs=jobs, cli=cli,
                                    timeout=scaled(30 * MINUTE), maxTime=scaled(6 * HOUR)))
        self.addStep(EmscriptenBundle(cli=cli, timeout=scaled(20 * MINUTE)))
        uploads = [("results", RESULTS, None), ("junit", f"{OUT}/junit.xml", _has_property("emscripten_outcome")),
                   ("summary", f"{OUT}/summary.md", _has_property("emscripten_outcome")),
                   ("bundle", Property(BUNDLE_PROPERTY), _has_property(BUNDLE_PROPERTY))]
        for kind, source, condition in uploads:
            self.addStep(EmscriptenUpload(kind, source, upload_dir=upload_dir, base_url=upload_url,
                                          workdir=CHECKOUT, doStepIf=condition or True,
                                          # results.json is missing only when the toolchain step
                                          # never ran; that step already says why.
                                          warnOnFailure=condition is not None))
        self.addStep(EmscriptenClean())

