"""`merge OUT RESULTS...`: the results.json of N shards (`test --shard I/N`) as one run.

Each shard's results.json carries a `shard` section (docs/results-schema.rst): its index and
count, the whole selection and its digest, the files it ran, and the identity of the build it
tested (the build's run_id and, from a bundle, the bundle's sha256). The merge refuses a set
of shards that is not exactly one run's: a shard missing or given twice, a shard of another
build or another selection, a file with results from two shards, a file of a completed shard
without a result. Nothing is re-judged: every file's result (crash, re-run, flaky, duration)
is the shard's, in selection order, so the merged run reads like a serial one.
"""

from __future__ import annotations

import copy
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ResultsError
from ..report.markdown import render_markdown
from ..results.model import Run, Stage, TestFile
from ..results.validation import load_validated
from ..testing.junit import write_junit
from ..testing.shards import selection_digest

SHARD_STAGE = "test-shard-{index}-of-{count}"


def _shard_of(run: Run, label: str) -> dict:
    shard = getattr(run, "shard", None)
    if not isinstance(shard, dict) or not {"index", "count", "selection", "files", "build"} <= set(shard):
        raise ResultsError(f"{label} is not a shard's results.json (no `shard` section: run `test --shard I/N`)")
    if shard.get("merged"):
        raise ResultsError(f"{label} is already a merged run")
    if selection_digest(shard["selection"]) != shard.get("selection_digest"):
        raise ResultsError(f"{label}: its selection does not match its own selection_digest")
    return shard


def _belongs(result: str, name: str) -> bool:
    """regrtest expands a package (test_asyncio) into its parts (test.test_asyncio.test_tasks)."""
    return result == name or result.startswith(f"test.{name}.")


# What makes two records the same build of the same CPython: a shard's `build` identity is
# written by the shard itself, so its source must agree too (a fork's shard cannot join).
SOURCE_IDENTITY = ("commit", "cpython_version", "era")


def _same_source(label: str, run: Run, first_label: str, first: Run) -> None:
    for key in SOURCE_IDENTITY:
        mine, theirs = run.source.get(key), first.source.get(key)
        if mine != theirs:
            raise ResultsError(f"{label} is of another {key.replace('_', ' ')} than {first_label} "
                               f"({mine!r} != {theirs!r})")


def merge_runs(shards: list[tuple[str, Run]], base: Run | None = None) -> Run:
    """shards: (label for messages, run) pairs. base: the build's own results.json, when there
    is one (Buildbot's parent build): the merged run continues it (its stages and artifacts)."""
    if not shards:
        raise ResultsError("merge: no shard results given")
    sections = {label: _shard_of(run, label) for label, run in shards}
    first_label, first = shards[0]
    reference = sections[first_label]
    count = reference["count"]
    by_index: dict[int, tuple[str, Run]] = {}
    for label, run in shards:
        shard = sections[label]
        for key, what in (("build", "build"), ("selection_digest", "test selection"), ("count", "shard count")):
            if shard.get(key) != reference.get(key):
                raise ResultsError(f"{label} is a shard of another {what} than {first_label} "
                                   f"({shard.get(key)!r} != {reference.get(key)!r})")
        _same_source(label, run, first_label, first)
        index = shard["index"]
        if index in by_index:
            raise ResultsError(f"shard {index}/{count} given twice: {by_index[index][0]} and {label}")
        by_index[index] = (label, run)
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise ResultsError(f"shard(s) {', '.join(missing)} of {count} missing: every shard's results.json is needed")
    build = reference["build"]
    if base is not None and base.run_id != build.get("run_id"):
        raise ResultsError(f"the shards tested build {build.get('run_id')!r}, not this run ({base.run_id!r})")
    if base is not None:
        _same_source("the run in OUT", base, first_label, first)

    selection = list(reference["selection"])
    assigned: dict[str, int] = {}
    for index, (label, run) in sorted(by_index.items()):
        for name in sections[label]["files"]:
            if name in assigned:
                raise ResultsError(f"{name} is in shard {assigned[name]} and shard {index}")
            assigned[name] = index
    if set(assigned) != set(selection):
        raise ResultsError("the shards' files are not the selection: "
                           f"{len(set(selection) - set(assigned))} unassigned, "
                           f"{len(set(assigned) - set(selection))} not selected")

    results: dict[str, TestFile] = {}
    origin_of: dict[str, int] = {}
    for index, (label, run) in sorted(by_index.items()):
        mine = sections[label]["files"]
        for result in run.test_files:
            owner = next((name for name in mine if _belongs(result.name, name)), None)
            if owner is None:
                raise ResultsError(f"{label} (shard {index}) has a result for {result.name}, "
                                   "which is not one of its files")
            if result.name in results:
                raise ResultsError(f"{result.name} has results from shard {origin_of[result.name]} and shard {index}")
            results[result.name], origin_of[result.name] = result, index
        if not run.errors:
            lost = [name for name in mine if not any(_belongs(r.name, name) for r in run.test_files)]
            if lost:
                raise ResultsError(f"{label} (shard {index}) finished without results for {', '.join(lost[:10])}")

    ordered: list[TestFile] = []
    for name in selection:
        ordered += [result for key, result in results.items() if _belongs(key, name)]

    merged = copy.deepcopy(base) if base is not None else _from_shard(first, build)
    test_stages, per_shard, errors = [], [], []
    for index, (label, run) in sorted(by_index.items()):
        stage = next((s for s in run.stages if s.name == "test"), None)
        name = SHARD_STAGE.format(index=index, count=count)
        test_stages.append(Stage(name, stage.status if stage else "failed", stage.duration if stage else 0.0,
                                 stage.returncode if stage else None, stage.log if stage else None))
        errors += [f"shard {index}/{count}: {error}" for error in run.errors]
        per_shard.append({"index": index, "run_id": run.run_id, "origin": run.origin, "node": run.node.get("version"),
                          "files": len(sections[label]["files"]),
                          "duration": stage.duration if stage else None, "status": stage.status if stage else None})
    merged.stages = [s for s in merged.stages if s.name not in ("test", "merge") and not s.name.startswith("test-shard-")]
    merged.stages += test_stages
    merged.stages.append(Stage("test", "succeeded" if all(s.status == "succeeded" for s in test_stages) else "failed",
                               max(s.duration for s in test_stages)))
    # Other keys of the section (the runtime record, the tree's arguments) are the same on every shard.
    merged.tests = {**{k: v for k, v in first.tests.items() if k not in ("logs", "shards")},
                    "selection": selection, "shards": count, "files": ordered}
    merged.runtimes = _merge_runtimes([run for _, (_, run) in sorted(by_index.items())], selection)
    merged.errors = [*merged.errors, *errors]
    merged.shard = {"count": count, "selection_digest": reference["selection_digest"], "build": build,
                    "method": reference.get("method"), "merged": per_shard}
    if not merged.node.get("version"):
        merged.node = dict(first.node)
    merged.decide_outcome()
    return merged


def _merge_runtimes(runs: list[Run], selection: list[str]) -> list[dict]:
    """Further runtimes (`--node` given again): section k of every shard is one runtime's part."""
    counts = {len(getattr(run, "runtimes", None) or []) for run in runs}
    if counts == {0}:
        return []
    if len(counts) != 1:
        raise ResultsError("the shards tested different numbers of further runtimes (--node)")
    merged = []
    for k in range(counts.pop()):
        parts = [run.runtimes[k] for run in runs]
        files = [f for part in parts for f in part.get("files", [])]
        ordered = [f for name in selection for f in files if _belongs(f.name, name)]
        section = {**parts[0], "files": ordered}
        failed = [f"shard {i}: {part['error']}" for i, part in enumerate(parts, 1) if part.get("error")]
        if failed:
            section["error"] = "; ".join(failed)   # it could not run on some shard
        merged.append(section)
    return merged


def _from_shard(first: Run, build: dict) -> Run:
    """A new record for the build the shards tested: its identity, source, toolchain, stages."""
    run = Run(run_id=build.get("run_id") or first.run_id,
              created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run.origin = dict(first.origin)
    run.source, run.toolchain, run.node = dict(first.source), dict(first.toolchain), dict(first.node)
    run.stages = [copy.deepcopy(s) for s in first.stages]
    run.artifacts = [copy.deepcopy(a) for a in first.artifacts]
    return run


def merge_files(out: Path, paths: list[Path], *, log=print) -> Run:
    """Reads each shard's results.json, writes OUT/results.json, junit.xml and summary.md.

    A results.json already in OUT (the build's own record) is continued when it is the build
    the shards tested. Each shard's logs/ (next to its results.json) is copied to
    OUT/logs/shard-I/.
    """
    started = time.monotonic()
    shards = [(str(path), load_validated(Path(path))) for path in paths]
    existing = out / "results.json"
    base = load_validated(existing) if existing.exists() else None
    if base is not None and base.shard is not None:
        base = None        # an earlier merge (or a shard) in OUT: start again from the shards
    merged = merge_runs(shards, base)
    logs = []
    for path, run in zip(paths, (run for _, run in shards)):
        source = Path(path).parent / "logs"
        if source.is_dir() and source.resolve() != (out / "logs").resolve():
            target = out / "logs" / f"shard-{run.shard['index']}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
            logs += sorted(str(p.relative_to(out)) for p in target.glob("test*.log"))
    merged.tests["logs"] = logs
    merged.set_stage(Stage("merge", "succeeded", round(time.monotonic() - started, 3)))
    out.mkdir(parents=True, exist_ok=True)
    merged.decide_outcome()
    write_junit(merged, out / "junit.xml")
    (out / "summary.md").write_text(render_markdown(merged))
    merged.save(existing)
    log(f"merge: {len(shards)} shards, {len(merged.test_files)} files -> {existing}")
    return merged


def register(sub) -> None:
    parser = sub.add_parser("merge", help="combine the results.json of `test --shard I/N` runs into one run")
    parser.add_argument("out", type=Path, metavar="OUT",
                        help="output directory: results.json, junit.xml, summary.md (an existing results.json "
                             "of the build the shards tested is continued)")
    parser.add_argument("results", type=Path, nargs="+", metavar="RESULTS", help="each shard's results.json")
    parser.set_defaults(func=_main)


def _main(args) -> int:
    from ..errors import EmscriptenPythonError, TestsFailed
    from .main import record_in_status_store

    run = merge_files(args.out, args.results)
    files = run.counts()["files"]
    print(f"{run.outcome}: {files['total']} files from {run.shard['count']} shards: {files['passed']} passed, "
          f"{files['failed'] + files['env-changed']} failed, {files['crashed']} crashed, "
          f"{files['timed-out']} timed out, {files['flaky']} flaky -> {args.out / 'results.json'}")
    record_in_status_store(args.out / "results.json")
    if run.outcome == "failure":
        return TestsFailed.exit_code
    return EmscriptenPythonError.exit_code if run.outcome == "error" else 0
