"""Split a test selection across N node processes and merge the results as one run.

Emscripten regrtest runs in ONE process, so a worker's other cores idle during the test
stage. Each shard is a full crash-proof runner (runner.run_regrtest) over its share of
the files, with its own regrtest --tempdir and TMPDIR (getpid() is constant under
Emscripten, so regrtest's default per-process work dir would collide). Files are balanced
by known durations (the previous run's results), longest first onto the least-loaded
shard; each shard keeps the selection's order. The merged list is in selection order, the
same shape as a serial run.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..results import TestFile
from .runner import HostPython, TestOptions, run_regrtest


def balance(selection: list[str], shards: int, durations: dict[str, float]) -> list[list[str]]:
    """Longest-processing-time-first assignment; unknown files count as the mean known one."""
    shards = max(1, min(shards, len(selection)))
    known = [durations[name] for name in selection if durations.get(name)]
    default = sum(known) / len(known) if known else 1.0
    cost = {name: durations.get(name) or default for name in selection}
    loads = [0.0] * shards
    assigned: list[set[str]] = [set() for _ in range(shards)]
    for name in sorted(selection, key=lambda n: (-cost[n], selection.index(n))):
        target = loads.index(min(loads))
        loads[target] += cost[name]
        assigned[target].add(name)
    groups = [[name for name in selection if name in group] for group in assigned]
    return [group for group in groups if group]


def run_sharded(host: HostPython, options: TestOptions, out_dir: Path, shards: int,
                durations: dict[str, float] | None = None, log=print) -> list[TestFile]:
    if shards <= 1 or len(options.selection) <= 1:
        return run_regrtest(host, options, out_dir, log=log)
    groups = balance(options.selection, shards, durations or {})
    log(f"test: {len(options.selection)} files in {len(groups)} shards of "
        f"{', '.join(str(len(g)) for g in groups)}")

    def run_shard(index: int, group: list[str]) -> list[TestFile]:
        tmp = out_dir / "shards" / str(index) / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        shard_host = dataclasses.replace(host, env={**host.env, "TMPDIR": str(tmp)})
        shard_options = dataclasses.replace(
            options, selection=group, regrtest_args=[*options.regrtest_args, "--tempdir", str(tmp)])
        return run_regrtest(shard_host, shard_options, out_dir, log=log, label=f"test-shard{index}")

    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        parts = list(pool.map(run_shard, range(len(groups)), groups))
    merged = {result.name: result for part in parts for result in part}
    ordered = [merged.pop(name) for name in options.selection if name in merged]
    return ordered + list(merged.values())
