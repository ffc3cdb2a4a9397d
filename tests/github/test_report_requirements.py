"""What the action installs in a job that may hold a write token is pinned by hash, all of it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "actions" / "emscripten-python"


def _pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements-report.txt; every entry must be `name==version`."""
    text = (ACTION / "requirements-report.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", "\n" + re.sub(r"(?m)^\s*#.*\n?", "", text))
    pins = {}
    for entry in filter(str.strip, entries):
        head = entry.split("\\")[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", head)
        assert match, f"not pinned to one version: {head!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", entry)
        assert hashes, f"{head} has no sha256 hash"
        assert not re.search(r"--hash=(?!sha256:)", entry), f"{head}: only sha256 hashes"
        pins[canonicalize_name(match[1])] = (match[2], hashes)
    return pins


def _needed() -> set[str]:
    """The core dependencies and the github extra, with everything they need in turn."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["github"]]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        extras = requirement.extras
        for text in metadata.requires(requirement.name) or []:
            sub = Requirement(text)
            # Markers are judged for this machine (Linux, this Python): the runners' case.
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append(sub)
    return seen


def test_every_package_is_pinned_by_version_and_sha256():
    pins = _pins()
    assert len(pins) >= 15
    assert sum(len(hashes) for _, hashes in pins.values()) > len(pins), "wheels for more than one platform"
    missing = _needed() - set(pins)
    assert missing == set(), f"installed by the action but not pinned: {sorted(missing)}"
    assert {"pygithub", "requests", "urllib3", "pyjwt", "cryptography", "pynacl", "setuptools"} <= set(pins)


def test_the_pins_satisfy_pyproject():
    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"] + project["optional-dependencies"]["github"]:
        requirement = Requirement(text)
        version, _ = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (text, version)


def test_install_sh_installs_only_what_is_pinned():
    script = (ACTION / "install.sh").read_text()
    installs = [line for line in script.splitlines() if " install " in line and not line.lstrip().startswith("#")]
    assert len(installs) == 2
    pinned, own = installs
    assert "--require-hashes" in pinned and "--only-binary :all:" in pinned and "requirements-report.txt" in pinned
    assert "--no-deps" in own and "--no-index" in own and "--no-build-isolation" in own
    assert "[github]" not in script, "an extra would be resolved, unpinned, at install time"
    assert re.search(r'^"\$\{pip\[@\]\}" check$', script, re.M)
