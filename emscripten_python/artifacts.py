"""The artifact bundle: the built interpreter, stdlib, logs and results, with a sha256 manifest."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from .results import Artifact

MANIFEST = "MANIFEST.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(path: Path):
    if path.is_file():
        yield path
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and "__pycache__" not in child.parts:
                yield child


def make_bundle(bundle: Path, members: dict[str, Path]) -> Artifact:
    """members: name inside the archive -> file or directory on disk.

    MANIFEST.json inside the archive lists every other member with its size and sha256, so
    a consumer can check what it unpacked.
    """
    manifest = []
    bundle.parent.mkdir(parents=True, exist_ok=True)
    partial = bundle.with_name(bundle.name + ".partial")
    # dereference: the build's lib dir links extension modules into ../../Modules; a bundle
    # must carry the files themselves.
    with tarfile.open(partial, "w:gz", dereference=True) as archive:
        for arcname, source in members.items():
            for file in _walk(source):
                name = arcname if file == source else f"{arcname}/{file.relative_to(source).as_posix()}"
                archive.add(file, arcname=name, recursive=False)
                manifest.append({"path": name, "size": file.stat().st_size, "sha256": sha256_of(file)})
        data = json.dumps({"files": manifest}, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    partial.replace(bundle)
    return Artifact(path=bundle.name, size=bundle.stat().st_size, sha256=sha256_of(bundle))


def verify_bundle(bundle: Path) -> list[str]:
    """Members whose content does not match the manifest (empty when the bundle is intact)."""
    problems = []
    with tarfile.open(bundle) as archive:
        try:
            manifest = json.load(archive.extractfile(MANIFEST))["files"]
        except KeyError:
            return [MANIFEST]
        for entry in manifest:
            try:
                member = archive.extractfile(entry["path"])
            except KeyError:
                member = None
            if member is None or hashlib.sha256(member.read()).hexdigest() != entry["sha256"]:
                problems.append(entry["path"])
    return problems
