"""The main real build, shared by every e2e module: Debian's emcc 3.1.69 builds CPython 3.13.15
and runs the selection under node 20 (`real_run`, a session fixture in conftest.py).

Modules that build on it (the runtimes, the shards) depend on the fixture, so the build exists
whatever order the modules run in, also on a fresh machine.
"""

from __future__ import annotations

import json
import re
import time

# The crash file is followed by more files: the runner must go on after the runtime dies.
SELECTION = ["test_math", "test_zlib", "test_json", "test_list", "test_subprocess", "test_os",
             "test_compile", "test_bool", "test_int"]
OUT = "/var/lib/ep-e2e/out"        # inside the root; kept between runs so a warm build is incremental
# A compile command as make echoes it in a make stage's log: emcc (ccache runs inside it,
# EM_COMPILER_WRAPPER) or the build Python's "ccache gcc", with -c somewhere on the line.
_COMPILE = re.compile(r"^(?:\S*/)?(?:ccache\s+)?\S*(?:emcc|gcc|clang|cc)\s(?:.*\s)?-c\s", re.M)


def compile_commands(log: str) -> int:
    """How many compiles a make stage's log shows (one per object make rebuilt)."""
    return len(_COMPILE.findall(log))


def _cli(env, args: str, *, check: bool = False):
    root = env["root"]
    started = time.monotonic()
    done = root.chroot(f"cd /var/lib/ep-e2e && {env['cli']} {args}", check=check, capture=True,
                       env={"EMSCRIPTEN_PYTHON_CACHE": "/var/cache/emscripten-python"})
    line = f"emscripten-python {args.split()[0]}: rc {done.returncode} in {time.monotonic() - started:.0f} s"
    print(f"\n$ emscripten-python {args}\n  -> {line}")
    env["report"].append(line)
    return done


def _source(env) -> str:
    return f"/mirror/{env['mirror'].cpython_tarball().name}"


def make_real_run(debian_env):
    root = debian_env["root"]
    root.chroot(f"mkdir -p {OUT}")
    common = f"--toolchain system --mirror /mirror --source {_source(debian_env)} --out {OUT}"

    # 1. Emscripten 3.1.69 as Debian ships it: the product's smoke check must catch it.
    root.set_noderawfs_stdio_fix(False)
    broken = _cli(debian_env, f"toolchain {common}")

    # 2. The documented environment step, then the whole job through the CLI.
    root.set_noderawfs_stdio_fix(True)
    # Serial here (one node process at a time); test_sharded_run_matches_serial compares.
    run = _cli(debian_env, f"run {common} --tests {','.join(SELECTION)} --test-jobs 1 --timeout 900")
    print(run.stdout[-3000:])
    out = root.path / OUT.lstrip("/")
    results = json.loads((out / "results.json").read_text())
    report = debian_env["report"]
    report.append("stage timings (s): " + ", ".join(f"{s['name']} {s['duration']:.1f}" + (" (cached)" if s["status"] == "cached" else "")
                                               for s in results["stages"]))
    report.append("counts: " + json.dumps(results["counts"]))
    report.append("files: " + ", ".join(f"{f['name']} {f['outcome']} ({f['tests_run']})"
                                        for f in results["tests"]["files"]))
    return {"broken": broken, "run": run, "results": results, "out": out, "env": debian_env}
