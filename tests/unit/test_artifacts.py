"""artifacts: the bundle with its sha256 manifest, and its verification."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from emscripten_python.results.artifacts import MANIFEST, make_bundle, sha256_of, verify_bundle


@pytest.fixture
def members(tmp_path) -> dict[str, Path]:
    host = tmp_path / "host"
    host.mkdir()
    (host / "python.js").write_text("// emscripten glue\n")
    (host / "python.wasm").write_bytes(b"\x00asm\x01\x00\x00\x00" + bytes(range(256)))
    lib = tmp_path / "Lib"
    (lib / "json").mkdir(parents=True)
    (lib / "os.py").write_text("import sys\n")
    (lib / "json" / "__init__.py").write_text("# json\n")
    (lib / "json" / "__pycache__").mkdir()
    (lib / "json" / "__pycache__" / "__init__.cpython-313.pyc").write_bytes(b"pyc")
    results = tmp_path / "results.json"
    results.write_text('{"schema_version": 1}\n')
    return {
        "python/python.js": host / "python.js",
        "python/python.wasm": host / "python.wasm",
        "python/Lib": lib,
        "results.json": results,
        "logs": tmp_path / "logs",          # never created: contributes nothing
    }


EXPECTED_NAMES = ["python/python.js", "python/python.wasm", "python/Lib/json/__init__.py", "python/Lib/os.py",
                  "results.json"]


def _manifest(bundle: Path) -> list[dict]:
    with tarfile.open(bundle) as archive:
        return json.load(archive.extractfile(MANIFEST))["files"]


def test_make_bundle(tmp_path, members):
    bundle = tmp_path / "out" / "emscripten-python-3.13.1-abcd1234.tar.gz"
    artifact = make_bundle(bundle, members)
    assert artifact.path == bundle.name
    assert artifact.size == bundle.stat().st_size
    assert artifact.sha256 == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert not bundle.with_name(bundle.name + ".partial").exists()

    with tarfile.open(bundle) as archive:
        names = archive.getnames()
        assert archive.extractfile("python/python.wasm").read() == members["python/python.wasm"].read_bytes()
    assert sorted(names) == sorted([*EXPECTED_NAMES, MANIFEST])
    assert not any("__pycache__" in name for name in names)

    manifest = {entry["path"]: entry for entry in _manifest(bundle)}
    assert sorted(manifest) == sorted(EXPECTED_NAMES)
    os_py = members["python/Lib"] / "os.py"
    assert manifest["python/Lib/os.py"] == {"path": "python/Lib/os.py", "size": os_py.stat().st_size,
                                            "sha256": sha256_of(os_py)}


def test_sha256_of(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_verify_intact_bundle(tmp_path, members):
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members)
    assert verify_bundle(bundle) == []


def _rebuild(bundle: Path, tampered: Path, change=None, drop=()) -> Path:
    """Copy every member of `bundle` (MANIFEST.json unchanged) into `tampered`, editing some."""
    with tarfile.open(bundle) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            if member.name in drop:
                continue
            data = source.extractfile(member).read()
            if change and member.name in change:
                data = change[member.name](data)
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            info.mtime = member.mtime
            target.addfile(info, io.BytesIO(data))
    return tampered


def test_verify_reports_a_modified_member(tmp_path, members):
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members)
    tampered = _rebuild(bundle, tmp_path / "tampered.tar.gz",
                        change={"python/Lib/os.py": lambda data: data + b"import evil\n"})
    assert verify_bundle(tampered) == ["python/Lib/os.py"]


def test_verify_reports_same_size_modification(tmp_path, members):
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members)
    tampered = _rebuild(bundle, tmp_path / "tampered.tar.gz",
                        change={"python/python.wasm": lambda data: data[:-1] + bytes([data[-1] ^ 1])})
    assert verify_bundle(tampered) == ["python/python.wasm"]


def test_verify_reports_a_missing_member(tmp_path, members):
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members)
    tampered = _rebuild(bundle, tmp_path / "tampered.tar.gz", drop={"results.json"})
    assert verify_bundle(tampered) == ["results.json"]


def test_make_bundle_replaces_an_existing_bundle(tmp_path, members):
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, {"results.json": members["results.json"]})
    make_bundle(bundle, members)
    assert sorted(e["path"] for e in _manifest(bundle)) == sorted(EXPECTED_NAMES)


def test_symlinked_members_are_stored_as_files(tmp_path):
    # CPython's build/lib.* dir holds relative symlinks to ../../Modules/*.so.
    modules = tmp_path / "Modules"
    modules.mkdir()
    (modules / "_x.so").write_bytes(b"\0asm module")
    lib = tmp_path / "build" / "lib.emscripten-wasm32-3.13"
    lib.mkdir(parents=True)
    (lib / "_x.so").symlink_to("../../Modules/_x.so")
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, {"python/lib": lib})
    assert verify_bundle(bundle) == []
    with tarfile.open(bundle) as archive:
        member = archive.getmember("python/lib/_x.so")
        assert member.isfile() and archive.extractfile(member).read() == b"\0asm module"


@pytest.mark.parametrize("manifest, said", [
    (b"[" * 10_000, "nests 10,000 levels deep"),
    (b'{"files": [], "layout": {"paths": {}}, "x": NaN}', "NaN is not valid JSON"),
    (b"\xff", "is not UTF-8"),
    (b"[]", "MANIFEST.json is not an object with a list of files"),
    (b'{"files": 7}', "MANIFEST.json is not an object with a list of files"),
    (b'{"files": ["results.json"]}', "MANIFEST.json: files[0] is not an object with a path and a sha256"),
    (b'{"files": [{"path": 1, "sha256": "0"}]}', "MANIFEST.json: files[0] is not an object with a path"),
    (b'{"files": [], "layout": ["python"]}', "has no layout in its manifest"),
])
def test_a_hostile_manifest_is_a_bundle_error(tmp_path, manifest, said):
    # A bundle can be a fork's build artifact (a sharded workflow's test jobs unpack it):
    # its manifest is read through the shared checks of untrusted JSON, and anything but the
    # shape make_bundle writes is a BundleError (exit 41), never a traceback.
    from emscripten_python.results.artifacts import unpack_bundle
    from emscripten_python.errors import BundleError

    bundle = tmp_path / "b.tar.gz"
    with tarfile.open(bundle, "w:gz") as archive:
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    with pytest.raises(BundleError, match=None) as caught:
        unpack_bundle(bundle, tmp_path / "out")
    assert said in str(caught.value) and "\n" not in str(caught.value)
