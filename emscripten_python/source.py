"""A CPython tree: where it comes from, which version it is, which Emscripten driver it has.

The era is decided from the files present, never from a branch name: 3.14 contains two
layouts depending on the tag.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path

from .errors import SourceError


class Era(str, Enum):
    PLATFORMS = "platforms-emscripten"     # Platforms/emscripten (3.14.4+, 3.15, main)
    TOOLS_WASM = "tools-wasm-emscripten"   # Tools/wasm/emscripten (3.14.0-3.14.3)
    CONFIGURE = "configure"                # configure + make (3.11-3.13, wasm_build.py era)


@dataclass(frozen=True)
class EmscriptenPin:
    version: str | None   # exact version the tree (or our table) pins; None: any >= minimum
    minimum: str | None
    origin: str           # the file it came from, or "fallback table (...)"


@dataclass(frozen=True)
class CPythonSource:
    path: Path
    version: str          # e.g. "3.13.15", "3.15.0rc1"
    era: Era
    pin: EmscriptenPin
    commit: str | None = None
    branch: str | None = None

    @property
    def major_minor(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)


_PATCHLEVEL = re.compile(r'^#define\s+PY_VERSION\s+"([^"]+)"', re.M)


def read_version(tree: Path) -> str:
    patchlevel = tree / "Include" / "patchlevel.h"
    try:
        match = _PATCHLEVEL.search(patchlevel.read_text(errors="replace"))
    except FileNotFoundError:
        raise SourceError(f"{tree} is not a CPython source tree (no Include/patchlevel.h)") from None
    if not match:
        raise SourceError(f"{patchlevel} has no PY_VERSION define")
    return match.group(1).rstrip("+")


def detect_era(tree: Path) -> Era:
    if (tree / "Platforms" / "emscripten" / "__main__.py").is_file():
        return Era.PLATFORMS
    if (tree / "Tools" / "wasm" / "emscripten" / "__main__.py").is_file():
        return Era.TOOLS_WASM
    if (tree / "configure").is_file() and (tree / "Tools" / "wasm").is_dir():
        return Era.CONFIGURE
    raise SourceError(
        f"{tree} has no Emscripten build support: expected Platforms/emscripten, "
        "Tools/wasm/emscripten or Tools/wasm with configure (CPython 3.11+)"
    )


def _fallback_pins() -> dict:
    return tomllib.loads(resources.files(__package__).joinpath("data/emscripten_pins.toml").read_text())


def read_pin(tree: Path, era: Era, version: str) -> EmscriptenPin:
    candidates = {
        Era.PLATFORMS: ["Platforms/emscripten/config.toml"],
        Era.TOOLS_WASM: ["Tools/wasm/emscripten/config.toml", "Tools/wasm/emscripten/emscripten_version.txt"],
        Era.CONFIGURE: [],
    }[era]
    for relative in candidates:
        pin_file = tree / relative
        if not pin_file.is_file():
            continue
        if pin_file.suffix == ".toml":
            try:
                pinned = tomllib.loads(pin_file.read_text()).get("emscripten-version")
            except tomllib.TOMLDecodeError as exc:
                raise SourceError(f"{pin_file} is not valid TOML: {exc}") from None
        else:
            pinned = pin_file.read_text().strip() or None
        if pinned:
            return EmscriptenPin(version=str(pinned), minimum=None, origin=relative)
    table = _fallback_pins()
    major_minor = ".".join(version.split(".")[:2])
    entry = table.get(era.value, {}).get(major_minor) or table.get(era.value, {}).get("default")
    if entry is None:
        raise SourceError(f"no Emscripten pin in the tree and none known for {era.value} {major_minor}")
    return EmscriptenPin(version=entry.get("version"), minimum=entry.get("minimum"),
                         origin=f"fallback table ({era.value} {major_minor})")


def _git(tree: Path, *args: str) -> str | None:
    if shutil.which("git") is None or not (tree / ".git").exists():
        return None
    done = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True)
    return done.stdout.strip() or None if done.returncode == 0 else None


def inspect_tree(tree: Path) -> CPythonSource:
    tree = tree.resolve()
    if not tree.is_dir():
        raise SourceError(f"source {tree} is not a directory")
    version = read_version(tree)
    era = detect_era(tree)
    branch = _git(tree, "rev-parse", "--abbrev-ref", "HEAD")
    return CPythonSource(
        path=tree, version=version, era=era, pin=read_pin(tree, era, version),
        commit=_git(tree, "rev-parse", "HEAD"), branch=None if branch == "HEAD" else branch,
    )


_GIT_URL = re.compile(r"^(?:https?://|git@|ssh://|file://|git://)|\.git(?:@|$)")


def _extract_tarball(tarball: Path, dest_root: Path) -> Path:
    dest = dest_root / "source"
    marker = dest / ".extracted-from"
    if marker.exists() and marker.read_text() == str(tarball.resolve()):
        return next(p for p in dest.iterdir() if p.is_dir())
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    try:
        with tarfile.open(tarball) as archive:
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"cannot extract {tarball}: {exc}") from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise SourceError(f"{tarball} should contain one top-level directory, found {len(tops)}")
    marker.write_text(str(tarball.resolve()))
    return tops[0]


def _clone(spec: str, dest_root: Path) -> Path:
    # GIT-URL[@REF]: a ref never contains "/", ":" or "@", which keeps git@host:repo URLs whole.
    match = re.fullmatch(r"(?P<url>.+?)(?:@(?P<ref>[^@/:]+))?", spec)
    url, ref = match.group("url"), match.group("ref")
    dest = dest_root / "source" / "cpython"
    if shutil.which("git") is None:
        raise SourceError("git is needed to use a git URL as --source")
    if (dest / ".git").exists() and _git(dest, "remote", "get-url", "origin") != url:
        # Never build a different repository's leftovers under this --out.
        shutil.rmtree(dest)
    if not (dest / ".git").exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["git", "clone", "--quiet", url, str(dest)], capture_output=True, text=True)
        if done.returncode:
            raise SourceError(f"git clone {url} failed: {done.stderr.strip()}")
    elif ref:
        subprocess.run(["git", "-C", str(dest), "fetch", "--quiet", "--tags", "origin"], capture_output=True)
    if ref:
        done = subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", "--detach", ref],
                              capture_output=True, text=True)
        if done.returncode:
            # A branch name: check out what the remote has now, not a stale local branch.
            done = subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", "--detach", f"origin/{ref}"],
                                  capture_output=True, text=True)
        if done.returncode:
            raise SourceError(f"git checkout {ref} failed in {dest}: {done.stderr.strip()}")
    return dest


def resolve_source(spec: str, work_dir: Path) -> CPythonSource:
    """--source: a checkout directory, a source tarball, or GIT-URL[@REF]."""
    candidate = Path(spec).expanduser()
    if candidate.is_dir():
        return inspect_tree(candidate)
    if candidate.is_file():
        if not tarfile.is_tarfile(candidate):
            raise SourceError(f"{candidate} is a file but not a tarball")
        return inspect_tree(_extract_tarball(candidate, work_dir))
    if _GIT_URL.search(spec):
        return inspect_tree(_clone(spec, work_dir))
    raise SourceError(f"--source {spec!r}: no such directory or tarball, and not a git URL")
