"""The active toolchain and how it compares with the version the checkout pins."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ToolchainMismatch, ToolchainNotFound
from ..source import EmscriptenPin

_EMCC_VERSION = re.compile(r"^emcc \(Emscripten[^)]*\) (\d+\.\d+\.\d+)", re.M)


@dataclass
class Toolchain:
    kind: str                       # "system" or "emsdk"
    emcc: Path
    version: str
    env: dict[str, str] = field(default_factory=dict)   # added to the environment of every stage
    path_prefix: list[str] = field(default_factory=list)  # prepended to PATH
    emsdk_cache: Path | None = None

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env.update(self.env)
        if self.path_prefix:
            env["PATH"] = os.pathsep.join([*self.path_prefix, env.get("PATH", "")])
        return env

    def tool(self, name: str) -> Path:
        """A sibling of emcc (em-config, emconfigure, emmake)."""
        return self.emcc.with_name(name)

    @classmethod
    def from_record(cls, record: dict) -> Toolchain:
        """The toolchain results.json's `toolchain` section records (the toolchain stage writes
        it), so a stage in another process uses it without searching or installing again."""
        return cls(kind=record["kind"], emcc=Path(record["emcc"]), version=record["emcc_version"],
                   env=dict(record.get("env") or {}), path_prefix=list(record.get("path_prefix") or []),
                   emsdk_cache=Path(record["emsdk_cache"]) if record.get("emsdk_cache") else None)


def emcc_version(emcc: Path, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run([str(emcc), "--version"], capture_output=True, text=True, env=env, timeout=120)
    except OSError as exc:
        raise ToolchainNotFound(f"cannot run {emcc}: {exc}") from None
    match = _EMCC_VERSION.search(done.stdout)
    if done.returncode or not match:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ToolchainNotFound(f"{emcc} --version failed (rc {done.returncode}): {detail[0]}")
    return match.group(1)


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def compare_with_pin(active: str, pin: EmscriptenPin, *, strict: bool) -> dict:
    """The toolchain section of results.json; raises ToolchainMismatch only when strict.

    CPython's own driver never checks this; a mismatched emcc builds but may fail late and
    obscurely, so it is reported up front.
    """
    if pin.version and pin.minimum is None:
        matches = _as_tuple(active) == _as_tuple(pin.version)
        wanted = f"exactly {pin.version}"
    else:
        matches = _as_tuple(active) >= _as_tuple(pin.minimum or pin.version or "0")
        wanted = f">= {pin.minimum or pin.version}"
    message = None
    if not matches:
        message = f"emcc {active} does not match the pinned Emscripten ({wanted}, from {pin.origin})"
        if strict:
            raise ToolchainMismatch(message + "; drop --strict-toolchain to continue anyway")
    return {"pinned_version": pin.version, "minimum_version": pin.minimum, "pin_origin": pin.origin,
            "matches_pin": matches, "mismatch": message}
