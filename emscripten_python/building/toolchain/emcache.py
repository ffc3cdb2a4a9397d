"""Emscripten's own cache (sysroot libraries, ports): writable, kept across builds, seeded offline.

Distro packages (Debian) ship a FROZEN_CACHE that emcc may not write to, but CPython's build
asks for ports (zlib, bzip2) that emcc builds into the cache. We copy the frozen cache once
per emcc version into our cache dir and point EM_CACHE at it. Ports are normally downloaded
from GitHub by emcc; on an air-gapped worker we unpack them from --mirror instead, into the
exact directory emcc expects, with the marker emcc checks, so emcc builds them as if fetched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from filelock import FileLock

from ...durable import atomic_write, build_then_rename, heal, is_complete, space_for
from ...errors import MirrorError, ToolchainBroken
from .base import Toolchain

COPIED = ".copied"      # the copy's completion marker (durable.build_then_rename writes it last)


def em_config(toolchain: Toolchain, key: str) -> str:
    done = subprocess.run([str(toolchain.tool("em-config")), key], capture_output=True, text=True,
                          env=toolchain.environ())
    if done.returncode:
        raise ToolchainBroken(f"em-config {key} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def ensure_writable_cache(toolchain: Toolchain, cache_root: Path, log=print) -> Path:
    """Make EM_CACHE a writable cache for this emcc version; returns its path."""
    current = Path(em_config(toolchain, "CACHE"))
    frozen = em_config(toolchain, "FROZEN_CACHE") == "True"
    if not frozen and _writable(current):
        return current
    target = cache_root / f"emcache-{toolchain.version}"
    with space_for(cache_root):
        cache_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not is_complete(target, COPIED):
            heal(target, "Emscripten cache copy", log, COPIED)
            log(f"Emscripten cache {current} is read-only; copying it to {target}")
            # Copied under a temporary name and renamed: a killed copy is never taken for a cache.
            with build_then_rename(target, str(current) + "\n", COPIED, needed=_tree_size(current)) as partial:
                shutil.copytree(current, partial, symlinks=True, dirs_exist_ok=True)
    toolchain.env.update({"EM_CACHE": str(target), "EM_FROZEN_CACHE": "0"})
    return target


def _tree_size(root: Path) -> int:
    return sum(entry.stat().st_size for entry in root.rglob("*") if entry.is_file() and not entry.is_symlink())


def _writable(path: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=path):
            return True
    except OSError:
        return False


def port_spec(toolchain: Toolchain, port: str) -> tuple[str, str]:
    """(VERSION, URL) of an emcc port, read from its tools/ports/<port>.py."""
    root = Path(em_config(toolchain, "EMSCRIPTEN_ROOT"))
    port_file = root / "tools" / "ports" / f"{port}.py"
    try:
        text = port_file.read_text()
    except FileNotFoundError:
        raise ToolchainBroken(f"emcc has no port {port!r} ({port_file} missing)") from None
    version = re.search(r"^VERSION\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    # The URL is an f-string in newer ports, 'prefix' + VERSION + 'suffix' in older ones (3.1.19).
    fetch = re.search(r"fetch_project\(\s*['\"][^'\"]+['\"]\s*,\s*(?P<expr>[^,)]+)[,)]", text)
    if not version or not fetch:
        raise ToolchainBroken(f"cannot read VERSION and URL from {port_file}")
    parts = re.findall(r"f?['\"]([^'\"]*)['\"]|(VERSION)", fetch.group("expr"))
    url = "".join(version.group(1) if name else literal for literal, name in parts)
    url = url.replace("{VERSION}", version.group(1))
    if not re.match(r"^\w+://\S+$", url):
        raise ToolchainBroken(f"cannot read the port URL from {port_file}: {fetch.group('expr').strip()}")
    return version.group(1), url


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name))


def find_in_mirror(mirror: Path, name: str, version: str | None = None) -> Path | None:
    """A source tarball for `name`: `name-1.2.tar.gz` or Debian's `name_1.2.orig.tar.xz`.

    The exact version wins; otherwise the highest version (numerically, not by text).
    """
    matches = [p for p in mirror.iterdir()
               if p.is_file() and re.match(rf"{re.escape(name)}[-_]\d", p.name) and tarfile.is_tarfile(p)]
    if version:
        exact = [p for p in matches if re.match(rf"{re.escape(name)}[-_]{re.escape(version)}\.(?:orig\.)?tar", p.name)]
        if exact:
            return exact[0]
    return max(matches, key=_version_key) if matches else None


def seed_ports(toolchain: Toolchain, cache: Path, mirror: Path, ports: list[str], log=print) -> list[dict]:
    """Unpack each port from the mirror unless emcc already has it; returns what was done."""
    if not mirror.is_dir():
        raise MirrorError(f"--mirror {mirror} is not a directory")
    seeded = []
    for port in ports:
        version, url = port_spec(toolchain, port)
        port_dir = cache / "ports" / port
        marker = port_dir / ".emscripten_url"
        if marker.exists() and marker.read_text().strip() == url:
            seeded.append({"port": port, "version": version, "action": "present"})
            continue
        tarball = find_in_mirror(mirror, port, version)
        if tarball is None:
            raise MirrorError(f"emcc port {port} {version} is not in the cache and --mirror {mirror} "
                              f"has no {port}-*.tar.* or {port}_*.orig.tar.* to seed it from")
        target = port_dir / f"{port}-{version}"
        shutil.rmtree(port_dir, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=cache) as scratch:
            with tarfile.open(tarball) as archive:
                archive.extractall(scratch, filter="data")
            tops = list(Path(scratch).iterdir())
            unpacked = tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(scratch)
            port_dir.mkdir(parents=True)
            shutil.move(str(unpacked), target)
        atomic_write(marker, url + "\n")        # emcc's own marker, last: a killed seed is redone
        log(f"seeded emcc port {port} ({version}) from {tarball.name}")
        seeded.append({"port": port, "version": version, "action": "seeded", "from": tarball.name})
    return seeded


def check_dependencies(dependencies: dict, mirror: Path, log=print) -> list[dict]:
    """libffi and mpdecimal for the 3.14+ driver (config.toml [dependencies]) in --mirror.

    The driver downloads `url.format(version=...)` and checks `shasum` (sha256); under
    --mirror it reads `<mirror>/<file name of that URL>` instead (recipes/offline_driver.py).
    A mirror file with another sha256 would fail the driver's check after the build Python
    is built, so it fails here, first. A missing file is only noted: the driver downloads it.
    """
    from ...results.artifacts import sha256_of
    from ..recipes.offline_driver import mirror_file

    if not mirror.is_dir():
        raise MirrorError(f"--mirror {mirror} is not a directory")
    found = []
    for name, table in sorted(dependencies.items()):
        try:
            url = str(table["url"]).format(version=table["version"])
        except (KeyError, IndexError, ValueError):
            continue
        local = mirror_file(mirror, url)
        entry = {"dependency": name, "version": str(table["version"]), "file": local.name}
        if not local.is_file():
            log(f"note: {local.name} ({name}) is not in --mirror {mirror}; the driver will download it")
            found.append({**entry, "action": "download"})
            continue
        digest = sha256_of(local)
        if table.get("shasum") and digest != table["shasum"]:
            raise MirrorError(f"--mirror {local} has sha256 {digest}, but the tree's config.toml pins "
                              f"{name} {table['version']} at {table['shasum']}")
        found.append({**entry, "action": "mirror"})
    return found
