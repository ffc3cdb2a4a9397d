"""Sharded tests on several workers: build once, test N shards of the bundle, merge in the parent.

The parent build (EmscriptenShardedFactory) builds as usual, bundles, uploads the bundle to
the master and, instead of testing itself, triggers N builds of a shard builder through a
Triggerable scheduler (Buildbot's Trigger step, waiting for them). Each shard build
(EmscriptenShardFactory) downloads the bundle from the master, runs `test --from-bundle
--shard I/N` (node only: no checkout, no toolchain) and uploads its results.json next to the
parent's uploads. The parent's `test` step then downloads the N results and runs `merge`,
so it carries the merged verdict, properties and summary like an unsharded build's.

sharded_builders() makes the two builders and the scheduler for a master.cfg.
"""

from __future__ import annotations

import posixpath

from buildbot.config import BuilderConfig
from buildbot.process.factory import BuildFactory
from buildbot.process.properties import Interpolate, Property, renderer
from buildbot.process.results import FAILURE
from buildbot.reporters.utils import URLForBuild
from buildbot.schedulers.triggerable import Triggerable
from buildbot.steps.transfer import FileDownload, FileUpload
from buildbot.steps.trigger import Trigger

from .command import CHECKOUT, CLI, OUT, OUT_DIR, RESULTS, RESULTS_MAXSIZE
from .factory import FILE_TIMEOUT, EmscriptenFactory
from .regrtest import EmscriptenTest
from .stages import BUNDLE_PROPERTY, HOUR, MINUTE, EmscriptenBundle, EmscriptenClean
from .upload import EmscriptenUpload, _slug

SHARD_PROPERTY = "shard"                    # "I/N" on each shard build
BUNDLE_SOURCE = "shard_bundle"              # the bundle's path on the master
RESULTS_DEST = "shard_results_dest"         # where the shard uploads its results.json on the master
SHARD_SUFFIX = " shards"                   # "<parent builder> shards": the shard builder and its scheduler
SHARDS_IN = "emscripten-python-in"          # builddir/: the downloaded bundle (shard) or shard results (parent)
SHARD_BUNDLE = f"../{SHARDS_IN}/bundle.tar.gz"


def shard_results_root(upload_dir: str):
    """UPLOAD_DIR/<parent builder>/<parent number>/shards: beside the parent's own uploads."""
    return Interpolate(posixpath.join(upload_dir.rstrip("/"), "%(kw:builder)s", "%(prop:buildnumber)s", "shards"),
                       builder=_builder_slug)


@renderer
def _builder_slug(props):
    """The build's builder name as upload.py names its directory."""
    return _slug(props.getProperty("buildername"))


class EmscriptenShardTrigger(Trigger):
    """Triggers `shards` builds of one Triggerable scheduler, each with its own `shard` = I/N."""

    name = "shards"

    def __init__(self, scheduler, shards: int, *, upload_dir="artifacts", **kwargs):
        self.shards = int(shards)
        kwargs.setdefault("waitForFinish", True)
        # The verdict is the merge's (`test`): a shard whose tests failed must not flunk twice,
        # and a shard that could not run shows up as a missing shard in `test`.
        kwargs.setdefault("flunkOnFailure", False)
        kwargs.setdefault("warnOnFailure", False)
        kwargs.setdefault("haltOnFailure", False)
        super().__init__(schedulerNames=[scheduler], updateSourceStamp=False,
                         set_properties={BUNDLE_SOURCE: Property("bundle_path"),
                                         "shard_results_root": shard_results_root(upload_dir)}, **kwargs)

    def getSchedulersAndProperties(self):
        root = self.set_properties["shard_results_root"]
        common = {k: v for k, v in self.set_properties.items() if k != "shard_results_root"}
        return [{"sched_name": self.schedulerNames[0], "unimportant": False,
                 "props_to_set": {**common, SHARD_PROPERTY: f"{index}/{self.shards}",
                                  RESULTS_DEST: posixpath.join(root, f"{index}.json")}}
                for index in range(1, self.shards + 1)]


class EmscriptenShardTest(EmscriptenTest):
    """On a shard build: `test --from-bundle … --shard I/N` (the `test` step of a shard)."""

    source_args = ()   # the build under test is the bundle's: --from-bundle takes no --source

    def __init__(self, tests="all", **kwargs):
        super().__init__(tests, **kwargs)
        # A shard starts its own record (of the bundle's build): it says which build made it.
        self.command = [*self.command, "--from-bundle", SHARD_BUNDLE, "--shard", Property(SHARD_PROPERTY),
                        "--origin", "buildbot", "--builder", Property("buildername"), "--build-url", URLForBuild]


class EmscriptenMergeTest(EmscriptenTest):
    """On the parent: fetch every shard's results.json from the master and `merge` them into OUT."""

    def __init__(self, shards: int, *, cli=CLI, upload_dir="artifacts", **kwargs):
        super().__init__(cli=cli, **kwargs)
        self.shards, self.upload_dir = int(shards), upload_dir
        self.inputs = [f"../{SHARDS_IN}/{index}.json" for index in range(1, self.shards + 1)]
        self.command = [*cli, "merge", OUT, *self.inputs]

    async def run(self):
        root = await self.build.render(shard_results_root(self.upload_dir))
        missing = []
        for index, target in enumerate(self.inputs, 1):
            path = posixpath.join(root, f"{index}.json")
            try:
                with open(path, encoding="utf-8") as handle:
                    content = handle.read()
            except OSError:
                missing.append(f"{index}/{self.shards}")
                continue
            await self.downloadFileContentToWorker(target, content, workdir=CHECKOUT)
        if missing:
            problem = f"no results from shard {', '.join(missing)} (see the shard builds linked in `shards`)"
            self.descriptionDone = problem
            await self.addCompleteLog("summary", problem + "\n")
            return FAILURE
        return await super().run()


class EmscriptenShardedFactory(EmscriptenFactory):
    """EmscriptenFactory whose tests run as `shards` builds of the shard builder (`scheduler`,
    default: the Triggerable "<this builder's name> shards" that add_shard_builders makes).

    Same steps before and after; the `test` + `bundle` pair becomes `bundle`,
    `upload-bundle-for-shards`, `shards` (the Trigger) and `test` (the merge).
    """

    def __init__(self, *args, shards: int = 2, scheduler=None, upload_dir="artifacts", upload_url=None,
                 cli=CLI, **kwargs):
        scheduler = scheduler or Interpolate(f"%(prop:buildername)s{SHARD_SUFFIX}")
        super().__init__(*args, upload_dir=upload_dir, upload_url=upload_url, cli=cli, **kwargs)
        index = next(i for i, step in enumerate(self.steps) if step.step_class is EmscriptenTest)
        test = self.steps[index]
        if self.steps[index + 1].step_class is not EmscriptenBundle:
            raise ValueError("EmscriptenFactory changed: `bundle` no longer follows `test`")
        timeouts = {k: v for k, v in test.kwargs.items() if k in ("timeout", "maxTime")}
        sharded = BuildFactory()
        sharded.addStep(EmscriptenBundle(cli=list(cli)))
        sharded.addStep(EmscriptenUpload("bundle", Property(BUNDLE_PROPERTY, default=""), name="upload-bundle-for-shards",
                                         upload_dir=upload_dir, base_url=upload_url, workdir=CHECKOUT,
                                         alwaysRun=False, haltOnFailure=True, flunkOnFailure=True))
        sharded.addStep(EmscriptenShardTrigger(scheduler, shards, upload_dir=upload_dir))
        sharded.addStep(EmscriptenMergeTest(shards, cli=list(cli), upload_dir=upload_dir, **timeouts))
        self.steps[index:index + 2] = sharded.steps


class EmscriptenShardFactory(BuildFactory):
    """A shard build: download the bundle, test one shard from it, upload the shard's results, clean."""

    def __init__(self, tests="all", *, jobs=None, timeout_factor=1.0, cli=CLI):
        super().__init__()

        def scaled(seconds: float) -> int:
            return int(seconds * timeout_factor)

        self.addStep(EmscriptenClean(name="clean-previous", dirs=(OUT_DIR, SHARDS_IN), alwaysRun=False,
                                     haltOnFailure=True))
        self.addStep(FileDownload(name="download-bundle", mastersrc=Property(BUNDLE_SOURCE),
                                  workerdest=SHARD_BUNDLE, workdir=CHECKOUT, haltOnFailure=True))
        self.addStep(EmscriptenShardTest(tests, file_timeout=scaled(FILE_TIMEOUT), jobs=jobs, cli=list(cli),
                                         timeout=scaled(30 * MINUTE), maxTime=scaled(6 * HOUR)))
        # Not `results_path`: the status store and the PR report take the parent's merged run only.
        # The shard ran the PR's code: no more than every reader accepts reaches the master's disk.
        self.addStep(FileUpload(name="upload-shard-results", workersrc=RESULTS, masterdest=Property(RESULTS_DEST),
                                workdir=CHECKOUT, alwaysRun=True, flunkOnFailure=True,
                                maxsize=RESULTS_MAXSIZE))
        self.addStep(EmscriptenClean(dirs=(OUT_DIR, SHARDS_IN)))


def add_shard_builders(c: dict, parents: list[str], workernames: list[str], *, tests="all", jobs=None,
                       timeout_factor=1.0, cli=CLI, tags=("emscripten", "tier-3")) -> list[str]:
    """For a master.cfg whose parent builders use EmscriptenShardedFactory: per parent, the
    shard builder and Triggerable "<parent> shards". Returns the shard builders' names."""
    names = []
    for parent in parents:
        name = f"{parent}{SHARD_SUFFIX}"
        # collapseRequests=False: Buildbot would otherwise fold pending requests with the same
        # sourcestamps (the other shards of the same parent) into one build.
        c["builders"].append(BuilderConfig(
            name=name, workernames=workernames, builddir=f"{_slug(parent.lower())}-shard", tags=[*tags, "shard"],
            collapseRequests=False, factory=EmscriptenShardFactory(tests, jobs=jobs, timeout_factor=timeout_factor,
                                                                   cli=cli)))
        c["schedulers"].append(Triggerable(name=name, builderNames=[name]))
        names.append(name)
    return names


def sharded_builders(name: str, workernames: list[str], *, shards: int, shard_workernames: list[str] | None = None,
                     tests="all", jobs=None, timeout_factor=1.0, upload_dir="artifacts", cli=CLI,
                     builddir: str | None = None, tags=(), **factory_kwargs):
    """(parent BuilderConfig, shard BuilderConfig, Triggerable) for a master.cfg.

    The shard builder "<name> shards" runs on shard_workernames (default: the same workers); give
    it at least `shards` workers, and note a worker running the parent (max_builds=1) cannot run a
    shard meanwhile.
    """
    slug = builddir or _slug(name.lower())
    parent = BuilderConfig(
        name=name, workernames=workernames, builddir=slug, tags=list(tags),
        factory=EmscriptenShardedFactory(shards=shards, tests=tests, jobs=jobs, timeout_factor=timeout_factor,
                                         upload_dir=upload_dir, cli=cli, **factory_kwargs))
    made = {"builders": [], "schedulers": []}
    add_shard_builders(made, [name], shard_workernames or workernames, tests=tests, jobs=jobs,
                       timeout_factor=timeout_factor, cli=cli, tags=tags)
    return parent, made["builders"][0], made["schedulers"][0]
