"""A stand-in CPython tree (Platforms/emscripten era) and a stand-in Emscripten toolchain.

The tree's driver creates the outputs a real build would (python.sh and friends); its
python.sh answers the build check with "emscripten" and runs tests/integration's fake
regrtest, which prints regrtest 3.13's real output. The toolchain is just enough for the
CLI's toolchain stage: `emcc --version`, the NODERAWFS smoke program (run by the real
node), and `em-config`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from emscripten_python.building.toolchain.smoke import STDERR_MARKER, STDOUT_MARKER

EMSCRIPTEN_VERSION = "4.0.12"
CPYTHON_VERSION = "3.15.0a0"
FAKE_REGRTEST = Path(__file__).parents[1] / "integration" / "fake_regrtest.py"
# A control file the stand-ins read, one instruction a line:
#   hold make-host     make-host waits while the file says so (a build to kill)
#   fail make-host     make-host prints a compiler error and exits 2
#   hold test          the interpreter prints a test's start line and hangs, with a child
#                      process in its group (a test run to stop); pids in <file>.test-pids
#   break toolchain    emcc --version fails
#   hold checkout      git clone/fetch waits while the file says so (a checkout to stop); its
#                      pid in <file>.git-pid
#   fail checkout      git clone/fetch fails as an unreachable repository does
# The driver also reads Platforms/emscripten/fake-control in the tree (a commit can carry
# "fail make-host").
HOLD_ENV = "FAKE_DRIVER_HOLD_FILE"
COMPILER_ERROR = "Python/ceval.c:1234:5: error: use of undeclared identifier 'fake_broken_symbol'"

DRIVER = r'''"""Stand-in for CPython's Platforms/emscripten driver (subcommands make-dependencies etc.)."""
import os, sys, time
from pathlib import Path

tree = Path(__file__).resolve().parents[2]
command = sys.argv[1]
print(f"fake driver: {command}", flush=True)
host = Path(os.environ.get("CROSS_BUILD_DIR", tree / "cross-build")) / "wasm32-emscripten" / "build" / "python"
hold = os.environ.get("HOLD_ENV")
control = Path(hold).read_text().splitlines() if hold and os.path.exists(hold) else []
# The tree's own control lines (a commit that does not build: "fail make-host").
in_tree = Path(__file__).resolve().parent / "fake-control"
control += in_tree.read_text().splitlines() if in_tree.is_file() else []
if f"fail {command}" in control:
    print("emcc -c -o Python/ceval.o Python/ceval.c", flush=True)
    print("COMPILER_ERROR", file=sys.stderr, flush=True)
    print("make: *** [Makefile:3088: Python/ceval.o] Error 1", file=sys.stderr, flush=True)
    sys.exit(2)
if command == "make-host":
    if "hold make-host" in control:
        Path(hold + ".pids").write_text(f"{os.getpid()} {os.getppid()}\n")
        deadline = time.monotonic() + 120
        while os.path.exists(hold) and "hold make-host" in Path(hold).read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        sys.exit("fake driver: released while held")
    (host / "build" / "lib.emscripten-wasm32-3.15").mkdir(parents=True, exist_ok=True)
    for name in ("python.mjs", "python.wasm", "node_entry.mjs", "streams.mjs"):
        (host / name).write_text(f"// fake {name}\n")
    script = host / "python.sh"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-c" ]; then echo emscripten; exit 0; fi\n'
        'if [ "$2" = "test" ] && [ -n "$HOLD_ENV" ] && grep -qx "hold test" "$HOLD_ENV" 2>/dev/null; then\n'
        '  echo "0:00:00 load avg: 0.00 Run 1 test sequentially"; echo "0:00:00 load avg: 0.00 [1/1] test_ok_a"\n'
        '  sleep 600 & echo "$$ $!" > "$HOLD_ENV.test-pids"; wait; exit 1\n'
        'fi\n'
        f'exec "{sys.executable}" "{tree}/Tools/fake_regrtest.py" "$@"\n')
    script.chmod(0o755)
'''.replace("HOLD_ENV", HOLD_ENV).replace("COMPILER_ERROR", COMPILER_ERROR)

SMOKE_JS = f"console.log({json.dumps(STDOUT_MARKER)}); console.error({json.dumps(STDERR_MARKER)});\n"
EMCC = f'''import sys
from pathlib import Path
import os
control = os.environ.get("{HOLD_ENV}")
if control and os.path.exists(control) and "break toolchain" in open(control).read().splitlines():
    sys.exit("emcc: error: fake toolchain broken on purpose")
if "--version" in sys.argv:
    print("emcc (Emscripten gcc/clang-like replacement + linker emulating GNU ld) {EMSCRIPTEN_VERSION} (fake)")
    sys.exit(0)
Path(sys.argv[sys.argv.index("-o") + 1]).write_text({SMOKE_JS!r})
'''

EM_CONFIG = '''import os, sys
from pathlib import Path
cache = Path(__file__).resolve().parent.parent / "emcache"
cache.mkdir(exist_ok=True)
print({"CACHE": cache, "FROZEN_CACHE": "False", "EMSCRIPTEN_ROOT": Path(__file__).resolve().parent}[sys.argv[1]])
'''

# git on the worker's PATH: the real one, except a clone or fetch the control file holds or fails.
GIT = f'''import os, sys, time
from pathlib import Path
control = os.environ.get("{HOLD_ENV}")
def says(line):
    return bool(control) and os.path.exists(control) and line in Path(control).read_text().splitlines()
if {{"clone", "fetch"}} & set(sys.argv[1:]):
    if says("fail checkout"):
        sys.exit("fatal: unable to access the repository: the fake network is down on purpose")
    if says("hold checkout"):
        Path(control + ".git-pid").write_text(f"{{os.getpid()}}\\n")
        deadline = time.monotonic() + 600
        while says("hold checkout") and time.monotonic() < deadline:
            time.sleep(0.1)
        sys.exit("fake git: released while held")
os.execv(REAL_GIT, ["git", *sys.argv[1:]])
'''

PASS_THROUGH = '''import os, sys
os.execvp(sys.argv[1], sys.argv[1:])
'''


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)


def make_toolchain(root: Path) -> Path:
    """A bin directory with emcc, em-config, emconfigure, emmake and git; returns it."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    _script(bin_dir / "emcc", EMCC)
    _script(bin_dir / "em-config", EM_CONFIG)
    for name in ("emconfigure", "emmake"):
        _script(bin_dir / name, PASS_THROUGH)
    _script(bin_dir / "git", GIT.replace("REAL_GIT", repr(shutil.which("git"))))
    return bin_dir


def make_cpython_repo(root: Path) -> Path:
    """A git repository with branch main holding the stand-in tree; returns its path."""
    root.mkdir(parents=True)
    (root / "Include").mkdir()
    (root / "Include" / "patchlevel.h").write_text(f'#define PY_VERSION "{CPYTHON_VERSION}"\n')
    driver = root / "Platforms" / "emscripten"
    driver.mkdir(parents=True)
    (driver / "__main__.py").write_text(DRIVER)
    (driver / "config.toml").write_text(f'emscripten-version = "{EMSCRIPTEN_VERSION}"\n')
    (root / "Lib").mkdir()
    (root / "Lib" / "os.py").write_text("# the standard library, abridged\n")
    (root / "Tools").mkdir()
    shutil.copy(FAKE_REGRTEST, root / "Tools" / "fake_regrtest.py")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "tree"]):
        subprocess.run(argv, cwd=root, env=env, check=True)
    return root
