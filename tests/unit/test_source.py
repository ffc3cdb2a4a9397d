"""source: era detection, version, Emscripten pin, --source resolution (dir, tarball, git URL)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from emscripten_python.building import source
from emscripten_python.errors import SourceError
from emscripten_python.building.source import (
    CPythonSource, EmscriptenPin, Era, detect_era, inspect_tree, read_pin, read_version, resolve_source,
)


# -- era -----------------------------------------------------------------------------------

@pytest.mark.parametrize("layout, era", [
    ("platforms", Era.PLATFORMS),
    ("tools-wasm", Era.TOOLS_WASM),
    ("configure", Era.CONFIGURE),
])
def test_detect_era_for_each_layout(make_tree, layout, era):
    assert detect_era(make_tree(layout)) is era


def test_detect_era_without_emscripten_support_is_a_source_error(make_tree):
    tree = make_tree("none")
    with pytest.raises(SourceError, match="no Emscripten build support") as caught:
        detect_era(tree)
    assert caught.value.exit_code == 10
    assert str(tree) in str(caught.value)


def test_platforms_wins_when_both_drivers_exist(make_tree):
    tree = make_tree("platforms")
    (tree / "Tools" / "wasm" / "emscripten").mkdir(parents=True)
    (tree / "Tools" / "wasm" / "emscripten" / "__main__.py").write_text("# old driver\n")
    assert detect_era(tree) is Era.PLATFORMS


def test_configure_alone_or_tools_wasm_alone_is_not_enough(make_tree, tmp_path):
    only_configure = make_tree("none", name="only-configure")
    (only_configure / "configure").write_text("#! /bin/sh\n")
    with pytest.raises(SourceError):
        detect_era(only_configure)
    only_tools = make_tree("none", name="only-tools")
    (only_tools / "Tools" / "wasm").mkdir(parents=True)
    with pytest.raises(SourceError):
        detect_era(only_tools)


def test_driver_directory_without_main_is_not_the_driver_era(make_tree):
    # Tools/wasm/emscripten existed as a plain directory (node_pre.js etc.) before 3.14.
    tree = make_tree("configure")
    (tree / "Tools" / "wasm" / "emscripten").mkdir()
    (tree / "Tools" / "wasm" / "emscripten" / "node_pre.js").write_text("//\n")
    assert detect_era(tree) is Era.CONFIGURE


# -- version -------------------------------------------------------------------------------

@pytest.mark.parametrize("written, expected", [
    ("3.15.0rc1", "3.15.0rc1"),
    ("3.14.0a1+", "3.14.0a1"),
    ("3.13.15", "3.13.15"),
    ("3.12.0+", "3.12.0"),
])
def test_read_version_from_patchlevel(make_tree, written, expected):
    assert read_version(make_tree("configure", written)) == expected


def test_read_version_without_patchlevel(tmp_path):
    with pytest.raises(SourceError, match="not a CPython source tree"):
        read_version(tmp_path)


def test_read_version_without_py_version_define(make_tree):
    tree = make_tree("configure")
    (tree / "Include" / "patchlevel.h").write_text("#define PY_MAJOR_VERSION 3\n")
    with pytest.raises(SourceError, match="no PY_VERSION"):
        read_version(tree)


def test_major_minor():
    pin = EmscriptenPin("4.0.12", None, "x")
    assert CPythonSource(Path("/t"), "3.15.0rc1", Era.PLATFORMS, pin).major_minor == (3, 15)
    assert CPythonSource(Path("/t"), "3.9.18", Era.CONFIGURE, pin).major_minor == (3, 9)


# -- pin -----------------------------------------------------------------------------------

def test_pin_from_platforms_config_toml(make_tree):
    tree = make_tree("platforms", "3.15.0a2")
    (tree / "Platforms" / "emscripten" / "config.toml").write_text(
        '# Any data that can vary between Python versions is to be kept in this file.\n'
        'emscripten-version = "4.0.12"\nnode-version = "24"\n\n'
        '[libffi]\nversion = "3.4.6"\n'
    )
    pin = read_pin(tree, Era.PLATFORMS, "3.15.0a2")
    assert pin == EmscriptenPin(version="4.0.12", minimum=None, origin="Platforms/emscripten/config.toml")


def test_pin_from_tools_wasm_config_toml(make_tree):
    tree = make_tree("tools-wasm", "3.14.2")
    (tree / "Tools" / "wasm" / "emscripten" / "config.toml").write_text('emscripten-version = "4.0.11"\n')
    (tree / "Tools" / "wasm" / "emscripten" / "emscripten_version.txt").write_text("4.0.9\n")
    pin = read_pin(tree, Era.TOOLS_WASM, "3.14.2")
    assert (pin.version, pin.minimum, pin.origin) == ("4.0.11", None, "Tools/wasm/emscripten/config.toml")


def test_pin_from_emscripten_version_txt(make_tree):
    tree = make_tree("tools-wasm", "3.14.1")
    (tree / "Tools" / "wasm" / "emscripten" / "emscripten_version.txt").write_text("4.0.12\n")
    pin = read_pin(tree, Era.TOOLS_WASM, "3.14.1")
    assert pin == EmscriptenPin("4.0.12", None, "Tools/wasm/emscripten/emscripten_version.txt")


def test_config_toml_without_the_key_falls_through_to_version_txt(make_tree):
    tree = make_tree("tools-wasm", "3.14.1")
    (tree / "Tools" / "wasm" / "emscripten" / "config.toml").write_text('node-version = "24"\n')
    (tree / "Tools" / "wasm" / "emscripten" / "emscripten_version.txt").write_text("4.0.10\n")
    assert read_pin(tree, Era.TOOLS_WASM, "3.14.1").version == "4.0.10"


def test_empty_version_txt_uses_the_fallback_table(make_tree):
    tree = make_tree("tools-wasm", "3.14.0")
    (tree / "Tools" / "wasm" / "emscripten" / "emscripten_version.txt").write_text("\n")
    pin = read_pin(tree, Era.TOOLS_WASM, "3.14.0")
    assert pin.version == "4.0.12"
    assert pin.origin.startswith("fallback table (tools-wasm-emscripten 3.14")


def test_fallback_pin_for_313_configure_era(make_tree):
    tree = make_tree("configure", "3.13.15")
    pin = read_pin(tree, Era.CONFIGURE, "3.13.15")
    assert pin == EmscriptenPin(version="3.1.69", minimum="3.1.19", origin="fallback table (configure 3.13)")


@pytest.mark.parametrize("version", ["3.11.9", "3.12.4"])
def test_fallback_pin_for_311_and_312(make_tree, version):
    pin = read_pin(make_tree("configure", version), Era.CONFIGURE, version)
    assert (pin.version, pin.minimum) == ("3.1.19", "3.1.19")


def test_fallback_table_has_no_entry_for_unknown_configure_version(make_tree):
    with pytest.raises(SourceError, match="none known for configure 3.10"):
        read_pin(make_tree("configure", "3.10.4"), Era.CONFIGURE, "3.10.4")


def test_platforms_without_config_toml_uses_default_of_table(make_tree):
    pin = read_pin(make_tree("platforms", "3.15.0"), Era.PLATFORMS, "3.15.0")
    assert pin.version == "4.0.12"
    assert pin.origin == "fallback table (platforms-emscripten 3.15)"


@pytest.mark.parametrize("layout, era, relative", [
    ("platforms", Era.PLATFORMS, "Platforms/emscripten/config.toml"),
    ("tools-wasm", Era.TOOLS_WASM, "Tools/wasm/emscripten/config.toml"),
])
def test_malformed_toml_is_a_source_error(make_tree, layout, era, relative):
    tree = make_tree(layout)
    (tree / relative).write_text('emscripten-version = "4.0.12\n[broken\n')
    with pytest.raises(SourceError, match="is not valid TOML") as caught:
        read_pin(tree, era, "3.14.0")
    assert relative in str(caught.value)


# -- inspect_tree / resolve_source ---------------------------------------------------------

def test_inspect_tree_without_git(make_tree):
    tree = make_tree("configure", "3.13.1")
    found = inspect_tree(tree)
    assert found.path == tree.resolve()
    assert (found.version, found.era, found.commit, found.branch) == ("3.13.1", Era.CONFIGURE, None, None)
    assert found.pin.version == "3.1.69"


def test_inspect_tree_of_a_file_is_a_source_error(tmp_path):
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(SourceError, match="is not a directory"):
        inspect_tree(regular)


def test_resolve_source_directory(make_tree, tmp_path):
    tree = make_tree("platforms", "3.15.0rc1")
    found = resolve_source(str(tree), tmp_path / "work")
    assert (found.path, found.version, found.era) == (tree.resolve(), "3.15.0rc1", Era.PLATFORMS)


def test_resolve_source_missing_path_has_clear_message(tmp_path):
    missing = tmp_path / "no-such-cpython"
    with pytest.raises(SourceError) as caught:
        resolve_source(str(missing), tmp_path / "work")
    message = str(caught.value)
    assert str(missing) in message
    assert "no such directory or tarball" in message
    assert caught.value.exit_code == 10


def _tar_directory(directory: Path, tarball: Path) -> Path:
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(directory, arcname=directory.name)
    return tarball


def test_resolve_source_tarball(tmp_path, tree_writer):
    tree = tree_writer(tmp_path / "src" / "Python-3.13.1", "configure", "3.13.1")
    tarball = _tar_directory(tree, tmp_path / "Python-3.13.1.tgz")
    work = tmp_path / "work"
    found = resolve_source(str(tarball), work)
    assert found.path == (work / "source" / "Python-3.13.1").resolve()
    assert (found.version, found.era) == ("3.13.1", Era.CONFIGURE)
    assert (found.path / "Include" / "patchlevel.h").is_file()
    assert (work / "source" / ".extracted-from").read_text() == str(tarball.resolve())

    # A second resolve of the same tarball reuses the extraction instead of redoing it.
    sentinel = found.path / "built-here"
    sentinel.write_text("x")
    again = resolve_source(str(tarball), work)
    assert again.path == found.path
    assert sentinel.exists()


def test_resolve_source_tarball_with_two_top_directories(tmp_path, tree_writer):
    tree_writer(tmp_path / "src" / "a", "configure", "3.13.1")
    tree_writer(tmp_path / "src" / "b", "configure", "3.13.1")
    tarball = tmp_path / "two.tar"
    with tarfile.open(tarball, "w") as archive:
        archive.add(tmp_path / "src" / "a", arcname="a")
        archive.add(tmp_path / "src" / "b", arcname="b")
    with pytest.raises(SourceError, match="one top-level directory, found 2"):
        resolve_source(str(tarball), tmp_path / "work")


def test_resolve_source_file_that_is_not_a_tarball(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a tarball at all\n")
    with pytest.raises(SourceError, match="is a file but not a tarball"):
        resolve_source(str(notes), tmp_path / "work")


def test_resolve_source_tarball_with_unsafe_member(tmp_path):
    tarball = tmp_path / "evil.tar"
    with tarfile.open(tarball, "w") as archive:
        data = b"owned"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(SourceError, match="cannot extract"):
        resolve_source(str(tarball), tmp_path / "work")
    assert not (tmp_path / "work" / "escape.txt").exists()


# -- git URLs (subprocess.run replaced by a recorder: nothing is spawned) ---------------------

class FakeGit:
    def __init__(self, write_tree, commit="0123456789abcdef0123456789abcdef01234567", branch="HEAD"):
        self.write_tree = write_tree
        self.calls: list[list[str]] = []
        self.commit, self.branch = commit, branch
        self.origin: str | None = None

    def __call__(self, argv, **kwargs):
        argv = [str(a) for a in argv]
        self.calls.append(argv)
        assert argv[0] == "git"
        if argv[1] == "clone":
            dest = Path(argv[-1])
            self.write_tree(dest, "platforms", "3.15.0a1+")
            (dest / ".git").mkdir()
            self.origin = argv[-2]
            return subprocess.CompletedProcess(argv, 0, "", "")
        if argv[-3:] == ["remote", "get-url", "origin"]:
            return subprocess.CompletedProcess(argv, 0, f"{self.origin}\n", "")
        if "rev-parse" in argv:
            out = self.branch if "--abbrev-ref" in argv else self.commit
            return subprocess.CompletedProcess(argv, 0, out + "\n", "")
        return subprocess.CompletedProcess(argv, 0, "", "")


@pytest.fixture
def fake_git(monkeypatch, tree_writer):
    git = FakeGit(tree_writer)
    monkeypatch.setattr(subprocess, "run", git)
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: "/usr/bin/git" if name == "git" else real_which(name, *a, **k))
    return git


@pytest.mark.parametrize("spec, url, ref", [
    ("https://github.com/python/cpython.git@v3.14.0", "https://github.com/python/cpython.git", "v3.14.0"),
    ("https://github.com/python/cpython@3.13", "https://github.com/python/cpython", "3.13"),
    ("https://github.com/python/cpython.git", "https://github.com/python/cpython.git", None),
    ("git@github.com:python/cpython.git", "git@github.com:python/cpython.git", None),
    ("git@github.com:python/cpython.git@main", "git@github.com:python/cpython.git", "main"),
    ("ssh://git@example.org/cpython.git@v3.15.0rc1", "ssh://git@example.org/cpython.git", "v3.15.0rc1"),
])
def test_git_url_and_ref_parsing(fake_git, tmp_path, spec, url, ref):
    found = resolve_source(spec, tmp_path / "work")
    dest = tmp_path / "work" / "source" / "cpython"
    clone = [c for c in fake_git.calls if c[1] == "clone"]
    assert clone == [["git", "clone", "--quiet", url, str(dest)]]
    checkouts = [c for c in fake_git.calls if "checkout" in c]
    assert checkouts == ([["git", "-C", str(dest), "checkout", "--quiet", "--detach", ref]] if ref else [])
    assert found.path == dest.resolve()
    assert (found.version, found.era) == ("3.15.0a1", Era.PLATFORMS)
    assert found.commit == fake_git.commit
    assert found.branch is None   # detached HEAD


def test_git_branch_is_recorded(fake_git, tmp_path):
    fake_git.branch = "main"
    found = resolve_source("https://github.com/python/cpython.git", tmp_path / "work")
    assert found.branch == "main"


def test_existing_clone_is_reused(fake_git, tmp_path):
    resolve_source("https://github.com/python/cpython.git", tmp_path / "work")
    fake_git.calls.clear()
    resolve_source("https://github.com/python/cpython.git@v3.15.0a1", tmp_path / "work")
    assert not [c for c in fake_git.calls if c[1] == "clone"]
    assert any("checkout" in c for c in fake_git.calls)


def test_existing_clone_of_another_url_is_not_reused(fake_git, tmp_path):
    resolve_source("https://github.com/python/cpython.git", tmp_path / "work")
    fake_git.calls.clear()
    try:
        resolve_source("https://github.com/someone/cpython-fork.git@wasm-fix", tmp_path / "work")
    except SourceError:
        return   # refusing is acceptable too
    assert ["git", "clone", "--quiet", "https://github.com/someone/cpython-fork.git",
            str(tmp_path / "work" / "source" / "cpython")] in fake_git.calls


def test_git_url_without_git_installed(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(SourceError, match="git is needed"):
        resolve_source("https://github.com/python/cpython.git", tmp_path / "work")


def test_failed_clone_is_a_source_error(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: "/usr/bin/git")
    monkeypatch.setattr(subprocess, "run", lambda argv, **k: subprocess.CompletedProcess(
        argv, 128, "", "fatal: repository 'https://example.invalid/x.git/' not found\n"))
    with pytest.raises(SourceError, match="git clone https://example.invalid/x.git failed: fatal"):
        resolve_source("https://example.invalid/x.git", tmp_path / "work")


def test_guard_stops_real_git(tmp_path, make_tree):
    # With the autouse guard and a .git directory, asking git for the commit must not run git.
    tree = make_tree("configure", "3.13.1")
    (tree / ".git").mkdir()
    if shutil.which("git") is None:
        pytest.skip("no git on PATH: _git returns before spawning")
    with pytest.raises(AssertionError, match="must not spawn"):
        inspect_tree(tree)
