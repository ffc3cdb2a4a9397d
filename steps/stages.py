"""The CLI stages before and after the tests: toolchain, one step per build stage, bundle; and clean."""

from __future__ import annotations

from buildbot import config
from buildbot.process.properties import Property
from buildbot.reporters.utils import URLForBuild
from buildbot.steps.shell import ShellCommand
from buildbot.steps.worker import RemoveDirectory

from .command import CHECKOUT, OUT, OUT_DIR, CliStep, jobs_args
from .summary import version_properties

MINUTE, HOUR = 60, 60 * 60


def silence_timeout(step_timeout: float) -> int:
    """A minute under the step's no-output timeout (half of it, for a very short one), and never
    under a second: 0 would be refused by the CLI (--silence-timeout is above 0), and means
    "no timeout" to Buildbot."""
    return max(1, int(step_timeout - MINUTE if step_timeout > 2 * MINUTE else step_timeout / 2))
BUNDLE_PROPERTY = "emscripten_bundle"
# Set as the toolchain step starts: from then on the CLI writes results.json (even when stopped).
TOOLCHAIN_STARTED_PROPERTY = "emscripten_toolchain_started"


class EmscriptenToolchain(CliStep):
    """Gets and checks emcc; starts the run's record (with this build's name and URL)."""

    name = "toolchain"
    stage = "toolchain"
    haltOnFailure = True

    def __init__(self, toolchain="emsdk", *, mirror=None, cache_dir=None, strict=False, **kwargs):
        args = ["--toolchain", toolchain]
        if strict:
            args.append("--strict-toolchain")
        if mirror:
            args += ["--mirror", mirror]
        if cache_dir:
            args += ["--cache-dir", cache_dir]
        args += ["--origin", "buildbot", "--builder", Property("buildername"), "--build-url", URLForBuild]
        # emsdk downloads are quiet for long stretches; the CLI's heartbeat is once a minute.
        kwargs.setdefault("timeout", 30 * MINUTE)
        kwargs.setdefault("maxTime", 2 * HOUR)
        super().__init__(args=args, **kwargs)

    async def run(self):
        self.setProperty(TOOLCHAIN_STARTED_PROPERTY, True, type(self).__name__)
        run, result = await self.read_own_results(await super().run())
        if run is not None:
            self.set_properties(version_properties(run))
        return result


class EmscriptenBuildStage(CliStep):
    """`build --only STAGE`: one step per build stage, so the waterfall shows where time goes.

    Several names make one step run whichever of them the tree's recipe has (the dependency
    stage is `make-dependencies` in some trees, `make-libffi` + `make-mpdec` in others).
    """

    stage = "build"
    haltOnFailure = True

    def __init__(self, *stages: str, jobs=None, extra_args=(), **kwargs):
        if not stages:
            config.error("EmscriptenBuildStage needs at least one build stage name, e.g. 'make-host'",
                         always_raise=True)
        args = [arg for stage in stages for arg in ("--only", stage)]
        args += jobs_args("-j", jobs)
        args += list(extra_args)        # e.g. --browser for configure-browser / make-browser
        kwargs.setdefault("name", stages[0])
        kwargs.setdefault("timeout", 20 * MINUTE)
        kwargs.setdefault("maxTime", 3 * HOUR)
        if isinstance(kwargs["timeout"], (int, float)) and kwargs["timeout"] > 0:
            # The CLI kills a silent stage first and records a failed stage; the step's own
            # no-output timeout (SIGTERM, which the CLI records as a cancel) is the backstop.
            args += ["--silence-timeout", str(silence_timeout(kwargs["timeout"]))]
        super().__init__(args=args, **kwargs)


class EmscriptenPythonInfo(EmscriptenBuildStage):
    """`build --only pythoninfo-build|pythoninfo-host`: `-m test.pythoninfo` of an interpreter the
    build made, as CPython's builder shows it. Warn-only: it informs, it never fails a build."""

    haltOnFailure = False
    flunkOnFailure = False
    warnOnFailure = True

    def __init__(self, stage="pythoninfo-host", **kwargs):
        kwargs.setdefault("timeout", 20 * MINUTE)
        super().__init__(stage, **kwargs)


class EmscriptenDriverClean(ShellCommand):
    """The tree's own `Platforms/emscripten clean`, where the driver has one (CPython's builder
    runs it last); a tree without it logs so and succeeds. Always runs; warns, never fails."""

    name = "clean-driver"
    DRIVER = "Platforms/emscripten/__main__.py"

    def __init__(self, python="python3", **kwargs):
        for name, value in (("alwaysRun", True), ("haltOnFailure", False), ("flunkOnFailure", False),
                            ("warnOnFailure", True), ("workdir", CHECKOUT), ("timeout", 20 * MINUTE),
                            ("logEnviron", False),
                            ("description", "clean-driver"), ("descriptionDone", "clean-driver")):
            kwargs.setdefault(name, value)
        script = (f'if [ -f {self.DRIVER} ] && grep -q "clean" {self.DRIVER}; then exec "$0" Platforms/emscripten '
                  f'clean; else echo "this tree\'s driver has no clean subcommand"; fi')
        super().__init__(command=["sh", "-c", script, python], **kwargs)


class EmscriptenBundle(CliStep):
    """Archives interpreter, stdlib, logs and results; names the archive in a property for upload."""

    name = "bundle"
    stage = "bundle"

    def __init__(self, **kwargs):
        kwargs.setdefault("timeout", 20 * MINUTE)
        super().__init__(**kwargs)

    async def run(self):
        run, result = await self.read_own_results(await super().run())
        bundles = [artifact.path for artifact in (run.artifacts if run else []) if artifact.path.endswith(".tar.gz")]
        if bundles:
            self.setProperty(BUNDLE_PROPERTY, f"{OUT}/{bundles[-1]}", type(self).__name__)
        return result


class EmscriptenClean(RemoveDirectory):
    """Removes the outputs and the tree's build directories; runs even after a failure.

    A failed clean leaves disk behind, not a wrong result: it warns and never fails the build.
    """

    name = "clean"
    DIRS = (OUT_DIR, f"{CHECKOUT}/cross-build", f"{CHECKOUT}/builddir")

    def __init__(self, dirs=DIRS, **kwargs):
        for name, value in (("alwaysRun", True), ("haltOnFailure", False), ("flunkOnFailure", False),
                            ("warnOnFailure", True)):
            kwargs.setdefault(name, value)
        super().__init__(dir=list(dirs), **kwargs)
