"""The checkout a bisection moves through: refs, the first-parent range, checkout and restore."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import BisectError, Cancelled, SourceError


def git(tree: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run git in `tree` to its end, even when a cancel arrives meanwhile.

    A cancel raises in the main thread while it waits; killing git then could leave
    .git/index.lock behind and the restore that follows would fail. git commands are short,
    so the wait goes on and the cancel is re-raised once git is done.
    """
    process = subprocess.Popen(["git", "-C", str(tree), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    pending = None
    while True:
        try:
            out, err = process.communicate()
            break
        except Cancelled as exc:
            pending = exc
    if pending is not None:
        raise pending
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    if check and done.returncode:
        raise BisectError(f"git {' '.join(args)} failed in {tree}: {err.strip()[-300:]}")
    return done


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    author: str = ""


# The author's name and the subject, tab-separated after the sha (a name has no tab; a subject
# may, so it comes last and keeps whatever follows).
_FORMAT = "--format=%H%x09%an%x09%s"


def _commit(line: str) -> Commit:
    sha, author, subject = (line.split("\t", 2) + ["", ""])[:3]
    return Commit(sha, subject, author)


def describe(tree: Path, sha: str) -> Commit:
    """One commit's subject and author."""
    return _commit(git(tree, "log", "-1", _FORMAT, sha).stdout.rstrip("\n"))


def work_tree(path: Path) -> Path:
    """The top of the git work tree at `path` (SourceError, exit 10, when there is none)."""
    if not path.is_dir():
        raise SourceError(f"--source {path}: not a directory (bisect needs a git checkout)")
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode:
        raise SourceError(f"--source {path}: not a git work tree (bisect needs a git checkout)")
    top = Path(done.stdout.strip())
    if top.resolve() != path.resolve():
        raise SourceError(f"--source {path}: is inside the git work tree {top}; give its top directory")
    return top


def resolve(tree: Path, option: str, rev: str) -> str:
    # "--end-of-options" keeps a ref that starts with "-" from being read as an option.
    done = git(tree, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if done.returncode or not done.stdout.strip():
        raise BisectError(f"{option} {rev!r}: no such commit in {tree}")
    return done.stdout.strip()


def first_parent_range(tree: Path, good: str, bad: str) -> list[Commit]:
    """The commits after GOOD up to BAD on BAD's first-parent line, oldest first.

    GOOD must be on that line: otherwise "everything after GOOD" is not one stretch of it
    and halving would not be valid.
    """
    if good == bad:
        raise BisectError(f"--good and --bad are the same commit ({good[:12]}): nothing to bisect")
    if git(tree, "merge-base", "--is-ancestor", good, bad, check=False).returncode:
        raise BisectError(f"--good {good[:12]} is not an ancestor of --bad {bad[:12]}: "
                          "GOOD must be older, on BAD's history")
    listed = git(tree, "rev-list", "--first-parent", "--reverse", _FORMAT, f"{good}..{bad}").stdout
    commits = [_commit(line) for line in listed.splitlines() if not line.startswith("commit ")]
    parent = git(tree, "rev-parse", f"{commits[0].sha}^1", check=False).stdout.strip() if commits else ""
    if parent != good:
        raise BisectError(f"--good {good[:12]} is not on the first-parent history of --bad {bad[:12]} "
                          "(it is on a merged branch): give a commit of BAD's first-parent line")
    return commits


def head(tree: Path) -> str:
    """What to go back to: the branch checked out, or the commit of a detached HEAD."""
    branch = git(tree, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
    return branch or git(tree, "rev-parse", "HEAD").stdout.strip()


def check_clean(tree: Path) -> None:
    """Tracked files unchanged (build outputs are untracked: they may stay)."""
    dirty = git(tree, "status", "--porcelain", "--untracked-files=no").stdout
    if dirty.strip():
        first = dirty.splitlines()[0][3:]
        raise BisectError(f"--source {tree}: has uncommitted changes (e.g. {first}); commit or stash them "
                          "first, a bisection checks out other commits")
    for marker in ("BISECT_LOG", "MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD"):
        path = Path(git(tree, "rev-parse", "--git-path", marker).stdout.strip())
        if not path.is_absolute():
            path = tree / path
        if path.exists():
            raise BisectError(f"--source {tree}: a git operation is in progress ({marker}); finish it first")


def checkout(tree: Path, sha: str) -> None:
    git(tree, "checkout", "--quiet", "--detach", sha)


@contextmanager
def returning_to_start(tree: Path):
    """Yield; whatever happens (a cancel included), check out what was checked out before."""
    start = head(tree)
    try:
        yield start
    finally:
        # A branch name goes back as the branch (not a detached HEAD at its commit).
        git(tree, "checkout", "--quiet", start, "--")
