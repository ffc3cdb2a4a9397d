"""--tests: the full suite, a named subset, or an explicit list of test files."""

from __future__ import annotations

import re
import subprocess

from ..building.host import HostPython
from ..errors import TestRunError

# Named subsets. "smoke" is fast and exercises what usually breaks first on Emscripten
# (math, compression, JSON's recursion, list's deep recursion).
SUBSETS = {
    "smoke": ["test_math", "test_zlib", "test_json", "test_list", "test_bytes", "test_unicode_identifiers"],
    # `run --tests none`: build and bundle only (the build job of a sharded workflow)
    "none": [],
}


def list_full_suite(host: HostPython, names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """regrtest's own idea of "all tests" (or of the files `names` run) for this build,
    package suites already split."""
    done = subprocess.run([*host.argv, "-m", "test", "--list-tests", *names], cwd=host.cwd, env=host.env,
                          capture_output=True, text=True, timeout=600)
    names = [line.strip() for line in done.stdout.splitlines() if re.fullmatch(r"test[\w.]*", line.strip())]
    if done.returncode or not names:
        raise TestRunError(f"`-m test --list-tests` failed (rc {done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")
    return names


def split_names(spec: str) -> list[str]:
    """'test_os,test_math' or 'test_os test_math' -> names."""
    return [name for name in re.split(r"[\s,]+", spec) if name]


def bad_test_names(names: list[str]) -> list[str]:
    """Names that are not regrtest file names (test_os, test.test_asyncio.test_tasks)."""
    return [name for name in names if not re.fullmatch(r"test[\w.]*", name)]


def resolve_selection(spec: str, exclude: list[str], host: HostPython) -> list[str]:
    if spec == "all":
        names = list_full_suite(host)
    elif spec in SUBSETS:
        names = list(SUBSETS[spec])
    else:
        names = split_names(spec)
        bad = bad_test_names(names)
        if bad:
            raise TestRunError(f"--tests: {', '.join(bad)} are not test file names "
                               f"(use all, {', '.join(SUBSETS)}, or names like test_os)")
    excluded = set(exclude)
    selection = list(dict.fromkeys(name for name in names if name not in excluded))
    if not selection:
        raise TestRunError("the test selection is empty after --exclude")
    return selection
