"""Split a test selection across N node processes (one machine) or N machines (`test --shard I/N`).

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
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..building.host import HostPython
from ..durable import atomic_write
from ..errors import ResultsError, TestRunError
from ..results.model import TestFile
from ..results.validation import is_seconds, load_json
from .runner import TestOptions, run_regrtest


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
    out_dir = Path(out_dir).absolute()     # --tempdir and TMPDIR reach an interpreter in another directory
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


# -- across machines: `test --shard I/N` -------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' (1 <= I <= N) -> (I, N)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise TestRunError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 1/4")
    return int(match.group(1)), int(match.group(2))


def selection_digest(selection: list[str]) -> str:
    """Identifies a selection (names and order): shards of one run must agree on it."""
    return hashlib.sha256(json.dumps(list(selection)).encode()).hexdigest()


def _owner(name: str, count: int) -> int:
    """Rendezvous (highest random weight) hashing: the shard whose hash of (shard, name) is highest.

    A file's shard depends only on its name and N, so adding or removing one file moves no
    other file (a modulo over the selection's index would move about half of them).
    """
    def weight(index: int) -> bytes:
        return hashlib.sha256(f"{index}\0{name}".encode()).digest()
    return max(range(1, count + 1), key=weight)


def shard_slice(selection: list[str], index: int, count: int,
                durations: dict[str, float] | None = None) -> tuple[list[str], str]:
    """The files of shard `index` of `count` (1-based), in selection order, and the method used.

    With durations (the same file given to every shard): longest-first balance, "durations".
    Without: rendezvous hashing of the file names, "hash" (stable when one file is added).
    Every machine computes the same split from the same inputs; no coordination needed.
    """
    if not 1 <= index <= count:
        raise TestRunError(f"shard {index}/{count}: the index must be between 1 and {count}")
    if durations:
        groups = balance(selection, count, durations)
        return (groups[index - 1] if index - 1 < len(groups) else []), "durations"
    return [name for name in selection if _owner(name, count) == index], "hash"


def load_durations_file(path: Path) -> dict[str, float]:
    """A test-durations.json (file name -> seconds), as the test stage keeps it, or a results.json,
    read through the shared checks of untrusted JSON (emscripten_python/results/validation.py); values
    that are not durations are left out."""
    try:
        data = load_json(Path(path))
    except ResultsError as exc:
        raise TestRunError(f"--durations {path}: cannot read it: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("tests"), dict):
        files = data["tests"].get("files")
        data = {f.get("name"): f.get("duration") for f in (files if isinstance(files, list) else [])
                if isinstance(f, dict)}
    if not isinstance(data, dict):
        raise TestRunError(f"--durations {path}: expected a JSON object of file name -> seconds")
    return {str(k): float(v) for k, v in data.items() if is_seconds(v)}


DURATIONS = "test-durations.json"


def load_durations(out: Path) -> dict[str, float]:
    """Per-file durations measured by earlier runs in this --out (they balance the shards).

    Kept apart from results.json, which a new run replaces before its test stage. Read like a
    --durations file (--out sits next to the checkout a PR's code ran in); a missing or refused
    one is no history.
    """
    try:
        return load_durations_file(out / DURATIONS)
    except TestRunError:
        return {}


def save_durations(out: Path, files: list[TestFile]) -> None:
    """Add the measured durations of ``files`` to the history in --out."""
    durations = load_durations(out)
    durations.update({f.name: f.duration for f in files if f.duration})
    atomic_write(out / DURATIONS, json.dumps(durations, indent=1, sort_keys=True) + "\n")
