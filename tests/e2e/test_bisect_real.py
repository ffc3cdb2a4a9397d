"""`bisect` on the real 3.13.15 tree: a git history of 12 commits made on a copy of the built tree.

The main e2e build (`real_run`) leaves a built tree; a copy of it becomes commit c0 of a git
repository (the build directories excluded), and 12 commits follow:

    c1          a Lib comment               c6, c7     Lib comments
    c2          Lib/test/test_colorsys.py:
                a test that fails on half
                its runs (os.urandom)
    c3          Python/getcopyright.c does  c8         Objects/unicodeobject.c: expandtabs
                not compile                            aborts for tab size 9 (what textwrap
    c4          c3 reverted                            uses since c5): test_textwrap now
                                                       crashes the runtime
    c5          Lib/textwrap.py expands     c9-c12     Lib comments (HEAD of main)
                tabs one column too far:
                test_textwrap fails

Bisection 1 (--good c0 --bad c7 --tests test_textwrap,test_colorsys): the failure is a
failing test; c3 cannot be built and is skipped; test_colorsys, flaky from c2 on, does not
move the answer, c5: a failing run is run again (--flaky-reruns) and a pass makes the commit
good. Bisection 2 (--good c4 --bad c12): the failure is a crash, so
c5-c7 (failing, not crashing) count as good; the answer is c8, the C change. Each bisection
prints its number of builds and wall time.

The history and the CLI's run in the root are tests/e2e/git_history.py's (shared with
benchmarks/bisection.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from git_history import break_textwrap, comment, commit_history, edit, git, git_in_root, run_bisect
from real_build import OUT

# ~11-17 minutes (two bisections, ten warm rebuilds): beyond CI's 30-minute budget, so run on
# request with `scripts/test -m long_e2e` (pyproject's addopts deselect it otherwise).
pytestmark = [pytest.mark.e2e, pytest.mark.long_e2e]

TREE = "/var/lib/ep-e2e/bisect/Python-3.13.15"
CACHE = "/var/cache/emscripten-python"          # the main run's EMSCRIPTEN_PYTHON_CACHE
FLAKY = "test_colorsys"
# The flaky test fails on half its runs and regrtest's own re-run (the tree's --rerun) passes
# half of those, so the file fails about one run in four; a commit between c2 and c5 is
# wrongly bad only when all 1 + 4 runs fail: 0.25 ** 5, about 1 in 1000 per such step.
FLAKY_RERUNS = 4


# (subject, change) for c1..c12; a change edits the tree (on the host, under the root).
def _history(tree: Path) -> list[tuple[str, object]]:
    copyright_c, unicode_c = tree / "Python" / "getcopyright.c", tree / "Objects" / "unicodeobject.c"
    kept = {}

    def break_build(t):
        kept["copyright"] = copyright_c.read_text()
        copyright_c.write_text(kept["copyright"] + "\nthis does not compile;\n")

    def make_colorsys_flaky(t):
        # Random from the OS (not `random`, which regrtest seeds): nothing the bisection controls.
        with (t / "Lib" / "test" / "test_colorsys.py").open("a") as handle:
            handle.write("\n\nclass BisectE2EFlaky(unittest.TestCase):\n"
                         "    def test_fails_on_half_the_runs(self):\n"
                         "        import os\n"
                         "        self.assertLess(os.urandom(1)[0], 128)\n")

    return [
        ("Lib: comment 1", lambda t: comment(t / "Lib" / "colorsys.py", 1)),
        ("Lib/test: test_colorsys fails on half its runs", make_colorsys_flaky),
        ("C: getcopyright.c does not compile", break_build),
        ("C: revert the getcopyright.c breakage", lambda t: copyright_c.write_text(kept["copyright"])),
        ("Lib: textwrap expands tabs one column too far", break_textwrap),
        ("Lib: comment 6", lambda t: comment(t / "Lib" / "colorsys.py", 6)),
        ("Lib: comment 7", lambda t: comment(t / "Lib" / "colorsys.py", 7)),
        # After c5 every TextWrapper expands tabs to 9 columns: each wrap now aborts the runtime.
        ("C: str.expandtabs aborts for tab size 9", lambda t: edit(
            unicode_c, "    /* First pass: determine size of output string */\n",
            "    if (tabsize == 9) {\n        abort();\n    }\n"
            "    /* First pass: determine size of output string */\n")),
        *[(f"Lib: comment {n}", lambda t, n=n: comment(t / "Lib" / "colorsys.py", n)) for n in (9, 10, 11, 12)],
    ]


@pytest.fixture(scope="module")
def history(real_run):
    env = real_run["env"]
    root = env["root"]
    copied = root.chroot(f"rm -rf {Path(TREE).parent} && mkdir -p {Path(TREE).parent} && "
                         f"cp -a {OUT}/source/Python-3.13.15 {Path(TREE).parent}/", check=False, capture=True)
    assert copied.returncode == 0, copied.stdout
    tree = root.path / TREE.lstrip("/")
    commits = commit_history(tree, "CPython 3.13.15 as built", _history(tree))
    with git_in_root(root):
        yield {"env": env, "root": root, "tree": tree, "c": commits}


def _bisect(history, name: str, good: str, bad: str, tests: str = "test_textwrap", extra: str = ""):
    env = history["env"]
    done, result, wall = run_bisect(history["root"], env["cli"], tree=TREE, out=f"/var/lib/ep-e2e/out-bisect-{name}",
                                    good=good, bad=bad, tests=tests, extra=extra,
                                    env={"EMSCRIPTEN_PYTHON_CACHE": CACHE, "EMSCRIPTEN_PYTHON_NO_RECORD": "1"})
    print(done.stdout[-6000:])
    runs = [run for s in result.get("steps", []) for run in s["runs"]]
    flaky = [run["files"].get(FLAKY) for run in runs]
    env["report"].append(f"bisect {name}: rc {done.returncode}, {result.get('builds')} builds, {wall:.0f} s wall; "
                         "steps: " + ", ".join(f"{s['commit'][:8]} {s['verdict']}/{s['outcome']} "
                                               f"{len(s['runs'])} run(s) {s['duration']:.0f}s"
                                               for s in result.get("steps", []))
                         + (f"; {FLAKY} in {len(runs)} runs: {flaky.count('failed')} failed, {flaky.count('flaky')} "
                            "passed on regrtest's re-run" if FLAKY in tests else ""))
    return done, result, wall


def _back_on_main(history) -> None:
    tree = history["tree"]
    assert git(tree, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(tree, "rev-parse", "HEAD") == history["c"][12]
    assert git(tree, "status", "--porcelain", "--untracked-files=no") == ""


def test_a_lib_change_that_breaks_a_test_is_found_past_a_commit_that_does_not_build(history):
    c = history["c"]
    done, result, _ = _bisect(history, "lib", c[0], c[7], f"test_textwrap,{FLAKY}", f"--flaky-reruns {FLAKY_RERUNS}")
    assert done.returncode == 0, done.stdout[-6000:]
    assert result["failure"] == "fail"
    assert result["first_bad"]["commit"] == c[5], result["first_bad"]
    # Where only the flaky file can fail (c2-c4), a failing run was run again and a pass made it good.
    for step in result["steps"]:
        if step["commit"] in c[2:5] and step["runs"]:      # c3 does not build: no runs
            assert all(run["files"].get("test_textwrap") == "passed" for run in step["runs"]), step
            assert step["verdict"] == "good", step
            assert step["outcome"] == ("flaky" if step["runs"][0]["verdict"] == "bad" else "passed"), step
    skipped = [s for s in result["steps"] if s["verdict"] == "skip"]
    assert [(s["commit"], s["outcome"]) for s in skipped] == [(c[3], "build-failed")]
    assert "getcopyright.c" in skipped[0]["error"] or "make-build-python" in skipped[0]["error"]
    assert result["builds"] <= math.ceil(math.log2(7)) + 2 + len(skipped)
    _back_on_main(history)


def test_a_later_c_change_that_crashes_the_same_test_is_found_as_the_crash(history):
    c = history["c"]
    done, result, _ = _bisect(history, "c", c[4], c[12])
    assert done.returncode == 0, done.stdout[-6000:]
    assert result["failure"] == "crash"
    assert result["first_bad"]["commit"] == c[8], result["first_bad"]
    # The Lib breakage (c5-c7: test_textwrap fails, the runtime lives) is not the crash.
    assert all(s["verdict"] == "good" for s in result["steps"] if s["outcome"] == "failed")
    assert result["builds"] <= math.ceil(math.log2(8)) + 2
    _back_on_main(history)
