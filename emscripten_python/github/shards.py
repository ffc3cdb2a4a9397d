"""The action's sharded modes (docs/github-action.rst, "Sharded workflows").

One build job (``tests: none``: toolchain, build, bundle; its artifact holds the bundle), N
test jobs (``bundle:`` the downloaded artifact, ``shard:`` I, ``shards:`` N: `test
--from-bundle --shard I/N`, node only) and one merge job (``merge-from:`` the downloaded
shard artifacts: `merge`), which alone reports. Inputs arrive as INPUT_* like every other.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import BundleError
from ..results.artifacts import bundled_results


MAX_SHARDS = 256     # GitHub runs at most 256 jobs per matrix


def _input(name: str) -> str:
    return os.environ.get("INPUT_" + name.upper().replace("-", "_"), "").strip()


def _workspace(path: str) -> Path:
    return Path(os.environ.get("GITHUB_WORKSPACE", ".")) / path


def is_file(path: Path) -> bool:
    """Path.is_file, False instead of an exception for a name the system refuses (too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def mode() -> str:
    """run (default), test (from a bundle) or merge."""
    if _input("merge-from"):
        return "merge"
    if _input("bundle"):
        return "test"
    return "run"


def find_bundle(where: str) -> Path | None:
    """The bundle: the file itself, or the one emscripten-python-*.tar.gz in a downloaded artifact."""
    path = _workspace(where)
    if is_file(path):
        return path
    found = sorted(path.rglob("emscripten-python-*.tar.gz")) if is_dir(path) else []
    return found[0] if len(found) == 1 else None


def shard_results(where: str) -> list[Path]:
    """Every shard's results.json under the merge-from directory (one per downloaded artifact)."""
    root = _workspace(where)
    return sorted(root.rglob("results.json")) if is_dir(root) else []


def validate(errors: list[str]) -> None:
    shard, shards = _input("shard"), _input("shards")
    if bool(shard) != bool(shards):
        errors.append("shard and shards go together: shard I of shards N (e.g. shard: 1, "
                      "shards: 4)")
    elif shard:
        if not (re.fullmatch(r"\d{1,4}", shard) and re.fullmatch(r"\d{1,4}", shards)
                and 1 <= int(shard) <= int(shards) <= MAX_SHARDS):
            errors.append(f"shard/shards: {shard[:20]!r}/{shards[:20]!r} is not I/N with 1 <= I <= N <= {MAX_SHARDS}")
        if not _input("bundle"):
            errors.append("shard: needs bundle (the build job's artifact, downloaded) to test from")
    if _input("bundle") and _input("merge-from"):
        errors.append("bundle and merge-from: one job tests a shard or merges, not both")
    bundle = find_bundle(_input("bundle")) if _input("bundle") else None
    if _input("bundle") and bundle is None:
        errors.append(f"bundle: {_input('bundle')[:80]!r} is not a bundle, nor a directory holding exactly one "
                      "emscripten-python-*.tar.gz (was the build job's artifact downloaded?)")
    elif bundle is not None:
        try:
            bundled_results(bundle)
        except BundleError as exc:
            errors.append(f"bundle: {exc}")
    if _input("merge-from") and not shard_results(_input("merge-from")):
        errors.append(f"merge-from: no results.json under {_input('merge-from')[:80]!r} (were the shard "
                      "artifacts downloaded?)")


def argv_for(run_argv: list[str], out: Path) -> list[str]:
    """`run …` as the action builds it, turned into this job's command."""
    if mode() == "merge":
        return ["merge", str(out), *map(str, shard_results(_input("merge-from")))]
    if mode() == "run":
        return run_argv
    # `test` takes the test options of `run`; --jobs is its node processes (run's --test-jobs).
    argv, skip = ["test"], False
    for arg in run_argv[1:]:
        if skip:
            skip = False
        elif arg in ("--jobs", "--source", "--toolchain", "--cache-dir", "--chromium"):
            skip = True          # build options, with their value
        elif arg == "--test-jobs":
            argv.append("--jobs")
        elif arg not in ("--browser", "--strict-toolchain") and not arg.startswith("--configure-arg="):
            argv.append(arg)
    argv += ["--from-bundle", str(find_bundle(_input("bundle")))]
    if _input("shard"):
        argv += ["--shard", f"{_input('shard')}/{_input('shards')}"]
    if _input("durations"):
        argv += ["--durations", str(_workspace(_input("durations")))]
    return argv


def bundle_node_version() -> str | None:
    """A shard job's node: the major the build's tree asked for (its results.json in the bundle,
    checked by ``validate`` first)."""
    bundle = find_bundle(_input("bundle")) if mode() == "test" else None
    if bundle is None:
        return None
    node = bundled_results(bundle).node
    wanted = str(node.get("wanted") or (node.get("version") or "").split(".")[0])
    return wanted if re.fullmatch(r"\d+", wanted) else None
