"""The stages of a run: toolchain, build, test, report. Each reads and updates results.json.

Every stage can run alone (that is how Buildbot runs them, one step each); what a later
stage needs from an earlier one (toolchain environment, era) is carried in results.json.

``Pipeline`` is the sequence of the stages. What it hands off: the record and the reports
rendered from it to ``report.record.RunRecord``; the build caches (ccache, configure stamps,
the carried config.cache) to ``building.ccache.CompilerCache`` and
``building.cachepolicy.CachePolicy``; the test files' duration history to
``testing.shards``; the toolchain of an earlier stage to ``Toolchain.from_record``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from .building import buildcache, ccache
from .building.cachepolicy import CachePolicy
from .building.recipes import BuildContext, recipe_for
from .building.source import CPythonSource, jspi_flags, node_major, resolve_source
from .building.stages import follow, progress, run_stage, say
from .building.toolchain import Toolchain
from .building.toolchain.provision import provide
from .building.toolchain.smoke import smoke_check
from .durable import disk_full_behind
from .errors import BuildError, TestRunError, ToolchainNotFound
from .report.record import RunRecord
from .results.artifacts import bundle_layout, make_bundle
from .results.model import Stage
from .testing.frombundle import bundle_context, shard_selection
from .testing.regrtest_args import read_args, without
from .testing.runner import TestOptions
from .testing.runtimes import host_for_node, node_runtime, node_version, runtime_slug
from .testing.selection import resolve_selection
from .testing.shards import load_durations, run_sharded, save_durations


@dataclass
class Options:
    source: str
    out: Path
    toolchain: str = "emsdk"                 # "emsdk", "emsdk:VERSION" or "system"
    strict_toolchain: bool = False
    mirror: Path | None = None
    cache_dir: Path = field(default_factory=lambda: Path(os.environ.get(
        "EMSCRIPTEN_PYTHON_CACHE", user_cache_dir("emscripten-python"))))
    jobs: int = field(default_factory=lambda: os.cpu_count() or 2)
    test_jobs: int = field(default_factory=lambda: os.cpu_count() or 2)
    node: str = "node"
    node_flags: list[str] | None = None
    more_nodes: list[str] = field(default_factory=list)   # --node given again: same build, more runtimes
    browser: bool = False                              # build the browser flavour; test it in Chromium
    chromium: str | None = None                        # default: browser.CHROMIUM
    web_dir: Path | None = None                        # the web page's directory, when not the tree's
    web_assets: Path | None = None                     # offline copies of the page's CDN files (HOST/PATH)
    configure_args: list[str] = field(default_factory=list)
    tests: str = "smoke"
    exclude: list[str] = field(default_factory=list)
    resources: str | None = None                       # None: the tree's -u (config.toml test-args)
    rerun: bool = True
    file_timeout: float = 1200.0
    regrtest_args: list[str] = field(default_factory=list)   # added after the tree's arguments
    test_args: list[str] | None = None                 # replaces the tree's arguments
    only: list[str] = field(default_factory=list)      # build: run just these build steps
    rebuild: bool = False                              # build: ignore configure stamps
    origin: dict = field(default_factory=dict)
    shard: tuple[int, int] | None = None               # test --shard I/N (frombundle.shard_selection)
    durations_file: Path | None = None                 # test --durations: balances --shard
    from_bundle: Path | None = None                    # test --from-bundle: no tree, no toolchain


class Pipeline:
    def __init__(self, options: Options, *, new_run: bool):
        """new_run: start a new record (run, toolchain); otherwise continue the one in --out."""
        self.options = options
        self.out = options.out
        self.record = RunRecord(options.out, new_run=new_run, origin=options.origin)
        self.run, self.results_path = self.record.run, self.record.path
        self._source: CPythonSource | None = None

    def save(self) -> None:
        self.record.save()

    # -- source ---------------------------------------------------------------------------
    @property
    def source(self) -> CPythonSource:
        if self._source is None:
            self._source = resolve_source(self.options.source, self.out)
            self.run.source = {
                "spec": self.options.source, "path": str(self._source.path),
                "cpython_version": self._source.version, "era": self._source.era.value,
                "branch": self._source.branch, "commit": self._source.commit,
            }
        return self._source

    # -- toolchain ------------------------------------------------------------------------
    def toolchain_stage(self) -> Toolchain:
        source, options = self.source, self.options
        started = time.monotonic()
        with progress("stage toolchain"):
            toolchain, self.run.toolchain = provide(
                options.toolchain, source, options.cache_dir, ports=list(recipe_for(source).ports),
                mirror=options.mirror, strict=options.strict_toolchain, log=say)
            self.run.node = node_record(source, node_version(options.node, toolchain.environ()), options.node)
            if self.run.node["version"] and node_major(self.run.node["version"]) != node_major(
                    self.run.node["wanted"]):
                say(f"warning: node {self.run.node['version']} runs the tests; {self.run.node['wanted_from']} "
                    f"asks for node {self.run.node['wanted']}")
            # Before a 6-minute build: a toolchain that silently loses stdout fails here.
            status = "failed"
            try:
                smoke_check(toolchain, options.node)
                status = "succeeded"
            finally:
                self.record.stage(Stage("toolchain", status, round(time.monotonic() - started, 3)))
        self.run.toolchain["smoke_check"] = "passed"
        self.save()
        say(f"toolchain: emcc {toolchain.version} ({toolchain.kind}), node {self.run.node['version']}")
        return toolchain

    def _toolchain(self) -> Toolchain:
        """The toolchain an earlier toolchain stage recorded; that stage first when none did."""
        if not self.run.toolchain.get("emcc"):
            return self.toolchain_stage()
        return Toolchain.from_record(self.run.toolchain)

    def context(self) -> BuildContext:
        options = self.options
        context = BuildContext(source=self.source, toolchain=self._toolchain(), jobs=options.jobs,
                               node=options.node, configure_args=options.configure_args,
                               mirror=options.mirror.resolve() if options.mirror else None)
        if options.node_flags is not None:
            context.node_flags = list(options.node_flags)
        return context

    # -- build ----------------------------------------------------------------------------
    def build_stage(self) -> None:
        context = self.context()
        recipe = recipe_for(context.source)
        known = [s.name for s in recipe.steps(context)] + list(PYTHONINFO_STAGES)
        if self.options.browser:        # configure-browser / make-browser (3.11-3.13)
            from .testing.browser import browser_build_steps
            known += [s.name for s in browser_build_steps(context)]
        if self.options.only and not set(self.options.only) & set(known):
            # Several names may be given for different eras (make-dependencies, make-libffi);
            # none of them matching this tree is a mistake.
            raise BuildError(f"--only {', '.join(self.options.only)}: no such build stage for this tree; "
                             f"stages: {', '.join(known)}")
        env = context.toolchain.environ()
        compilers = ccache.CompilerCache(env, self.options.cache_dir)
        fingerprint = buildcache.source_fingerprint(context.source, self.options.source)
        try:
            for step in recipe.steps(context):
                compilers.wrap(step)
                if self._wanted(step.name):
                    self._build_step(step, context, env, fingerprint)
                if step.name == "make-build-python" and self._wanted("pythoninfo-build"):
                    self.pythoninfo_stage("build", context, env)
            if not self.options.only or "make-host" in self.options.only:
                self.verify_host(context)
            if self._wanted("pythoninfo-host"):
                self.pythoninfo_stage("host", context, env)
            if self.options.browser:
                from .testing.browser import seed_config_cache
                for step in browser_build_steps(context):
                    if self._wanted(step.name):
                        self._build_step(step, context, env, fingerprint,
                                         fallback=lambda: seed_config_cache(context.source.path))
        finally:
            self.run.cache = {**(self.run.cache or {}), "ccache": compilers.record()}
            self.save()

    def _build_step(self, step, context: BuildContext, env: dict[str, str], fingerprint: str | None,
                    fallback=None) -> None:
        """One build step, run or skipped as the build caches decide (CachePolicy), recorded;
        BuildError when it failed."""
        policy = CachePolicy(self.options.cache_dir, fingerprint, rebuild=self.options.rebuild, log=say)
        stage = policy.run(step, context, {**env, **step.env}, self.out, run_stage, fallback)
        self.record.stage(stage)
        if stage.status == "failed":
            raise disk_full_behind(self.out / stage.log, step.cwd) or BuildError(
                f"build stage {step.name} failed (rc {stage.returncode}); see {self.out / stage.log}")

    def _wanted(self, stage: str) -> bool:
        return not self.options.only or stage in self.options.only

    def pythoninfo_stage(self, which: str, context: BuildContext, env: dict[str, str]) -> None:
        """`pythoninfo-build` / `pythoninfo-host`: `-m test.pythoninfo`, as CPython's CI runs them.

        Warn-only (CPython's buildbot and GitHub workflow run them for diagnosis): a failure
        records status "warning" and never fails the run.
        """
        recipe, name = recipe_for(context.source), f"pythoninfo-{which}"
        args = list(context.source.tree_config.pythoninfo_args)
        if which == "build":
            binary = recipe.build_python(context)
            argv, cwd, run_env = [str(binary), *args], binary.parent, env
        else:
            host = recipe.host_python(context)
            argv, cwd, run_env = [*host.argv, *args], host.cwd, host.env
        stage = run_stage(name, argv, cwd, run_env, self.out)
        if stage.status == "failed":
            stage.status = "warning"
            say(f"warning: {name} failed (rc {stage.returncode}); the build goes on (log: {self.out / stage.log})")
        self.run.set_stage(stage)
        info = parse_pythoninfo((self.out / stage.log).read_text(errors="replace")) if stage.log else {}
        self.run.pythoninfo = {**(self.run.pythoninfo or {}),
                               which: {"status": stage.status, "log": stage.log, "info": info}}
        self.save()

    def verify_host(self, context: BuildContext) -> None:
        host = recipe_for(context.source).host_python(context)
        started = time.monotonic()
        done = subprocess.run([*host.argv, "-c", "import sys; print(sys.platform)"], cwd=host.cwd,
                              env=host.env, capture_output=True, text=True, timeout=300)
        ok = done.returncode == 0 and done.stdout.strip() == "emscripten"
        self.record.stage(Stage("verify-host", "succeeded" if ok else "failed",
                                round(time.monotonic() - started, 3), done.returncode,
                                command=[*host.argv, "-c", "..."]))
        if not ok:
            raise BuildError(
                "the built interpreter does not work: `python -c 'import sys; print(sys.platform)'` "
                f"gave rc {done.returncode}, stdout {done.stdout.strip()!r}, stderr "
                f"{done.stderr.strip()[-500:]!r}")

    # -- test -----------------------------------------------------------------------------
    def test_stage(self) -> None:
        options = self.options
        bundled_build = None
        if options.from_bundle:
            context, bundled_build = bundle_context(options, self.run, self.out)
            self._source = context.source
        else:
            context = self.context()
        host = recipe_for(context.source).host_python(context)
        if host.entry is not None and not host.entry.exists():
            raise TestRunError(f"no built interpreter in {host.cwd}: run the build stage first")
        selection = shard_selection(options, self.run, resolve_selection(options.tests, options.exclude, host),
                                    bundled_build)
        args = regrtest_arguments(self.source, options)
        self.run.tests = {"selection": selection, "regrtest_args": args,
                          "tree_test_args": list(self.source.tree_config.test_args),
                          "dropped_args": dropped_tree_args(self.source, options),
                          "shards": max(1, min(options.test_jobs, len(selection))), "files": []}
        self.run.node.update(node_flags_record(context, self.run.node.get("version")))
        started = time.monotonic()
        # --stream: regrtest's console (every shard's log) goes to stdout as it is written.
        with progress(f"stage test ({len(selection)} files)", total=len(selection)) as tracker, \
                follow(self.out / "logs", "test*.log"):
            files = run_sharded(host, TestOptions(selection=selection, regrtest_args=args,
                                                  file_timeout=options.file_timeout,
                                                  cpython_version=self.source.version,
                                                  on_file_done=tracker.file_done),
                                self.out, options.test_jobs, load_durations(self.out), log=say) \
                if selection else []      # a --shard can get no file of a small selection
        save_durations(self.out, files)
        self.run.tests["files"] = files
        self.run.tests["runtime"] = node_runtime(options.node, self.run.node.get("version"),
                                                 self.run.node.get("flags") or [])
        logs = sorted(str(p.relative_to(self.out)) for p in (self.out / "logs").glob("test*.log"))
        self.run.tests["logs"] = logs
        self.run.runtimes = []
        self.record.stage(Stage("test", "succeeded", round(time.monotonic() - started, 3),
                                log=logs[0] if len(logs) == 1 else "logs"))
        for node in options.more_nodes:
            self.node_runtime_stage(node, host, context.node_flags, selection, args)
        if options.browser:
            from .testing.browser import browser_stage
            browser_stage(self)
        self.report_stage()

    def node_runtime_stage(self, node: str, host, flags: list[str], selection: list[str], args: list[str]) -> None:
        """The same build and selection under another node: a `runtimes` section of its own.

        A node that cannot run the tests at all is recorded in its section (`error`) and the
        other runtimes still run.
        """
        try:
            version, problem = node_version(node, host.env), None
        except ToolchainNotFound as exc:        # not there, or not a node: this runtime's error
            version, problem = None, str(exc)
        other = host_for_node(host, node, version, flags)
        runtime = node_runtime(node, version, [*flags, *jspi_flags(self.source.era, version)])
        name = f"test-{runtime_slug(runtime)}"
        out = self.out / "runtimes" / runtime_slug(runtime)
        section = {"runtime": runtime, "selection": selection, "regrtest_args": args, "files": []}
        self.run.runtimes.append(section)
        started, status = time.monotonic(), "failed"
        try:
            if problem:
                raise TestRunError(problem)
            with progress(f"stage {name} ({len(selection)} files)"), follow(out / "logs", "test*.log"):
                section["files"] = run_sharded(other, TestOptions(selection=selection, regrtest_args=args,
                                                                  file_timeout=self.options.file_timeout,
                                                                  cpython_version=self.source.version),
                                               out, self.options.test_jobs, load_durations(self.out), log=say)
            status = "succeeded"
        except TestRunError as exc:
            section["error"] = str(exc)
            say(f"error: {name}: {exc}")
        finally:
            section["logs"] = sorted(str(p.relative_to(self.out)) for p in (out / "logs").glob("test*.log"))
            self.record.stage(Stage(name, status, round(time.monotonic() - started, 3),
                                    log=str(out.relative_to(self.out))))

    # -- report + artifacts ----------------------------------------------------------------
    def report_stage(self) -> None:
        self.record.report()

    def bundle_stage(self) -> None:
        context = self.context()
        recipe = recipe_for(context.source)
        members = {f"python/{path.name}": path for path in recipe.outputs(context) if path.exists()}
        members["logs"] = self.out / "logs"
        for extra in ("runtimes", "browser"):          # further runtimes' logs, browser console + screenshot
            if (self.out / extra).is_dir():
                members[extra] = self.out / extra
        for name in ("results.json", "junit.xml", "summary.md"):
            if (self.out / name).exists():
                members[name] = self.out / name
        started = time.monotonic()
        with progress("stage bundle"):
            bundle = self.out / f"emscripten-python-{self.source.version}-{self.run.run_id[:8]}.tar.gz"
            artifact = make_bundle(bundle, members, layout=bundle_layout(members, context.source.path))
            for older in set(self.out.glob("emscripten-python-*.tar.gz")) - {bundle}:
                older.unlink()      # an earlier run's bundle in a reused --out: kept until this one is whole
        self.run.artifacts = [a for a in self.run.artifacts if a.path != artifact.path] + [artifact]
        self.record.stage(Stage("bundle", "succeeded", round(time.monotonic() - started, 3)))


PYTHONINFO_STAGES = ("pythoninfo-build", "pythoninfo-host")
PYTHONINFO_MAX_KEYS = 500
PYTHONINFO_MAX_VALUE = 500
# Every key test.pythoninfo writes is "module.attribute" or "sysconfig[NAME]"-like.
_PYTHONINFO_LINE = re.compile(r"^([A-Za-z_]\w*(?:\.[\w.\[\]()/-]+|\[[^\]]+\])): (.*)$")


def parse_pythoninfo(text: str) -> dict[str, str]:
    """`key: value` lines of `-m test.pythoninfo`, bounded (keys and value length)."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        match = _PYTHONINFO_LINE.match(line)
        if match and not line.startswith("$ "):
            value = match.group(2).strip()
            info[match.group(1)] = value if len(value) <= PYTHONINFO_MAX_VALUE \
                else value[:PYTHONINFO_MAX_VALUE] + "…"
            if len(info) >= PYTHONINFO_MAX_KEYS:
                break
    return info


# -W (--verbose3) makes regrtest capture each file's output and print it only when the file
# fails (Lib/test/libregrtest/single.py). The runner reads the live verbose output to know
# which case is running and how many ran: with -W a runtime crash loses the output of every
# file since the last JUnit write (measured on the real 3.13 build: test_math, test_zlib,
# test_json and test_list counted 0 tests). So it is dropped from the tree's arguments;
# recorded as tests.tree_test_args / tests.dropped_args. --test-args can still pass it.
# The arguments are read as regrtest reads them (testing.regrtest_args): `-vW` loses its -W,
# `--verb3` is -W too; `--no-rerun` drops -w/--rerun/--verbose2 however written, --resources
# every -u/--use.
_CAPTURING = {"verbose3"}


def dropped_tree_args(source: CPythonSource, options: Options) -> list[str]:
    """The tree's arguments the runner leaves out (none when --test-args replaces them)."""
    if options.test_args is not None:
        return []
    return without(list(source.tree_config.test_args), _CAPTURING, source.version)[1]


def regrtest_arguments(source: CPythonSource, options: Options) -> list[str]:
    """regrtest arguments: the tree's (config.toml test-args, else the era's; without -W, see
    _CAPTURING), or --test-args.

    --resources replaces the tree's -u; --no-rerun drops --rerun; --regrtest-arg adds.
    """
    version = source.version
    if options.test_args is not None:
        args = list(options.test_args)
    else:
        args = without(list(source.tree_config.test_args), _CAPTURING, version)[0]
    if not options.rerun:
        args = without(args, {"rerun"}, version)[0]
        if read_args(args, version).rerun:
            raise TestRunError("--no-rerun: the regrtest arguments ask for re-runs through --fast-ci or "
                               "--slow-ci, which cannot be taken out; pass --test-args without them")
    if options.resources is not None:
        args, _, at = without(args, {"use"}, version)
        at = at if at is not None else (1 if args[:1] == ["-v"] else 0)
        args[at:at] = ["-u", options.resources]
    return [*args, *options.regrtest_args]


def node_record(source: CPythonSource, version: str | None, path: str) -> dict:
    config = source.tree_config
    return {"version": version, "path": path, "wanted": config.node_version, "wanted_from": config.origin}


def node_flags_record(context: BuildContext, version: str | None) -> dict:
    """Flags node gets: ours (--node-flag) and, on 3.14+, what python.sh adds for this node."""
    added = jspi_flags(context.source.era, version)
    return {"flags": [*context.node_flags, *added], "python_sh_flags": added}
