"""The next commit on the real 3.13.15 tree: configure seeded from the previous commit's answers.

Commit 1 is the main e2e build (the tarball, `real_run`), whose configure stages store their
config.cache under the run's cache directory (buildcache.ConfigCache). Commit 2 is a copy of
that tree in another directory with a one-line C change, built as a plain directory source (so
no configure stamp can skip configure): both configures must be seeded (log line and
results.json) and give the same pyconfig.h as commit 1's clean configure, and make rebuilds on
top of the copied objects (every module: the tree's path is in Makefile, so it changed). Then
the commit after it, in the same checkout (one more C line): configure's unchanged outputs keep
their mtimes and make recompiles a handful of objects, not every module. Then the carried
cache goes stale on purpose, twice:

- the stored config.cache of the build Python's configure edited to a wrong answer, same key:
  dropped (its sha256 no longer matches), configure runs clean, pyconfig.h right again;
- the tree's config.cache from other inputs (another CFLAGS in the environment): dropped,
  configure runs clean.

Cost on a warm machine: copying the ~550 MB tree, two seeded configures, an incremental make
and two native configures (docs/e2e.rst).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from real_build import OUT, _source, compile_commands

pytestmark = pytest.mark.e2e

COMMIT2 = "/var/lib/ep-e2e/next-commit"
COMMIT2_OUT = "/var/lib/ep-e2e/out-next-commit"
CACHE = "/var/cache/emscripten-python"          # the main run's EMSCRIPTEN_PYTHON_CACHE
CHANGED_C = "Python/getcopyright.c"


def _in_root(env, script: str, **kwargs):
    return env["root"].chroot(script, capture=True, check=False,
                              env={"EMSCRIPTEN_PYTHON_CACHE": CACHE, **kwargs.pop("extra", {})}, **kwargs)


def _build(env, *args: str, extra: dict | None = None):
    started = time.monotonic()
    done = _in_root(env, f"cd /var/lib/ep-e2e && {env['cli']} build --toolchain system --mirror /mirror "
                         f"--source {COMMIT2}/Python-3.13.15 --out {COMMIT2_OUT} {' '.join(args)}", extra=extra or {})
    env["report"].append(f"next commit: build {' '.join(args) or '(all stages)'}: rc {done.returncode} "
                         f"in {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((env["root"].path / COMMIT2_OUT.lstrip("/") / "results.json").read_text())
    return done.stdout, {s["name"]: s for s in results["stages"]}


@pytest.fixture(scope="module")
def commit2(real_run):
    env = real_run["env"]
    main_tree = f"{OUT}/source/Python-3.13.15"
    assert _source(env)          # the main run built the tarball: its configure caches are stored
    copied = _in_root(env, f"rm -rf {COMMIT2} {COMMIT2_OUT} && mkdir -p {COMMIT2} && cp -a {main_tree} {COMMIT2}/ && "
                           f"echo '/* next commit: a one-line C change */' >> {COMMIT2}/Python-3.13.15/{CHANGED_C}")
    assert copied.returncode == 0, copied.stdout
    stdout, stages = _build(env)
    return {"env": env, "stdout": stdout, "stages": stages,
            "main": env["root"].path / main_tree.lstrip("/"),
            "tree": env["root"].path / COMMIT2.lstrip("/") / "Python-3.13.15"}


def _pyconfig(tree, build_dir: str) -> str:
    return (tree / "builddir" / build_dir / "pyconfig.h").read_text()


def test_the_next_commit_is_seeded_and_configures_as_the_clean_configure(commit2):
    stages, stdout = commit2["stages"], commit2["stdout"]
    for name, build_dir in (("configure-build-python", "build"), ("configure-host", "emscripten-node")):
        assert stages[name]["status"] == "succeeded"
        assert stages[name]["cache"]["config_cache"] == "seeded", stages[name]["cache"]
        assert f"{name}: config.cache seeded" in stdout
        assert _pyconfig(commit2["tree"], build_dir) == _pyconfig(commit2["main"], build_dir)
        # And the whole Makefile, the trees' paths aside: the answers configure.ac uses
        # otherwise when cached (libmpdec's -DASM=1, NO_AS_NEEDED) are not carried.
        main = (commit2["main"] / "builddir" / build_dir / "Makefile").read_text()
        assert (commit2["tree"] / "builddir" / build_dir / "Makefile").read_text() == main.replace(
            f"{OUT}/source/Python-3.13.15", f"{COMMIT2}/Python-3.13.15")
    # The answer that is a path in the tree (the build Python for regenerating files) is this tree's.
    makefile = (commit2["tree"] / "builddir" / "emscripten-node" / "Makefile").read_text()
    assert f"{COMMIT2}/Python-3.13.15/builddir/build/python" in makefile
    assert f"{OUT}/source/Python-3.13.15/builddir/build/python" not in makefile
    assert stages["verify-host"]["status"] == "succeeded"
    commit2["env"]["report"].append("next commit stages (s): " + ", ".join(
        f"{name} {stage['duration']:.1f}" for name, stage in stages.items()))


def test_the_commit_after_in_the_same_checkout_recompiles_only_a_handful_of_objects(commit2):
    # A worker's checkout updated in place: one more C line. Both configures run again
    # (seeded) in the build directories commit 2 left; their unchanged outputs keep their
    # mtimes (building/configure_outputs.py), so make does not recompile every module for a
    # Modules/config.c and Makefile rewritten with the same content.
    env = commit2["env"]
    changed = _in_root(env, f"echo '/* the commit after: one more C line */' >> {COMMIT2}/Python-3.13.15/{CHANGED_C}")
    assert changed.returncode == 0, changed.stdout
    stdout, stages = _build(env)
    logs = env["root"].path / COMMIT2_OUT.lstrip("/") / "logs"
    counts = {}
    for name, build_dir, make in (("configure-build-python", "build", "make-build-python"),
                                  ("configure-host", "emscripten-node", "make-host")):
        cache = stages[name]["cache"]
        assert stages[name]["status"] == "succeeded" and cache["config_cache"] == "seeded", cache
        assert {"config.status", "Makefile.pre", "Makefile", "Modules/config.c"} <= set(cache["outputs"]["restored"]), cache
        assert cache["outputs"]["changed"] == [], cache
        assert f"{name}: {len(cache['outputs']['restored'])} unchanged output(s) keep their mtime" in stdout
        # Still what a clean configure gives (commit 1's was clean).
        assert _pyconfig(commit2["tree"], build_dir) == _pyconfig(commit2["main"], build_dir)
        log = (logs / f"{make}.log").read_text(errors="replace")
        counts[make] = compile_commands(log)
        assert "-o Python/getcopyright.o" in log
        assert 1 <= counts[make] <= 10, (make, counts[make], log[-3000:])
    assert stages["verify-host"]["status"] == "succeeded"
    env["report"].append(f"commit after, in place: compile commands {counts}; stages (s): " + ", ".join(
        f"{name} {stage['duration']:.1f}" for name, stage in stages.items()))


def test_a_stored_cache_edited_to_a_wrong_answer_is_detected_and_configure_runs_clean(commit2):
    env = commit2["env"]
    store = env["root"].path / CACHE.lstrip("/") / "configure-cache" / "configure-build-python"
    key = commit2["stages"]["configure-build-python"]["cache"]["key"]
    stored = store / key / "config.cache"
    text = stored.read_text()
    assert "ac_cv_func_dup3=${ac_cv_func_dup3=yes}" in text
    stored.write_text(text.replace("ac_cv_func_dup3=${ac_cv_func_dup3=yes}", "ac_cv_func_dup3=${ac_cv_func_dup3=no}"))
    stdout, stages = _build(env, "--only", "configure-build-python")
    stage = stages["configure-build-python"]
    assert stage["cache"]["config_cache"] == "dropped", stage["cache"]
    assert "changed after it was saved" in stage["cache"]["reason"]
    assert "configure-build-python: config.cache dropped" in stdout
    pyconfig = _pyconfig(commit2["tree"], "build")
    assert "#define HAVE_DUP3 1" in pyconfig and pyconfig == _pyconfig(commit2["main"], "build")
    assert "ac_cv_func_dup3=${ac_cv_func_dup3=yes}" in stored.read_text()      # stored again, right


def test_a_cache_from_other_inputs_is_dropped(commit2):
    # Only commit 2's entry stays stored, so an earlier run's entry for these CFLAGS cannot seed it.
    store = commit2["env"]["root"].path / CACHE.lstrip("/") / "configure-cache" / "configure-build-python"
    keep = commit2["stages"]["configure-build-python"]["cache"]["key"]
    for entry in store.iterdir():
        if entry.is_dir() and entry.name != keep:
            shutil.rmtree(entry)
    stdout, stages = _build(commit2["env"], "--only", "configure-build-python", extra={"CFLAGS": "-O1"})
    stage = stages["configure-build-python"]
    assert stage["cache"]["config_cache"] == "dropped", stage["cache"]
    assert "the environment changed" in stage["cache"]["reason"]
    assert "-O1" in (commit2["tree"] / "builddir" / "build" / "config.cache").read_text()
