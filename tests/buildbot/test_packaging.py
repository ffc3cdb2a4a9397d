"""The mapped folders (steps/, workers/) install as packages, editable or not."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def package_dir(name: str) -> Path:
    mapped = SETUPTOOLS["package-dir"]
    for prefix in sorted(mapped, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return ROOT / mapped[prefix] / name[len(prefix):].lstrip(".").replace(".", "/")
    return ROOT / name.replace(".", "/")


def test_every_package_is_listed():
    # The list replaces `packages.find` (which cannot see mapped folders): a new package under
    # emscripten_python/ must be added to it, or a non-editable install silently drops it.
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "emscripten_python").rglob("__init__.py")}
    listed = set(SETUPTOOLS["packages"])
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert all(package_dir(name).is_dir() for name in listed)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    try:
        import setuptools
        isolation = [] if int(setuptools.__version__.split(".")[0]) < 77 else ["--no-build-isolation"]
    except ImportError:
        isolation = []
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation, "-w", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return next(out.glob("emscripten_python-*.whl"))


def test_wheel_ships_plugin_templates_and_entry_points(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert {"emscripten_python/steps/factory.py", "emscripten_python/worker/cli.py",
            "emscripten_python/worker/templates/emscripten-python-worker.service",
            "emscripten_python/worker/templates/emscripten-python-worker.plist"} <= names
    assert not any(name.startswith(("steps/", "workers/", "master/", "tests/")) for name in names)
    assert "[buildbot.steps]" in entry_points and "EmscriptenFactory = emscripten_python.steps" in entry_points


def test_non_editable_install_imports_from_the_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = ("import emscripten_python.steps as s, emscripten_python.worker.create as c\n"
             "from emscripten_python.steps import EmscriptenFactory, EmscriptenTest\n"
             "print(s.__file__)\n"
             "print(c.render_service('systemd', {k: 'x' for k in ('name', 'basedir', 'user', 'path', "
             "'buildbot_worker', 'cache_dir', 'install')}).splitlines()[0])\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module_file, first_line = done.stdout.splitlines()
    assert module_file.startswith(str(target))
    assert first_line.startswith("# systemd unit for the Buildbot worker")
