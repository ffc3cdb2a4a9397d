"""The test stage on another machine: `test --from-bundle FILE` and `test --shard I/N`.

From a bundle, the test machine needs node and nothing else: no CPython tree, no emcc, no
toolchain record. The bundle's own results.json says what was built (version, era, build
stages, toolchain) and the bundle's sha256 manifest says the files are the ones built.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from ..building.recipes import BuildContext
from ..building.source import CPythonSource, EmscriptenPin, Era
from ..building.toolchain import Toolchain
from ..errors import ResultsError
from ..results.artifacts import unpack_bundle
from ..results.model import Artifact, Run
from .runtimes import node_version
from .shards import load_durations_file, selection_digest, shard_slice

BUNDLE_DIR = "bundle"          # inside --out: the unpacked interpreter


def bundle_context(options, run: Run, out: Path) -> tuple[BuildContext, dict]:
    """Unpack --from-bundle into OUT/bundle and make `run` the test record of that build.

    Returns the context to test in and which build the bundle holds (its run id and sha256),
    what the shards of one build have in common."""
    bundle = Path(options.from_bundle)
    unpacked = unpack_bundle(bundle, out / BUNDLE_DIR)
    try:
        built = Run.from_dict(unpacked.results)
        version, era = built.source["cpython_version"], Era(built.source["era"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ResultsError(f"{bundle}: its results.json does not say what was built ({exc})") from None
    source = CPythonSource(path=unpacked.tree, version=version, era=era,
                           pin=EmscriptenPin(built.toolchain.get("pinned_version"), None, "the bundle's build"),
                           commit=built.source.get("commit"), branch=built.source.get("branch"))
    run.source = {**built.source, "path": str(unpacked.tree), "built_in": built.source.get("path"),
                  "bundle": bundle.name}
    # What built it, for the record only: nothing of it is run here.
    run.toolchain = {key: value for key, value in built.toolchain.items() if key not in ("env", "path_prefix")}
    run.stages = [stage for stage in built.stages if stage.name not in ("test", "bundle")]
    run.artifacts = [Artifact(path=bundle.name, size=bundle.stat().st_size, sha256=unpacked.sha256)]
    toolchain = Toolchain(kind="none", emcc=Path("emcc"), version=built.toolchain.get("emcc_version") or "unknown")
    run.node = {"version": node_version(options.node, toolchain.environ()), "path": options.node}
    context = BuildContext(source=source, toolchain=toolchain, jobs=options.jobs, node=options.node)
    if options.node_flags is not None:
        context.node_flags = list(options.node_flags)
    return context, {"run_id": built.run_id, "bundle_sha256": unpacked.sha256}


def shard_selection(options, run: Run, selection: list[str], bundled_build: dict | None) -> list[str]:
    """--shard I/N: this shard's files, and the run's `shard` section; else the whole selection.

    bundled_build: which build a --from-bundle run tests (bundle_context's answer), else None."""
    if not options.shard:
        return selection
    index, count = options.shard
    durations = load_durations_file(options.durations_file) if options.durations_file else None
    files, method = shard_slice(selection, index, count, durations)
    build = bundled_build or (run.shard or {}).get("build")
    if build is None:
        # Sharding the build in this --out: the build's run is what the shards have in common.
        bundle = next((a for a in run.artifacts if a.path.endswith(".tar.gz")), None)
        build = {"run_id": run.run_id, "bundle_sha256": bundle.sha256 if bundle else None}
    if run.run_id == build["run_id"]:
        run.run_id = uuid.uuid4().hex     # a shard is a part of the build's run, not the run itself
    run.shard = {"index": index, "count": count, "method": method, "selection": list(selection),
                 "selection_digest": selection_digest(selection), "files": files, "build": build}
    return files


def _shard_arg(text: str) -> tuple[int, int]:
    import argparse

    from ..errors import TestRunError
    from .shards import parse_shard
    try:
        return parse_shard(text)
    except TestRunError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_test_args(parser) -> None:
    """`test` options for running on another machine than the build (docs/cli.rst)."""
    for action in parser._actions:
        if "--source" in action.option_strings:
            action.required = False      # --from-bundle needs no tree
    parser.add_argument("--shard", type=_shard_arg, metavar="I/N",
                        help="run only shard I of N of the selection (1 <= I <= N); `merge` combines them")
    parser.add_argument("--durations", type=Path, dest="durations_file", metavar="FILE",
                        help="test-durations.json (or a results.json) balancing --shard by file durations; "
                             "every shard must get the same file. Without it the split hashes file names")
    parser.add_argument("--from-bundle", type=Path, dest="from_bundle", metavar="FILE",
                        help="test the interpreter in this bundle (its sha256 manifest is checked); needs "
                             "only node: no --source, no toolchain")
