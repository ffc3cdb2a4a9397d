"""A stand-in tree whose build is relocatable: its python.sh runs a regrtest stand-in from Lib/.

tests/buildbot/fake_cpython.py's tree runs the stand-in from Tools/, which a bundle does not
carry (a real python.sh runs node on files next to it). Here the stand-in lives in Lib/, which
the bundle carries, so a test machine with the bundle alone can run it: what `test
--from-bundle` must do with a real build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "buildbot"))
from fake_cpython import FAKE_REGRTEST, make_cpython_repo, make_toolchain  # noqa: E402

CLI = Path(sys.executable).parent / "emscripten-python"
# The stand-in regrtest's verdicts come from the names (tests/integration/fake_regrtest.py).
SELECTION = ["test_ok_a", "test_crash_c", "test_fail_b", "test_flaky_d", "test_skip_e", "test_ok_f", "test_ok_g"]


def make_relocatable_repo(root: Path) -> Path:
    repo = make_cpython_repo(root)
    driver = repo / "Platforms" / "emscripten" / "__main__.py"
    text = driver.read_text()
    assert "{tree}/Tools/fake_regrtest.py" in text
    driver.write_text(text.replace("{tree}/Tools/fake_regrtest.py", "{tree}/Lib/fake_regrtest.py"))
    shutil.copy(FAKE_REGRTEST, repo / "Lib" / "fake_regrtest.py")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for argv in (["git", "add", "-A"], ["git", "commit", "-q", "-m", "relocatable stand-in"]):
        subprocess.run(argv, cwd=repo, env=env, check=True)
    return repo


def cli(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def build_bundle(root: Path) -> tuple[Path, Path, dict]:
    """Toolchain + build + bundle of the stand-in tree; returns (bundle, out, env with the toolchain)."""
    toolchain = make_toolchain(root / "toolchain")
    repo = make_relocatable_repo(root / "cpython")
    env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), os.environ["PATH"]]),
           "EMSCRIPTEN_PYTHON_CACHE": str(root / "cache"), "EMSCRIPTEN_PYTHON_NO_RECORD": "1"}
    out = root / "build-out"
    for stage in ("toolchain", "build", "bundle"):
        done = cli(stage, "--toolchain", "system", "--source", repo, "--out", out, env=env)
        assert done.returncode == 0, (stage, done.stdout[-2000:], done.stderr[-2000:])
    bundle = next(out.glob("emscripten-python-*.tar.gz"))
    return bundle, out, env


def node_only_env(root: Path) -> dict:
    """A test machine: node on PATH, no emcc, no toolchain record, no source tree."""
    bin_dir = root / "node-only-bin"
    bin_dir.mkdir(exist_ok=True)
    node = shutil.which("node")
    assert node, "node is needed"
    (bin_dir / "node").unlink(missing_ok=True)
    (bin_dir / "node").symlink_to(node)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMSDK", "EM_"))}
    env.update({"PATH": f"{bin_dir}:/usr/bin:/bin", "EMSCRIPTEN_PYTHON_NO_RECORD": "1",
                "EMSCRIPTEN_PYTHON_CACHE": str(root / "test-machine-cache")})
    return env
