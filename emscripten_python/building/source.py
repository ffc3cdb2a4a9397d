"""A CPython tree: where it comes from, which version it is, which Emscripten driver it has.

The era is decided from the files present, never from a branch name: 3.14 contains two
layouts depending on the tag.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path

from ..errors import SourceError
from ..untrusted import actions_safe


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
    config: "TreeConfig | None" = None    # read_tree_config(); None only for hand-made sources

    @property
    def tree_config(self) -> "TreeConfig":
        return self.config or read_tree_config(self.path, self.era, self.version)

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
    return tomllib.loads(resources.files("emscripten_python").joinpath("data/emscripten_pins.toml").read_text())


def read_pin(tree: Path, era: Era, version: str, config: "ConfigFile | None" = None) -> EmscriptenPin:
    """The Emscripten version the tree pins. ``config``: its config.toml, already read and
    checked (read here otherwise)."""
    config = config if config is not None else read_config_file(tree, era)
    if config.data.get("emscripten-version"):
        return EmscriptenPin(version=config.data["emscripten-version"], minimum=None, origin=config.relative)
    version_txt = {Era.TOOLS_WASM: "Tools/wasm/emscripten/emscripten_version.txt"}.get(era)
    if version_txt and (tree / version_txt).is_file():
        pinned = _read_text(tree / version_txt).strip()
        if not _EMSCRIPTEN_VERSION.fullmatch(pinned or "0"):
            raise SourceError(f"{version_txt}: {pinned[:40]!r} is not an Emscripten version")
        if pinned:
            return EmscriptenPin(version=pinned, minimum=None, origin=version_txt)
    table = _fallback_pins()
    major_minor = ".".join(version.split(".")[:2])
    entry = table.get(era.value, {}).get(major_minor) or table.get(era.value, {}).get("default")
    if entry is None:
        raise SourceError(f"no Emscripten pin in the tree and none known for {era.value} {major_minor}")
    return EmscriptenPin(version=entry.get("version"), minimum=entry.get("minimum"),
                         origin=f"fallback table ({era.value} {major_minor})")


# -- what CPython's own driver reads from config.toml --------------------------------------
#
# Platforms/emscripten/config.toml (python/cpython @ 6e595983c27a, 3.14.4+/3.15/main shape):
#   node-version = "24"
#   test-args = ["-m", "test", "-v", "-uall", "--rerun", "--single-process", "-W"]
#   pythoninfo-args = ["-m", "test.pythoninfo"]
#   [dependencies.libffi] / [dependencies.mpdec]: url (with {version}), version, shasum
# The older shape (@ 0abca1c64dfc) has [libffi] / [mpdec] tables and no pythoninfo-args.
# `run --test` puts test-args first, then the caller's arguments
# (Platforms/emscripten/__main__.py @ ed232a2e96b8, run_emscripten_python).

CONFIG_TOML = {
    Era.PLATFORMS: ["Platforms/emscripten/config.toml"],
    Era.TOOLS_WASM: ["Tools/wasm/emscripten/config.toml"],
    Era.CONFIGURE: [],
}

# Node majors: 3.14+ trees pin 24 (config.toml since March 2026). 3.11-3.13 name none;
# 22 is the oldest maintained LTS (20 reached end of life in April 2026).
DRIVER_ERA_NODE = "24"
CONFIGURE_ERA_NODE = "22"
# What `python.sh -m test` runs in CPython's CI (config.toml test-args without "-m test").
DRIVER_ERA_TEST_ARGS = ("-v", "-uall", "--rerun", "--single-process", "-W")
PYTHONINFO_ARGS = ("-m", "test.pythoninfo")


@dataclass(frozen=True)
class TreeConfig:
    """Node version, regrtest arguments and native dependencies the tree asks for."""

    node_version: str                     # e.g. "24" (a major, or whatever the tree wrote)
    test_args: tuple[str, ...]            # regrtest arguments (after `-m test`)
    pythoninfo_args: tuple[str, ...]      # interpreter arguments for pythoninfo
    dependencies: dict                    # name -> {"url", "version", "shasum"} (3.14+)
    origin: str                           # the config file, or "era defaults (...)"


def era_test_args(era: Era, major_minor: tuple[int, int]) -> tuple[str, ...]:
    """regrtest arguments for a tree whose config names none.

    3.14+ (either driver): what CPython's CI runs. 3.13 has --single-process, so it can
    re-run failures in-process like 3.14. 3.11/3.12 lack --single-process; their --rerun
    needs subprocesses, which Emscripten cannot start, so they run without it.
    """
    if era is not Era.CONFIGURE or major_minor >= (3, 13):
        return DRIVER_ERA_TEST_ARGS
    return ("-v", "-uall", "-W")


# The config.toml schema, the same keys in both driver eras (Platforms/emscripten @
# 6e595983c27a and @ 0abca1c64dfc, Tools/wasm/emscripten @ de203d51e579; the 3.11-3.13
# configure era has none). Each key: its check and what it must be. A wrong type is an
# error (a list as node-version, a string as pythoninfo-args would be split into
# characters); an unknown key is a one-line warning, then ignored.
_EMSCRIPTEN_VERSION = re.compile(r"\d+(?:\.\d+)*[A-Za-z0-9.+-]{0,32}")
_NODE_VERSION = re.compile(r"v?\d+(?:\.\d+){0,2}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_CONFIG_BYTES = 1024 * 1024


def _string(pattern: re.Pattern | None = None):
    return lambda value: isinstance(value, str) and len(value) <= 4096 and "\0" not in value and (
        pattern is None or bool(pattern.fullmatch(value)))


def _strings(value) -> bool:
    return isinstance(value, list) and len(value) <= 1000 and all(_string()(item) for item in value)


_DEPENDENCY_KEYS = {"url": (_string(), "a string"), "version": (_string(), "a string"),
                    "shasum": (_string(_SHA256), "a sha256 in hex")}
_CONFIG_KEYS = {
    "emscripten-version": (_string(_EMSCRIPTEN_VERSION), "a version string such as \"4.0.12\""),
    "node-version": (_string(_NODE_VERSION), "a version string such as \"24\""),
    "test-args": (_strings, "a list of strings"),
    "pythoninfo-args": (_strings, "a list of strings"),
    "dependencies": (lambda value: isinstance(value, dict), "a table of [dependencies.NAME] tables"),
    "libffi": (lambda value: isinstance(value, dict), "a table"),
    "mpdec": (lambda value: isinstance(value, dict), "a table"),
}


@dataclass(frozen=True)
class ConfigFile:
    relative: str | None      # the config.toml read, or None when the tree has none
    data: dict                # its keys, every one checked


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise SourceError(f"{path} is larger than {MAX_CONFIG_BYTES:,} bytes")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SourceError(f"{path} cannot be read: {exc.strerror or exc}") from None


def _warn(message: str) -> None:
    print(f"warning: {actions_safe(message)}", file=sys.stderr)


def read_config_file(tree: Path, era: Era) -> ConfigFile:
    """The tree's config.toml, checked against the schema before anything uses it:
    SourceError (exit 10, one line) for a file that is not UTF-8 or TOML or has a key of the
    wrong type; a warning line for each table with keys the schema does not know."""
    for relative in CONFIG_TOML[era]:
        path = tree / relative
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(_read_text(path))
        except tomllib.TOMLDecodeError as exc:
            raise SourceError(f"{path} is not valid TOML: {exc}") from None
        except RecursionError:          # tomllib recurses once per nested array or table
            raise SourceError(f"{path} nests arrays or tables too deeply") from None
        _check_table(relative, data, _CONFIG_KEYS)
        dependencies = {**{name: data[name] for name in ("libffi", "mpdec") if name in data},
                        **data.get("dependencies", {})}
        for name, table in dependencies.items():
            where = f"{relative} [dependencies.{name}]" if name in data.get("dependencies", {}) else \
                f"{relative} [{name}]"
            if not isinstance(table, dict):
                raise SourceError(f"{where} should be a table, not {_toml_kind(table)}")
            _check_table(where, table, _DEPENDENCY_KEYS)
        return ConfigFile(relative, data)
    return ConfigFile(None, {})


def _check_table(where: str, table: dict, schema: dict) -> None:
    for key, value in table.items():
        if key in schema and not schema[key][0](value):
            raise SourceError(f"{where}: {key} should be {schema[key][1]}, not {_toml_kind(value)}"
                              + (f" {value!r}"[:60] if isinstance(value, str) else ""))
    unknown = sorted(set(table) - set(schema))
    if unknown:
        _warn(f"{where}: unknown keys ignored: {', '.join(repr(k)[:40] for k in unknown[:10])}"
              + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""))


def _toml_kind(value) -> str:
    return {str: "a string", list: "an array", dict: "a table", bool: "a boolean", int: "an integer",
            float: "a float"}.get(type(value), type(value).__name__)


def read_tree_config(tree: Path, era: Era, version: str, config: ConfigFile | None = None) -> TreeConfig:
    major_minor = tuple(int(part) for part in version.split(".")[:2])
    defaults = TreeConfig(
        node_version=CONFIGURE_ERA_NODE if era is Era.CONFIGURE else DRIVER_ERA_NODE,
        test_args=era_test_args(era, major_minor), pythoninfo_args=PYTHONINFO_ARGS, dependencies={},
        origin=f"era defaults ({era.value} {major_minor[0]}.{major_minor[1]})")
    config = config if config is not None else read_config_file(tree, era)
    if config.relative is None:
        return defaults
    data = config.data
    test_args = data.get("test-args")
    if test_args is not None:
        test_args = _strip_module(config.relative, "test-args", test_args, "test")
    dependencies = data.get("dependencies")
    if not isinstance(dependencies, dict):
        dependencies = {name: data[name] for name in ("libffi", "mpdec") if isinstance(data.get(name), dict)}
    return TreeConfig(
        node_version=data.get("node-version", defaults.node_version),
        test_args=tuple(test_args) if test_args is not None else defaults.test_args,
        pythoninfo_args=tuple(data.get("pythoninfo-args", defaults.pythoninfo_args)),
        dependencies={str(k): dict(v) for k, v in dependencies.items()},
        origin=config.relative)


def _strip_module(relative: str, key: str, value, module: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise SourceError(f"{relative}: {key} should be a list of strings, not {value!r}")
    if value[:2] == ["-m", module]:
        return value[2:]
    raise SourceError(f"{relative}: {key} should start with '-m {module}', found {value[:2]!r}")


def node_major(version: str | None) -> int | None:
    match = re.match(r"v?(\d+)", version or "")
    return int(match.group(1)) if match else None


def jspi_flags(era: Era, node_version: str | None) -> list[str]:
    """The flag python.sh itself adds for this node (3.14+ drivers only).

    python.sh (written by configure-host, Platforms/emscripten/__main__.py @ ed232a2e96b8 and
    Tools/wasm/emscripten/__main__.py @ 1b8858023bfa) adds --experimental-wasm-jspi when
    node's major is exactly 24: before 24 the flag has a different API, after 24 JSPI is on
    by default. So 22 and 26 get nothing. 3.11-3.13 run python.js without JSPI.
    """
    if era is Era.CONFIGURE:
        return []
    return ["--experimental-wasm-jspi"] if node_major(node_version) == 24 else []


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
    config = read_config_file(tree, era)      # read and checked once, before anything uses it
    return CPythonSource(
        path=tree, version=version, era=era, pin=read_pin(tree, era, version, config),
        commit=_git(tree, "rev-parse", "HEAD"), branch=None if branch == "HEAD" else branch,
        config=read_tree_config(tree, era, version, config),
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
