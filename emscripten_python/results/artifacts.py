"""The artifact bundle: the built interpreter, stdlib, logs and results, with a sha256 manifest."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..durable import atomic_file
from ..errors import BundleError, ResultsError
from .model import Artifact, Run
from .validation import Limits, parse_json, parse_results

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


def make_bundle(bundle: Path, members: dict[str, Path], layout: dict | None = None) -> Artifact:
    """members: name inside the archive -> file or directory on disk.

    MANIFEST.json inside the archive lists every other member with its size and sha256, so
    a consumer can check what it unpacked. layout ({"source_root": the tree's absolute path,
    "paths": {member name: its path relative to the tree}}) lets another machine put the
    interpreter back where it finds its stdlib (`test --from-bundle`).
    """
    manifest = []
    files = {arcname: list(_walk(source)) for arcname, source in members.items()}
    # The bundle appears under its name only once complete (durable.atomic_file), and
    # MANIFEST.json is its last member: a bundle that exists has its manifest and verifies.
    # dereference: the build's lib dir links extension modules into ../../Modules; a bundle
    # must carry the files themselves.
    with atomic_file(bundle, needed=sum(f.stat().st_size for found in files.values() for f in found)) as handle, \
            tarfile.open(fileobj=handle, mode="w:gz", dereference=True) as archive:
        for arcname, source in members.items():
            for file in files[arcname]:
                name = arcname if file == source else f"{arcname}/{file.relative_to(source).as_posix()}"
                archive.add(file, arcname=name, recursive=False)
                manifest.append({"path": name, "size": file.stat().st_size, "sha256": sha256_of(file)})
        data = json.dumps({"files": manifest, **({"layout": layout} if layout else {})}, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return Artifact(path=bundle.name, size=bundle.stat().st_size, sha256=sha256_of(bundle))


def _member(archive: tarfile.TarFile, name: str, bundle: Path, limits: Limits) -> bytes:
    """The bytes of the member ``name``, its size checked before it is decompressed (a bundle
    may be a fork's build artifact); KeyError when the bundle has no such file."""
    info = archive.getmember(name)
    if not info.isfile():
        raise KeyError(name)
    if info.size > limits.max_file_bytes:
        raise BundleError(f"{bundle}: {name} is {info.size:,} bytes, more than the limit of {limits.max_file_bytes:,}")
    return archive.extractfile(info).read()


def bundled_results(bundle: Path) -> Run:
    """The build's results.json inside ``bundle``, without unpacking it, read through the shared
    checks of every results.json (emscripten_python/results/validation.py); BundleError (one line) for
    a bundle without a valid one."""
    limits = Limits()
    try:
        with tarfile.open(bundle) as archive:
            raw = _member(archive, "results.json", bundle, limits)
        return parse_results(raw, f"{bundle}: its results.json", limits)
    except (tarfile.TarError, OSError, KeyError, EOFError, zlib.error) as exc:
        raise BundleError(f"{bundle} holds no results.json that can be read ({exc})") from None
    except ResultsError as exc:
        raise BundleError(str(exc)) from None


def _manifest(archive: tarfile.TarFile, bundle: Path) -> dict:
    """MANIFEST.json as make_bundle writes it, read through the shared checks of untrusted JSON
    (emscripten_python/results/validation.py); KeyError when the bundle has none, BundleError (one
    line) when it is not that shape."""
    label, limits = f"{bundle}: {MANIFEST}", Limits()
    raw = _member(archive, MANIFEST, bundle, limits)
    try:
        manifest = parse_json(raw, label, limits)
    except ResultsError as exc:
        raise BundleError(str(exc)) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise BundleError(f"{bundle}: {MANIFEST} is not an object with a list of files")
    for i, entry in enumerate(manifest["files"]):
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str)):
            raise BundleError(f"{label}: files[{i}] is not an object with a path and a sha256")
    layout = manifest.get("layout")
    paths = layout.get("paths") if isinstance(layout, dict) else None
    if isinstance(paths, dict) and not all(isinstance(v, str) for v in paths.values()):
        raise BundleError(f"{label}: layout.paths maps a member to something other than a path")
    return manifest


def verify_bundle(bundle: Path) -> list[str]:
    """Members whose content does not match the manifest (empty when the bundle is intact)."""
    problems = []
    with tarfile.open(bundle) as archive:
        try:
            manifest = _manifest(archive, bundle)["files"]
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


@dataclass
class UnpackedBundle:
    tree: Path            # the interpreter's files at their places relative to a source tree
    results: dict         # the build's results.json (source, era, toolchain, stages, run_id)
    sha256: str           # of the bundle file: the build's identity for shards


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BundleError(f"bundle layout path {name!r} leaves the tree")
    return path


def unpack_bundle(bundle: Path, dest: Path) -> UnpackedBundle:
    """Verify the bundle against its manifest, then lay the interpreter out under dest/tree.

    The built files go back to the same places relative to a source tree as on the build
    machine (python.js finds Lib/ through pybuilddir.txt and ../..), so the recipe's own
    host_python() starts it. Text launchers that name the build machine's tree (python.sh)
    are pointed at the new one.
    """
    bundle, dest = Path(bundle), Path(dest).resolve()
    if not bundle.is_file():
        raise BundleError(f"{bundle}: no such bundle")
    try:
        problems = verify_bundle(bundle)
        with tarfile.open(bundle) as archive:
            layout = _manifest(archive, bundle).get("layout")
            if not isinstance(layout, dict) or not isinstance(layout.get("paths"), dict):
                raise BundleError(f"{bundle} has no layout in its manifest (made by an older "
                                  "emscripten-python): rebuild it to test from it")
            if problems:
                raise BundleError(f"{bundle} does not match its sha256 manifest: {', '.join(problems[:10])}")
            shutil.rmtree(dest, ignore_errors=True)
            raw = dest / "raw"
            archive.extractall(raw, filter="data")
    except (tarfile.TarError, OSError, ValueError, KeyError, EOFError, zlib.error) as exc:
        raise BundleError(f"{bundle} is not a readable bundle (damaged or not a bundle): {exc}") from None
    tree = dest / "tree"
    tree.mkdir(parents=True)
    old_root = str(layout.get("source_root") or "")
    for member, relative in layout["paths"].items():
        source, target = raw / _safe_relative(member), tree / _safe_relative(relative)
        if not source.exists():
            raise BundleError(f"{bundle}: layout names {member!r}, which the bundle does not hold")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        if target.is_file() and target.suffix == ".sh" and old_root:
            text = target.read_text(errors="replace")
            if old_root in text:
                target.write_text(text.replace(old_root, str(tree)))
    try:
        # the shared checks of every results.json reader (a bundle may be a fork's artifact)
        results = parse_results((raw / "results.json").read_bytes(), f"{bundle}: its results.json").to_dict()
    except OSError as exc:
        raise BundleError(f"{bundle} holds no readable results.json: {exc.strerror or exc}") from None
    except ResultsError as exc:
        raise BundleError(str(exc)) from None
    return UnpackedBundle(tree=tree, results=results, sha256=sha256_of(bundle))


def bundle_layout(members: dict[str, Path], root: Path) -> dict:
    """Where each built member (python/…) sits relative to the source tree, for unpack_bundle."""
    paths = {}
    for name, path in members.items():
        if name.startswith("python/") and Path(path).is_relative_to(root) and next(_walk(Path(path)), None):
            paths[name] = Path(path).relative_to(root).as_posix()
    return {"source_root": str(root), "paths": paths}
