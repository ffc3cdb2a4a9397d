"""config.cache carried across commits, and ccache's counters, with real processes.

The configure here is a small shell script in autoconf's style: it loads CONFIG_SITE first,
then the cache file (-C), whose values win, refuses a cache whose precious variable (CFLAGS)
differs from the environment ("changes in the environment can compromise the build"), and
writes pyconfig.h from its one check. That order is autoconf's own (the generated
configure's "loading site script" / "loading cache" lines), and it is why a carried cache
can give a wrong answer: a changed config.site is read, then overridden by the old cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from emscripten_python.building import buildcache, ccache
from emscripten_python.errors import BuildError
from emscripten_python.pipeline import Options, Pipeline
from emscripten_python.building.recipes import BuildStep
from emscripten_python.building.toolchain import Toolchain
from emscripten_python.results.validation import validate_results

CONFIGURE = r"""#!/bin/sh
cache_file=/dev/null
for arg; do case $arg in -C|--config-cache) cache_file=config.cache;; esac; done
if test -n "$CONFIG_SITE"; then echo "configure: loading site script $CONFIG_SITE"; . "$CONFIG_SITE"; fi
if test "$cache_file" != /dev/null && test -r "$cache_file"; then
  echo "configure: loading cache $cache_file"; . "./$cache_file"
fi
if test "${ac_cv_env_CFLAGS_set+set}" = set && test "$ac_cv_env_CFLAGS_value" != "$CFLAGS"; then
  echo "configure: error: changes in the environment can compromise the build" >&2; exit 1
fi
if test "${ac_cv_func_dup3+set}" = set; then echo "checking for dup3... (cached) $ac_cv_func_dup3"
else ac_cv_func_dup3=yes; echo "checking for dup3... $ac_cv_func_dup3"; fi
: ${ac_cv_prog_PYTHON_FOR_REGEN=$(pwd)/python}
echo "#define HAVE_DUP3_$ac_cv_func_dup3 1" > pyconfig.h
echo "PYTHON_FOR_REGEN=$ac_cv_prog_PYTHON_FOR_REGEN" > Makefile
if test "$cache_file" != /dev/null; then
  printf "ac_cv_env_CFLAGS_set=set\nac_cv_env_CFLAGS_value='%s'\nac_cv_func_dup3=%s\nac_cv_prog_PYTHON_FOR_REGEN=%s\n" \
    "$CFLAGS" "$ac_cv_func_dup3" "$ac_cv_prog_PYTHON_FOR_REGEN" > "$cache_file"
fi
echo "#!/bin/sh" > config.status
"""


def make_tree(path: Path, site_answer: str = "no") -> Path:
    """A tree as a commit checks it out: configure, a config.site and a C file."""
    (path / "builddir" / "build").mkdir(parents=True)
    (path / "configure").write_text(CONFIGURE)
    (path / "configure").chmod(0o755)
    (path / "config.site").write_text(f"ac_cv_func_dup3={site_answer}\n")
    (path / "main.c").write_text("int main(void) { return 0; }\n")
    return path


def step_for(tree: Path) -> BuildStep:
    build = tree / "builddir" / "build"
    return BuildStep("configure-build-python", ["../../configure", "-C"], build,
                     {"CONFIG_SITE": "../../config.site"}, reusable_when=build / "config.status")


class Context:
    def __init__(self, tree: Path):
        self.source = type("Source", (), {"path": tree})()
        self.toolchain = Toolchain(kind="system", emcc=Path("/usr/bin/emcc"), version="3.1.69")


def configure(tree: Path, tmp_path: Path, env: dict[str, str] | None = None, out: str = "out"):
    """One configure stage through the pipeline (as `build` runs it); its Stage and log text."""
    pipeline = Pipeline(Options(source=str(tree), out=tmp_path / out, cache_dir=tmp_path / "cache"), new_run=True)
    said: list[str] = []
    import emscripten_python.pipeline as module
    real_say = module.say
    module.say = said.append
    try:
        pipeline._build_step(step_for(tree), Context(tree), {**os.environ, "CFLAGS": "-O2", **(env or {})}, None)
    finally:
        module.say = real_say
    stage = pipeline.run.stages[-1]
    validate_results(pipeline.run.to_dict())
    return stage, said


def pyconfig(tree: Path) -> str:
    return (tree / "builddir" / "build" / "pyconfig.h").read_text()


def test_the_next_commit_is_seeded_and_configures_as_a_clean_configure(tmp_path):
    first = make_tree(tmp_path / "commit1")
    stage, said = configure(first, tmp_path)
    assert stage.cache["config_cache"] == "clean" and stage.status == "succeeded"
    second = make_tree(tmp_path / "commit2")             # a new checkout, one C line changed
    (second / "main.c").write_text("int main(void) { return 1; }\n")
    stage, said = configure(second, tmp_path)
    assert stage.cache["config_cache"] == "seeded", stage.cache
    assert any("config.cache seeded" in line for line in said)
    assert "(cached) no" in (tmp_path / "out" / stage.log).read_text()
    clean = make_tree(tmp_path / "clean")
    subprocess.run(["../../configure"], cwd=clean / "builddir" / "build", check=True, capture_output=True,
                   env={**os.environ, "CONFIG_SITE": "../../config.site"})
    assert pyconfig(second) == pyconfig(clean) == "#define HAVE_DUP3_no 1\n"
    # An answer that is a path in the tree is the new tree's, not the first commit's.
    build = second / "builddir" / "build"
    assert (build / "Makefile").read_text() == f"PYTHON_FOR_REGEN={build}/python\n"


def test_a_changed_config_site_changes_the_answer(tmp_path):
    tree = make_tree(tmp_path / "tree", site_answer="no")
    configure(tree, tmp_path)
    assert pyconfig(tree) == "#define HAVE_DUP3_no 1\n"
    (tree / "config.site").write_text("ac_cv_func_dup3=yes\n")
    # The hazard is real: configure -C with the cache left in the tree keeps the old answer.
    hazard = tmp_path / "hazard"
    shutil.copytree(tree, hazard)
    subprocess.run(["../../configure", "-C"], cwd=hazard / "builddir" / "build", check=True, capture_output=True,
                   env={**os.environ, "CFLAGS": "-O2", "CONFIG_SITE": "../../config.site"})
    assert pyconfig(hazard) == "#define HAVE_DUP3_no 1\n"
    stage, said = configure(tree, tmp_path)
    assert stage.cache["config_cache"] == "dropped"
    assert "config.site changed" in stage.cache["reason"]
    assert pyconfig(tree) == "#define HAVE_DUP3_yes 1\n"
    # A second commit with the new config.site is seeded from the new answers, not the old ones.
    other = make_tree(tmp_path / "next", site_answer="yes")
    stage, _ = configure(other, tmp_path)
    assert stage.cache["config_cache"] == "seeded" and pyconfig(other) == "#define HAVE_DUP3_yes 1\n"


def test_other_configure_arguments_or_environment_are_another_key(tmp_path):
    tree = make_tree(tmp_path / "tree")
    parts = buildcache.config_cache_parts(step_for(tree), tree, Context(tree).toolchain, {"CFLAGS": "-O2"})
    changed = BuildStep("configure-build-python", ["../../configure", "-C", "--with-pydebug"],
                        step_for(tree).cwd, reusable_when=step_for(tree).reusable_when)
    for other in (buildcache.config_cache_parts(changed, tree, Context(tree).toolchain, {"CFLAGS": "-O2"}),
                  buildcache.config_cache_parts(step_for(tree), tree, Context(tree).toolchain, {"CFLAGS": "-O0"})):
        assert buildcache.ConfigCache(tmp_path, step_for(tree), tree, parts).key != \
            buildcache.ConfigCache(tmp_path, step_for(tree), tree, other).key
    # The tree's own path is not part of it: another checkout directory shares the cache.
    moved = make_tree(tmp_path / "elsewhere")
    assert buildcache.config_cache_parts(step_for(moved), moved, Context(moved).toolchain, {"CFLAGS": "-O2"}) == parts


def test_the_key_of_a_fresh_checkout_is_the_key_once_its_build_directory_exists(tmp_path):
    # Found by benchmarks/fleet.py: the first configure of a fresh checkout runs before its
    # build directory exists, so config.site (relative to it) read as missing and the next
    # commit's host configure was dropped with "config.site changed".
    tree = make_tree(tmp_path / "tree")
    shutil.rmtree(tree / "builddir")
    before = buildcache.config_cache_parts(step_for(tree), tree, Context(tree).toolchain, {"CONFIG_SITE": "../../config.site"})
    step_for(tree).cwd.mkdir(parents=True)
    after = buildcache.config_cache_parts(step_for(tree), tree, Context(tree).toolchain, {"CONFIG_SITE": "../../config.site"})
    assert before == after and before["config_site"] is not None


def test_a_stored_cache_changed_after_it_was_saved_is_dropped(tmp_path):
    configure(make_tree(tmp_path / "commit1"), tmp_path)
    [stored] = (tmp_path / "cache" / "configure-cache" / "configure-build-python").glob("*/config.cache")
    stored.write_text(stored.read_text().replace("ac_cv_func_dup3=no", "ac_cv_func_dup3=yes"))
    second = make_tree(tmp_path / "commit2")
    stage, said = configure(second, tmp_path)
    assert stage.cache["config_cache"] == "dropped"
    assert "changed after it was saved" in stage.cache["reason"]
    assert pyconfig(second) == "#define HAVE_DUP3_no 1\n"        # the clean answer, not the edited one


def test_a_cache_that_makes_configure_fail_is_dropped_and_configure_runs_clean(tmp_path):
    tree = make_tree(tmp_path / "commit1")
    configure(tree, tmp_path)
    # A stored cache with this key that configure refuses (a precious variable it disagrees with).
    cache = tree / "builddir" / "build" / "config.cache"
    cache.write_text(cache.read_text().replace("'-O2'", "'-O3'"))
    step = step_for(tree)
    env = {**os.environ, "CFLAGS": "-O2", **step.env}
    carried = buildcache.ConfigCache(tmp_path / "cache", step, tree,
                                     buildcache.config_cache_parts(step, tree, Context(tree).toolchain, env))
    carried.save()
    second = make_tree(tmp_path / "commit2")
    stage, said = configure(second, tmp_path)
    assert stage.status == "succeeded"
    assert stage.cache["config_cache"] == "dropped" and "configure failed with it" in stage.cache["reason"]
    assert sum("running configure again without one" in line for line in said) == 1
    assert "compromise the build" in (tmp_path / "out" / "logs" / "configure-build-python-seeded.log").read_text()
    assert pyconfig(second) == "#define HAVE_DUP3_no 1\n"
    # The refused cache is gone: the next commit saves and uses the clean one.
    third = make_tree(tmp_path / "commit3")
    stage, _ = configure(third, tmp_path)
    assert stage.cache["config_cache"] == "seeded"


def test_a_configure_that_fails_without_a_carried_cache_is_not_run_twice(tmp_path):
    tree = make_tree(tmp_path / "tree")
    (tree / "configure").write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    with pytest.raises(BuildError):
        configure(tree, tmp_path)
    assert not (tmp_path / "out" / "logs" / "configure-build-python-seeded.log").exists()
    assert not list((tmp_path / "cache").glob("configure-cache/*/*/config.cache"))


def test_ccache_counts_this_builds_hits_and_misses(tmp_path):
    env = {"PATH": os.environ["PATH"]}
    found = ccache.setup(env, tmp_path / "cache")
    assert found, "ccache is not installed (scripts/test installs it)"
    assert env["CCACHE_DIR"] == str(tmp_path / "cache" / "ccache") and env["CCACHE_MAXSIZE"] == ccache.DEFAULT_MAX_SIZE
    assert env["EM_COMPILER_WRAPPER"] == found
    cc = ccache.native_cc(found, env)["CC"].split()
    (tmp_path / "a.c").write_text("int f(void) { return 42; }\n")
    before = ccache.stats(found, env)
    for _ in range(2):
        subprocess.run([*cc, "-c", "a.c", "-o", "a.o"], cwd=tmp_path, env=env, check=True)
    section = ccache.record(found, before, ccache.stats(found, env), env)
    assert (section["hits"], section["misses"]) == (1, 1)
    assert section["dir"] == str(tmp_path / "cache" / "ccache")
    assert ccache.record(None, None, None) == {"used": False, "reason": "ccache is not installed (every compile runs)"}


def test_results_json_and_the_summary_say_what_the_caches_did(tmp_path):
    from emscripten_python.report.markdown import render_markdown
    from emscripten_python.results.model import Run, Stage
    from emscripten_python.errors import ResultsError

    run = Run(stages=[Stage("configure-host", "succeeded", 9.0, cache={"config_cache": "seeded", "reason": "x"}),
                      Stage("configure-build-python", "succeeded", 9.0,
                            cache={"config_cache": "dropped", "reason": "the stored config.cache was changed"})],
              cache={"ccache": {"used": True, "hits": 120, "misses": 3}})
    validate_results(run.to_dict())
    summary = render_markdown(run)
    assert "config.cache: `configure-host` `seeded`, `configure-build-python` `dropped` " \
           "(`the stored config.cache was changed`)" in summary
    assert "ccache: 120 hits, 3 misses" in summary
    bad = run.to_dict()
    bad["stages"][0]["cache"]["config_cache"] = "trusted"
    with pytest.raises(ResultsError, match="not one of seeded, clean, dropped"):
        validate_results(bad)
    run.cache = {"ccache": {"used": True, "hits": "::error::x", "misses": 3}}
    assert "ccache:" not in render_markdown(run)


def test_a_trees_config_cache_of_unknown_origin_is_dropped(tmp_path):
    tree = make_tree(tmp_path / "tree")
    (tree / "builddir" / "build" / "config.cache").write_text("ac_cv_func_dup3=maybe\n")   # an earlier tool's
    stage, said = configure(tree, tmp_path)
    assert stage.cache["config_cache"] == "dropped"
    assert stage.cache["reason"] == "the tree's config.cache has no record of the inputs it came from"
    assert pyconfig(tree) == "#define HAVE_DUP3_no 1\n"


@pytest.mark.parametrize("record", [b"[" * 10_000, b'{"parts": NaN}', b"\xff", b"[1]"])
def test_a_trees_config_cache_with_a_hostile_record_is_dropped(tmp_path, record):
    # The record sits in the tree's build directory, which a PR's configure or tests can write:
    # it is read through the shared checks of untrusted JSON, and one refused or of another
    # shape is no record (a deeply nested one was a RecursionError traceback).
    tree = make_tree(tmp_path / "tree")
    (tree / "builddir" / "build" / "config.cache").write_text("ac_cv_func_dup3=maybe\n")
    (tree / "builddir" / "build" / ".emscripten-python-config-cache.json").write_bytes(record)
    stage, said = configure(tree, tmp_path)
    assert stage.cache["config_cache"] == "dropped"
    assert stage.cache["reason"] == "the tree's config.cache has no record of the inputs it came from"


# CPython 3.13.15's configure.ac in small: the libmpdec machine is chosen from
# ac_cv_gcc_asm_for_x64 before its check runs (configure.ac lines 4253 and 6015), and
# NO_AS_NEEDED is set only inside the body of its cached check (line 1209).
ORDER_DEPENDENT = r"""#!/bin/sh
cache_file=/dev/null
for arg; do case $arg in -C|--config-cache) cache_file=config.cache;; esac; done
if test "$cache_file" != /dev/null && test -r "$cache_file"; then . "./$cache_file"; fi
if test "$ac_cv_gcc_asm_for_x64" = yes; then machine=x64; else machine=uint128; fi
: ${ac_cv_gcc_asm_for_x64=yes}
if test "${ac_cv_wl_no_as_needed+set}" != set; then NO_AS_NEEDED=-Wl,--no-as-needed; ac_cv_wl_no_as_needed=yes; fi
: ${ac_cv_func_dup3=yes}
echo "MACHINE=$machine NO_AS_NEEDED=$NO_AS_NEEDED" > Makefile
if test "$cache_file" != /dev/null; then
  for v in ac_cv_func_dup3 ac_cv_gcc_asm_for_x64 ac_cv_wl_no_as_needed; do eval "echo \"$v=\\\${$v=\$$v}\""; done > "$cache_file"
fi
echo "#!/bin/sh" > config.status
"""


def test_answers_configure_gives_otherwise_when_cached_are_not_carried(tmp_path):
    clean = "MACHINE=uint128 NO_AS_NEEDED=-Wl,--no-as-needed\n"
    first = make_tree(tmp_path / "commit1")
    (first / "configure").write_text(ORDER_DEPENDENT)
    configure(first, tmp_path)
    build = first / "builddir" / "build"
    assert (build / "Makefile").read_text() == clean
    # The hazard: plain -C with every answer cached writes another Makefile.
    hazard = tmp_path / "hazard"
    shutil.copytree(first, hazard)
    (hazard / "builddir" / "build" / "config.cache").write_text(
        "ac_cv_func_dup3=${ac_cv_func_dup3=yes}\nac_cv_gcc_asm_for_x64=${ac_cv_gcc_asm_for_x64=yes}\n"
        "ac_cv_wl_no_as_needed=${ac_cv_wl_no_as_needed=yes}\n")
    subprocess.run(["../../configure", "-C"], cwd=hazard / "builddir" / "build", check=True, capture_output=True)
    assert (hazard / "builddir" / "build" / "Makefile").read_text() == "MACHINE=x64 NO_AS_NEEDED=\n"
    # Carried, those answers are left out: the stored cache and the tree's own copy keep the rest.
    [stored] = (tmp_path / "cache" / "configure-cache" / "configure-build-python").glob("*/config.cache")
    for cache in (stored, build / "config.cache"):
        assert cache.read_text() == "ac_cv_func_dup3=${ac_cv_func_dup3=yes}\n"
    second = make_tree(tmp_path / "commit2")
    (second / "configure").write_text(ORDER_DEPENDENT)
    stage, _ = configure(second, tmp_path)
    assert stage.cache["config_cache"] == "seeded"
    assert (second / "builddir" / "build" / "Makefile").read_text() == clean
    stage, _ = configure(first, tmp_path)         # the same tree again, seeded from its own cache
    assert stage.cache["config_cache"] == "seeded" and (build / "Makefile").read_text() == clean
