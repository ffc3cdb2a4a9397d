"""A git history on the real 3.13.15 tree inside the Debian root, and `bisect` run over it.

Shared by tests/e2e/test_bisect_real.py and benchmarks/bisection.py: the tree (already in the
root) becomes commit c0 of a git repository, each change a commit after it; the CLI runs in
the root with the host's git bound in.

The trixie root has no git package: the host's git exec path (`git --exec-path`: `git` and its
helpers; git needs only libc, zlib and pcre2, which the root has) is bound into the root and
put first on the CLI's PATH.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

GIT_IN_ROOT = "/opt/host-git-core"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"}
# The CLI's PATH inside the root: the bound git first.
PATH_WITH_GIT = f"{GIT_IN_ROOT}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Change = Callable[[Path], None]     # edits the tree (a host path under the root)


def git(tree: Path, *args: str) -> str:
    """git on the host, in the tree's host path."""
    return subprocess.run(["git", *args], cwd=tree, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} is not there once"
    path.write_text(text.replace(old, new))


def comment(path: Path, number: int) -> None:
    with path.open("a") as handle:
        handle.write(f"# bisect e2e: change {number}\n")


def break_textwrap(tree: Path) -> None:
    """Lib/textwrap.py expands tabs one column too far: test_textwrap fails (a Lib change)."""
    edit(tree / "Lib" / "textwrap.py", "text = text.expandtabs(self.tabsize)",
         "text = text.expandtabs(self.tabsize + 1)")


def commit_history(tree: Path, subject: str, changes: list[tuple[str, Change]]) -> list[str]:
    """The tree as it is becomes commit c0 (`subject`), then one commit per (subject, change).

    Returns the commit ids c0..cN; the branch `main` ends at cN, checked out.
    """
    git(tree, "init", "-q", "-b", "main")
    # The build directories and byte code are not part of the history (as in CPython's .gitignore).
    (tree / ".git" / "info" / "exclude").write_text("/builddir/\n__pycache__/\n*.pyc\n")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", subject)
    commits = [git(tree, "rev-parse", "HEAD")]
    for change_subject, change in changes:
        change(tree)
        git(tree, "commit", "-q", "-a", "-m", change_subject)
        commits.append(git(tree, "rev-parse", "HEAD"))
    return commits


@contextlib.contextmanager
def git_in_root(root) -> Iterator[None]:
    """The host's git exec path bound at GIT_IN_ROOT for the block (binding /usr/bin would put the
    host's python3 first on the PATH too)."""
    exec_path = Path(subprocess.run(["git", "--exec-path"], check=True, capture_output=True,
                                    text=True).stdout.strip())
    assert (exec_path / "git").is_file()
    with root.bind(exec_path, GIT_IN_ROOT):
        yield


def run_bisect(root, cli: str, *, tree: str, out: str, good: str, bad: str, tests: str, env: dict[str, str],
               extra: str = "") -> tuple[subprocess.CompletedProcess, dict, float]:
    """`emscripten-python bisect` in the root (tree and out are paths inside it): the process,
    its bisect.json ({} when none was written) and the wall time in seconds."""
    started = time.monotonic()
    done = root.chroot(
        f"rm -rf {out} && mkdir -p {Path(out).parent} && cd {Path(out).parent} && {cli} bisect --toolchain system --mirror /mirror "
        f"--source {tree} --out {out} --good {good} --bad {bad} --tests {tests} --jobs 2 --timeout 600 {extra}",
        capture=True, check=False, env={**env, "PATH": PATH_WITH_GIT})
    wall = time.monotonic() - started
    path = root.path / out.lstrip("/") / "bisect.json"
    return done, json.loads(path.read_text()) if path.exists() else {}, wall
