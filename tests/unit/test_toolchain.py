"""toolchain: pin comparison, emcc version parsing, the writable cache, mirror seeding of ports."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from emscripten_python.errors import MirrorError, ToolchainBroken, ToolchainMismatch, ToolchainNotFound
from emscripten_python.building.source import EmscriptenPin
from emscripten_python.building.toolchain import Toolchain, compare_with_pin, emcc_version, find_system_toolchain
from emscripten_python.building.toolchain import emcache

EXACT = EmscriptenPin(version="4.0.12", minimum=None, origin="Platforms/emscripten/config.toml")
MINIMUM = EmscriptenPin(version="3.1.69", minimum="3.1.19", origin="fallback table (configure 3.13)")


# -- compare_with_pin ------------------------------------------------------------------------

def test_exact_match():
    result = compare_with_pin("4.0.12", EXACT, strict=True)
    assert result == {"pinned_version": "4.0.12", "minimum_version": None,
                      "pin_origin": "Platforms/emscripten/config.toml", "matches_pin": True, "mismatch": None}


def test_exact_match_ignores_suffix():
    assert compare_with_pin("4.0.12-git", EXACT, strict=True)["matches_pin"] is True


@pytest.mark.parametrize("active", ["4.0.11", "4.0.13", "3.1.69"])
def test_exact_pin_mismatch_warns(active):
    result = compare_with_pin(active, EXACT, strict=False)
    assert result["matches_pin"] is False
    assert result["mismatch"] == (f"emcc {active} does not match the pinned Emscripten "
                                  "(exactly 4.0.12, from Platforms/emscripten/config.toml)")


def test_exact_pin_mismatch_strict_raises():
    with pytest.raises(ToolchainMismatch, match="drop --strict-toolchain") as caught:
        compare_with_pin("4.0.13", EXACT, strict=True)
    assert "exactly 4.0.12" in str(caught.value)
    assert caught.value.exit_code == 12


@pytest.mark.parametrize("active", ["3.1.19", "3.1.69", "3.1.70", "3.1.100", "4.0.12"])
def test_minimum_pin_accepts_newer(active):
    result = compare_with_pin(active, MINIMUM, strict=True)
    assert result["matches_pin"] is True
    assert result["mismatch"] is None
    assert (result["pinned_version"], result["minimum_version"]) == ("3.1.69", "3.1.19")


@pytest.mark.parametrize("active", ["3.1.18", "3.1.9", "2.0.31"])
def test_minimum_pin_rejects_older(active):
    result = compare_with_pin(active, MINIMUM, strict=False)
    assert result["matches_pin"] is False
    assert ">= 3.1.19" in result["mismatch"]
    with pytest.raises(ToolchainMismatch):
        compare_with_pin(active, MINIMUM, strict=True)


def test_minimum_only_pin():
    pin = EmscriptenPin(version=None, minimum="3.1.19", origin="t")
    assert compare_with_pin("3.1.20", pin, strict=True)["matches_pin"] is True
    assert compare_with_pin("3.1.18", pin, strict=False)["matches_pin"] is False


def test_no_pin_at_all_matches_anything():
    pin = EmscriptenPin(version=None, minimum=None, origin="t")
    assert compare_with_pin("1.0.0", pin, strict=True)["matches_pin"] is True


# -- Toolchain, emcc_version, find_system_toolchain -----------------------------------------------

def test_guard_is_active():
    with pytest.raises(AssertionError, match="unit tests must not spawn processes"):
        emcc_version(Path("/x/emcc"))


def test_toolchain_environ_and_tool():
    toolchain = Toolchain(kind="emsdk", emcc=Path("/e/upstream/emscripten/emcc"), version="4.0.12",
                          env={"EMSDK": "/e"}, path_prefix=["/e/upstream/emscripten", "/e"])
    env = toolchain.environ({"PATH": "/usr/bin", "HOME": "/h"})
    assert env == {"PATH": "/e/upstream/emscripten:/e:/usr/bin", "HOME": "/h", "EMSDK": "/e"}
    assert toolchain.tool("emconfigure") == Path("/e/upstream/emscripten/emconfigure")


def test_emcc_version_parses_output(monkeypatch):
    seen = []

    def fake_run(argv, **kwargs):
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, (
            "emcc (Emscripten gcc/clang-like replacement + linker emulating GNU ld) 3.1.69 (debian)\n"
            "Copyright (C) 2014 the Emscripten authors (see AUTHORS.txt)\n"), "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert emcc_version(Path("/x/emcc")) == "3.1.69"
    assert seen == [["/x/emcc", "--version"]]


def test_emcc_version_failure(monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda argv, **k: subprocess.CompletedProcess(
        argv, 1, "", "shared:ERROR: config file not found: /root/.emscripten\n"))
    with pytest.raises(ToolchainNotFound, match="config file not found"):
        emcc_version(Path("/x/emcc"))


def test_emcc_version_not_executable(monkeypatch):
    def fake_run(argv, **kwargs):
        raise PermissionError(13, "Permission denied", argv[0])

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(ToolchainNotFound, match="cannot run /x/emcc"):
        emcc_version(Path("/x/emcc"))


def test_find_system_toolchain_without_emcc(tmp_path):
    with pytest.raises(ToolchainNotFound, match="no emcc on PATH"):
        find_system_toolchain({"PATH": str(tmp_path)})


def test_find_system_toolchain_with_broken_emsdk(tmp_path):
    with pytest.raises(ToolchainNotFound, match=r"\$EMSDK is .* does not exist"):
        find_system_toolchain({"EMSDK": str(tmp_path), "PATH": ""})


def test_find_system_toolchain_on_path(tmp_path, monkeypatch):
    emcc = tmp_path / "emcc"
    emcc.write_text("#!/bin/sh\n")
    emcc.chmod(0o755)
    monkeypatch.setattr(subprocess, "run", lambda argv, **k: subprocess.CompletedProcess(
        argv, 0, "emcc (Emscripten gcc/clang-like replacement + linker emulating GNU ld) 4.0.12 (abc)\n", ""))
    toolchain = find_system_toolchain({"PATH": str(tmp_path)})
    assert (toolchain.kind, toolchain.emcc, toolchain.version) == ("system", emcc, "4.0.12")


# -- emcache: find_in_mirror -------------------------------------------------------------------

def _tarball(path: Path, files: dict[str, str], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def mirror(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _tarball(mirror / "zlib_1.3.dfsg+really1.3.2.orig.tar.gz",
             {"zlib-1.3.2/zlib.h": "/* zlib.h */\n", "zlib-1.3.2/inflate.c": "/* inflate */\n"})
    _tarball(mirror / "bzip2-1.0.6.tar.gz", {"bzip2-1.0.6/bzlib.h": "/* bzlib */\n"})
    (mirror / "zlib-1.2.13.tar.gz").write_text("not really a tarball\n")  # broken download
    (mirror / "zlib-notes.txt").write_text("notes\n")
    _tarball(mirror / "zlibrary-2.0.tar.gz", {"zlibrary-2.0/x": "x"})
    _tarball(mirror / "zlib-ng-2.1.6.tar.gz", {"zlib-ng-2.1.6/x": "x"})
    return mirror


def test_find_in_mirror_debian_orig_name(mirror):
    assert emcache.find_in_mirror(mirror, "zlib") == mirror / "zlib_1.3.dfsg+really1.3.2.orig.tar.gz"


def test_find_in_mirror_upstream_name(mirror):
    assert emcache.find_in_mirror(mirror, "bzip2") == mirror / "bzip2-1.0.6.tar.gz"


def test_find_in_mirror_xz(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    _tarball(mirror / "bzip2_1.0.8.orig.tar.xz", {"bzip2-1.0.8/bzlib.h": ""}, "w:xz")
    assert emcache.find_in_mirror(mirror, "bzip2") == mirror / "bzip2_1.0.8.orig.tar.xz"


def test_find_in_mirror_ignores_non_tarballs_and_other_names(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    (mirror / "zlib-1.2.13.tar.gz").write_text("html error page\n")
    (mirror / "zlib_1.3.orig.tar.gz.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")
    _tarball(mirror / "zlibrary-2.0.tar.gz", {"zlibrary-2.0/x": "x"})
    assert emcache.find_in_mirror(mirror, "zlib") is None
    assert emcache.find_in_mirror(mirror, "libffi") is None


def test_find_in_mirror_skips_directories(mirror):
    (mirror / "zlib-1.2.13").mkdir()
    assert emcache.find_in_mirror(mirror, "zlib") == mirror / "zlib_1.3.dfsg+really1.3.2.orig.tar.gz"


# -- emcache: port_spec, seed_ports, ensure_writable_cache --------------------------------------

ZLIB_PORT = """\
import os

VERSION = '1.2.13'
HASH = 'deadbeef'


def needed(settings):
  return settings.USE_ZLIB


def get(ports, settings, shared):
  ports.fetch_project('zlib', f'https://github.com/madler/zlib/archive/refs/tags/v{VERSION}.tar.gz', sha512hash=HASH)
"""

BZIP2_PORT = """\
VERSION = '1.0.6'
HASH = 'cafe'


def get(ports, settings, shared):
  ports.fetch_project('bzip2', f'https://github.com/emscripten-ports/bzip2/archive/{VERSION}.zip', sha512hash=HASH)
"""

ZLIB_URL = "https://github.com/madler/zlib/archive/refs/tags/v1.2.13.tar.gz"
TOOLCHAIN = Toolchain(kind="system", emcc=Path("/x/emcc"), version="3.1.69")


@pytest.fixture
def emscripten_root(tmp_path, monkeypatch):
    root = tmp_path / "emscripten"
    (root / "tools" / "ports").mkdir(parents=True)
    (root / "tools" / "ports" / "zlib.py").write_text(ZLIB_PORT)
    (root / "tools" / "ports" / "bzip2.py").write_text(BZIP2_PORT)
    asked = []

    def fake_em_config(toolchain, key):
        asked.append(key)
        assert key == "EMSCRIPTEN_ROOT"
        return str(root)

    monkeypatch.setattr(emcache, "em_config", fake_em_config)
    return root


def test_em_config_is_guarded():
    with pytest.raises(AssertionError, match="must not spawn"):
        emcache.em_config(TOOLCHAIN, "CACHE")


def test_port_spec(emscripten_root):
    assert emcache.port_spec(TOOLCHAIN, "zlib") == ("1.2.13", ZLIB_URL)
    assert emcache.port_spec(TOOLCHAIN, "bzip2") == (
        "1.0.6", "https://github.com/emscripten-ports/bzip2/archive/1.0.6.zip")


def test_port_spec_missing_port(emscripten_root):
    with pytest.raises(ToolchainBroken, match="emcc has no port 'libffi'"):
        emcache.port_spec(TOOLCHAIN, "libffi")


def test_port_spec_unreadable_port(emscripten_root):
    (emscripten_root / "tools" / "ports" / "odd.py").write_text("def get(ports, settings, shared):\n  pass\n")
    with pytest.raises(ToolchainBroken, match="cannot read VERSION and URL"):
        emcache.port_spec(TOOLCHAIN, "odd")


def test_port_spec_concatenated_url(emscripten_root):
    (emscripten_root / "tools" / "ports" / "bzip2.py").write_text(
        "VERSION = '1.0.6'\n\ndef get(ports, settings, shared):\n"
        "  ports.fetch_project('bzip2', 'https://github.com/emscripten-ports/bzip2/archive/' + VERSION + '.zip', "
        "'bzip2-' + VERSION, sha512hash=HASH)\n")
    try:
        spec = emcache.port_spec(TOOLCHAIN, "bzip2")
    except ToolchainBroken:
        return  # refusing is acceptable too
    assert spec == ("1.0.6", "https://github.com/emscripten-ports/bzip2/archive/1.0.6.zip")


def test_seed_ports_from_debian_tarball(emscripten_root, mirror, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    logged = []
    done = emcache.seed_ports(TOOLCHAIN, cache, mirror, ["zlib", "bzip2"], log=logged.append)
    assert done == [
        {"port": "zlib", "version": "1.2.13", "action": "seeded", "from": "zlib_1.3.dfsg+really1.3.2.orig.tar.gz"},
        {"port": "bzip2", "version": "1.0.6", "action": "seeded", "from": "bzip2-1.0.6.tar.gz"},
    ]
    zlib_dir = cache / "ports" / "zlib" / "zlib-1.2.13"
    assert (zlib_dir / "zlib.h").read_text() == "/* zlib.h */\n"
    assert (zlib_dir / "inflate.c").is_file()
    assert (cache / "ports" / "zlib" / ".emscripten_url").read_text() == ZLIB_URL + "\n"
    assert (cache / "ports" / "bzip2" / "bzip2-1.0.6" / "bzlib.h").is_file()
    assert (cache / "ports" / "bzip2" / ".emscripten_url").read_text() == \
        "https://github.com/emscripten-ports/bzip2/archive/1.0.6.zip\n"
    assert sorted(p.name for p in cache.iterdir()) == ["ports"]   # no scratch directory left behind
    assert any("seeded emcc port zlib (1.2.13)" in line for line in logged)


def test_seed_ports_leaves_a_present_port_alone(emscripten_root, mirror, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    emcache.seed_ports(TOOLCHAIN, cache, mirror, ["zlib"], log=lambda m: None)
    sentinel = cache / "ports" / "zlib" / "zlib-1.2.13" / "built.o"
    sentinel.write_text("x")
    again = emcache.seed_ports(TOOLCHAIN, cache, mirror, ["zlib"], log=lambda m: None)
    assert again == [{"port": "zlib", "version": "1.2.13", "action": "present"}]
    assert sentinel.exists()


def test_seed_ports_replaces_a_port_for_another_url(emscripten_root, mirror, tmp_path):
    cache = tmp_path / "cache"
    stale = cache / "ports" / "zlib"
    (stale / "zlib-1.2.11").mkdir(parents=True)
    (stale / ".emscripten_url").write_text("https://github.com/madler/zlib/archive/v1.2.11.tar.gz\n")
    done = emcache.seed_ports(TOOLCHAIN, cache, mirror, ["zlib"], log=lambda m: None)
    assert done[0]["action"] == "seeded"
    assert not (stale / "zlib-1.2.11").exists()
    assert (stale / ".emscripten_url").read_text() == ZLIB_URL + "\n"


def test_seed_ports_flat_tarball(emscripten_root, tmp_path):
    mirror = tmp_path / "flat"
    mirror.mkdir()
    _tarball(mirror / "zlib-1.2.13.tar.gz", {"zlib.h": "flat\n", "adler32.c": ""})
    cache = tmp_path / "cache"
    cache.mkdir()
    emcache.seed_ports(TOOLCHAIN, cache, mirror, ["zlib"], log=lambda m: None)
    assert (cache / "ports" / "zlib" / "zlib-1.2.13" / "zlib.h").read_text() == "flat\n"


def test_seed_ports_port_missing_in_mirror(emscripten_root, tmp_path):
    mirror = tmp_path / "empty-mirror"
    mirror.mkdir()
    _tarball(mirror / "bzip2-1.0.6.tar.gz", {"bzip2-1.0.6/bzlib.h": ""})
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(MirrorError) as caught:
        emcache.seed_ports(TOOLCHAIN, cache, mirror, ["zlib"], log=lambda m: None)
    assert caught.value.exit_code == 14
    assert "emcc port zlib 1.2.13" in str(caught.value)
    assert str(mirror) in str(caught.value)
    assert not (cache / "ports" / "zlib").exists()


def test_seed_ports_mirror_not_a_directory(emscripten_root, tmp_path):
    with pytest.raises(MirrorError, match="is not a directory"):
        emcache.seed_ports(TOOLCHAIN, tmp_path, tmp_path / "nope", ["zlib"], log=lambda m: None)


def _fake_config(monkeypatch, values):
    monkeypatch.setattr(emcache, "em_config", lambda toolchain, key: values[key])


def test_ensure_writable_cache_copies_a_frozen_cache(tmp_path, monkeypatch):
    frozen = tmp_path / "usr-share-emscripten-cache"
    (frozen / "sysroot" / "lib").mkdir(parents=True)
    (frozen / "sysroot" / "lib" / "libc.a").write_text("archive")
    _fake_config(monkeypatch, {"CACHE": str(frozen), "FROZEN_CACHE": "True"})
    toolchain = Toolchain(kind="system", emcc=Path("/x/emcc"), version="3.1.69")
    logged = []
    target = emcache.ensure_writable_cache(toolchain, tmp_path / "cache", log=logged.append)
    assert target == tmp_path / "cache" / "emcache-3.1.69"
    assert (target / "sysroot" / "lib" / "libc.a").read_text() == "archive"
    assert (target / ".copied").read_text() == f"{frozen}\n"
    assert toolchain.env == {"EM_CACHE": str(target), "EM_FROZEN_CACHE": "0"}
    assert len(logged) == 1 and "read-only" in logged[0]

    # Second time: already copied, not copied again.
    (target / "sysroot" / "lib" / "libz.a").write_text("built later")
    again = emcache.ensure_writable_cache(toolchain, tmp_path / "cache", log=logged.append)
    assert again == target
    assert (target / "sysroot" / "lib" / "libz.a").exists()
    assert len(logged) == 1


def test_ensure_writable_cache_keeps_a_writable_cache(tmp_path, monkeypatch):
    current = tmp_path / "emcache"
    current.mkdir()
    _fake_config(monkeypatch, {"CACHE": str(current), "FROZEN_CACHE": "False"})
    toolchain = Toolchain(kind="system", emcc=Path("/x/emcc"), version="4.0.12")
    assert emcache.ensure_writable_cache(toolchain, tmp_path / "cache", log=lambda m: None) == current
    assert toolchain.env == {}
    assert not (tmp_path / "cache").exists()
