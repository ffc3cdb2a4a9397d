"""CPython's 2026 Emscripten contract, checked on stand-in trees (no 3.14+ source builds here).

What CPython's own driver does, read from python/cpython:
- ``Platforms/emscripten/config.toml @ 6e595983c27a`` (3.14 shape, with ``pythoninfo-args`` and
  ``[dependencies.*]``) and ``@ 0abca1c64dfc`` (older shape: ``[libffi]``/``[mpdec]`` tables, no
  ``pythoninfo-args``): ``node-version = "24"``,
  ``test-args = ["-m", "test", "-v", "-uall", "--rerun", "--single-process", "-W"]``.
- ``Platforms/emscripten/__main__.py @ ed232a2e96b8``: ``run --test`` execs
  ``python.sh *test-args *extra``; dependencies are fetched with ``urlopen(url.format(version=…))``,
  checked against ``shasum``; the python.sh it writes adds ``--experimental-wasm-jspi`` only when
  node's major is exactly 24 (same rule in ``Tools/wasm/emscripten/__main__.py @ 1b8858023bfa``).
- ``.github/workflows/reusable-emscripten.yml @ 040aa23a28cf``: node from config.toml,
  ``pythoninfo-build`` after make-build-python, ``pythoninfo-host`` after make-host.
The expected values below are those files' values, written out, not computed by our code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

import pytest

from emscripten_python import pipeline as pipeline_module
from emscripten_python.errors import MirrorError, SourceError
from emscripten_python.pipeline import (
    Options, Pipeline, node_flags_record, node_record, parse_pythoninfo, regrtest_arguments,
)
from emscripten_python.building.recipes import BuildContext, recipe_for
from emscripten_python.building.recipes import offline_driver
from emscripten_python.results.model import Run, Stage
from emscripten_python.building.source import Era, inspect_tree, jspi_flags, read_tree_config
from emscripten_python.building.toolchain import Toolchain
from emscripten_python.building.toolchain.emcache import check_dependencies

LIBFFI_URL = "https://github.com/libffi/libffi/releases/download/v{version}/libffi-{version}.tar.gz"
MPDEC_URL = "https://www.bytereef.org/software/mpdecimal/releases/mpdecimal-{version}.tar.gz"

CONFIG_314 = '''\
# Any data that can vary between Python versions is to be kept in this file.
emscripten-version = "4.0.12"
node-version = "24"
test-args = [
    "-m", "test",
    "-v",
    "-uall",
    "--rerun",
    "--single-process",
    "-W",
]
pythoninfo-args = [
    "-m", "test.pythoninfo",
]

[dependencies.libffi]
url = "%s"
version = "3.4.6"
shasum = "b0dea9df23c863a7a50e825440f3ebffabd65df1497108e5d437747843895a4e"

[dependencies.mpdec]
url = "%s"
version = "4.0.1"
shasum = "96d33abb4bb0070c7be0fed4246cd38416188325f820468214471938545b1ac8"
''' % (LIBFFI_URL, MPDEC_URL)

CONFIG_315 = CONFIG_314.replace('"4.0.12"', '"4.0.19"')
CONFIG_MAIN = CONFIG_314.replace('"4.0.12"', '"6.0.9"')

# The March 2026 shape (@ 0abca1c64dfc): top-level [libffi]/[mpdec], no pythoninfo-args.
CONFIG_OLD_TABLES = '''\
emscripten-version = "4.0.12"
node-version = "24"
test-args = ["-m", "test", "-v", "-uall", "--rerun", "--single-process", "-W"]

[libffi]
url = "%s"
version = "3.4.6"
shasum = "b0dea9df23c863a7a50e825440f3ebffabd65df1497108e5d437747843895a4e"

[mpdec]
url = "%s"
version = "4.0.1"
shasum = "96d33abb4bb0070c7be0fed4246cd38416188325f820468214471938545b1ac8"
''' % (LIBFFI_URL, MPDEC_URL)

CPYTHON_TEST_ARGS = ["-v", "-uall", "--rerun", "--single-process", "-W"]


def platforms_tree(make_tree, version: str, config: str, name: str = "cpython") -> Path:
    tree = make_tree("platforms", version, name=name)
    (tree / "Platforms" / "emscripten" / "config.toml").write_text(config)
    return tree


SHAPES = [("3.14.4", CONFIG_314, "4.0.12"), ("3.15.0rc1", CONFIG_315, "4.0.19"),
          ("3.16.0a1", CONFIG_MAIN, "6.0.9"), ("3.14.4", CONFIG_OLD_TABLES, "4.0.12")]


@pytest.mark.parametrize("version, config, emscripten", SHAPES)
def test_tree_config_is_what_the_driver_reads(make_tree, version, config, emscripten):
    source = inspect_tree(platforms_tree(make_tree, version, config))
    assert source.pin.version == emscripten
    tree_config = source.tree_config
    assert tree_config.node_version == "24"
    assert list(tree_config.test_args) == CPYTHON_TEST_ARGS
    assert list(tree_config.pythoninfo_args) == ["-m", "test.pythoninfo"]
    assert tree_config.origin == "Platforms/emscripten/config.toml"
    assert tree_config.dependencies["libffi"]["version"] == "3.4.6"
    assert tree_config.dependencies["mpdec"]["shasum"].startswith("96d33abb")


@pytest.mark.parametrize("version, config, emscripten", SHAPES)
def test_test_arguments_equal_run_test(make_tree, version, config, emscripten):
    """`Platforms/emscripten run --test -- X` runs `python.sh -m test *test-args X`.

    Ours are the same, in the same order, except -W: it makes regrtest hold each file's output
    back until the file fails, and a runtime crash then loses it (measured on the real 3.13
    build: four passing files counted 0 tests). The drop is recorded next to the tree's list.
    """
    source = inspect_tree(platforms_tree(make_tree, version, config))
    options = Options(source=str(source.path), out=Path("/unused"), regrtest_args=["--timeout", "600"])
    assert CPYTHON_TEST_ARGS[-1] == "-W"
    assert regrtest_arguments(source, options) == [*CPYTHON_TEST_ARGS[:-1], "--timeout", "600"]
    assert pipeline_module.dropped_tree_args(source, options) == ["-W"]


def test_test_args_can_still_ask_for_w(make_tree):
    source = inspect_tree(platforms_tree(make_tree, "3.15.0", CONFIG_315))
    options = Options(source=str(source.path), out=Path("/x"), test_args=["-v", "-W"])
    assert regrtest_arguments(source, options) == ["-v", "-W"]
    assert pipeline_module.dropped_tree_args(source, options) == []


@pytest.mark.parametrize("node, expected", [("v22.12.0", []), ("v24.4.1", ["--experimental-wasm-jspi"]),
                                            ("v26.0.0", []), ("24", ["--experimental-wasm-jspi"])])
def test_jspi_flag_follows_python_sh(make_tree, node, expected):
    source = inspect_tree(platforms_tree(make_tree, "3.15.0", CONFIG_315))
    context = BuildContext(source=source, toolchain=Toolchain(kind="system", emcc=Path("/e/emcc"), version="4"),
                           jobs=1)
    assert jspi_flags(Era.PLATFORMS, node) == expected
    record = node_flags_record(context, node.lstrip("v"))
    assert record == {"flags": ["--stack-size=30000", *expected], "python_sh_flags": expected}
    # NODEFLAGS carries only our flags: python.sh adds the JSPI flag itself.
    host = recipe_for(source).host_python(context)
    assert "--experimental-wasm-jspi" not in host.env["NODEFLAGS"]


def test_configure_era_gets_no_jspi_flag():
    assert jspi_flags(Era.CONFIGURE, "24.0.0") == []
    assert jspi_flags(Era.TOOLS_WASM, "v24.0.0") == ["--experimental-wasm-jspi"]


def test_node_record_names_what_the_tree_wants(make_tree):
    source = inspect_tree(platforms_tree(make_tree, "3.14.4", CONFIG_314))
    assert node_record(source, "24.11.0", "node") == {
        "version": "24.11.0", "path": "node", "wanted": "24", "wanted_from": "Platforms/emscripten/config.toml"}


def test_a_tree_pinning_node_26(make_tree):
    source = inspect_tree(platforms_tree(make_tree, "3.16.0a1", CONFIG_MAIN.replace('node-version = "24"',
                                                                                      'node-version = "26"')))
    assert source.tree_config.node_version == "26"
    assert jspi_flags(source.era, source.tree_config.node_version) == []


@pytest.mark.parametrize("layout, version, node, args", [
    ("tools-wasm", "3.14.2", "24", CPYTHON_TEST_ARGS),
    ("configure", "3.13.15", "22", CPYTHON_TEST_ARGS),
    ("configure", "3.12.9", "22", ["-v", "-uall", "-W"]),
    ("configure", "3.11.11", "22", ["-v", "-uall", "-W"]),
])
def test_era_defaults_without_config(make_tree, layout, version, node, args):
    source = inspect_tree(make_tree(layout, version))
    config = source.tree_config
    assert (config.node_version, list(config.test_args)) == (node, args)
    assert config.origin.startswith("era defaults") and config.dependencies == {}


def test_tools_wasm_config_toml_is_read(make_tree):
    tree = make_tree("tools-wasm", "3.14.3")
    (tree / "Tools" / "wasm" / "emscripten" / "config.toml").write_text(CONFIG_OLD_TABLES)
    config = inspect_tree(tree).tree_config
    assert config.origin == "Tools/wasm/emscripten/config.toml"
    assert set(config.dependencies) == {"libffi", "mpdec"}


def test_bad_test_args_in_config_are_a_source_error(make_tree):
    tree = platforms_tree(make_tree, "3.15.0", CONFIG_315.replace('"-m", "test",\n', ""))
    with pytest.raises(SourceError, match="test-args should start with '-m test'"):
        inspect_tree(tree)


@pytest.mark.parametrize("overrides, expected", [
    ({"resources": "all,-network"}, ["-v", "-u", "all,-network", "--rerun", "--single-process"]),
    ({"rerun": False}, ["-v", "-uall", "--single-process"]),
    ({"test_args": ["-v", "--use", "cpu"], "resources": "none"}, ["-v", "-u", "none"]),
    ({"test_args": ["-q"], "regrtest_args": ["-x", "test_os"]}, ["-q", "-x", "test_os"]),
    ({"test_args": ["-q"], "resources": "all"}, ["-u", "all", "-q"]),
])
def test_overrides_replace_or_add(make_tree, overrides, expected):
    source = inspect_tree(platforms_tree(make_tree, "3.14.4", CONFIG_314))
    assert regrtest_arguments(source, Options(source=str(source.path), out=Path("/x"), **overrides)) == expected


# -- pythoninfo ------------------------------------------------------------------------------

PYTHONINFO = """\
$ cd /src/cross-build/wasm32-emscripten/build/python
$ /src/cross-build/wasm32-emscripten/build/python/python.sh -m test.pythoninfo
Python debug information
========================

builtins.float.double_format: IEEE, little-endian
platform.platform: Emscripten-4.0.12-wasm32-32bit
sys.platform: emscripten
sys.version: 3.15.0rc1 (main, Aug  1 2026, 10:00:00) [Clang 21.0.0git]
sysconfig[HOST_GNU_TYPE]: wasm32-unknown-emscripten
"""


def test_parse_pythoninfo_keeps_key_value_lines_only():
    info = parse_pythoninfo(PYTHONINFO)
    assert info["sys.platform"] == "emscripten"
    assert info["sysconfig[HOST_GNU_TYPE]"] == "wasm32-unknown-emscripten"
    assert info["platform.platform"] == "Emscripten-4.0.12-wasm32-32bit"
    assert "Python debug information" not in "".join(info) and not any(k.startswith("$") for k in info)


def test_parse_pythoninfo_is_bounded():
    text = "\n".join(f"mod.key{i}: {'v' * 2000}" for i in range(2000))
    info = parse_pythoninfo(text)
    assert len(info) == pipeline_module.PYTHONINFO_MAX_KEYS
    assert all(len(v) <= pipeline_module.PYTHONINFO_MAX_VALUE + 1 for v in info.values())


def _pipeline_with_fake_stages(tmp_path, make_tree, monkeypatch, returncode: int, only=()):
    tree = make_tree("configure", "3.13.15")
    out = tmp_path / "out"
    run = Run(toolchain={"kind": "system", "emcc": "/e/emcc", "emcc_version": "3.1.69"})
    out.mkdir()
    run.save(out / "results.json")
    ran = []

    def fake_run_stage(name, argv, cwd, env, out_dir):
        ran.append((name, argv))
        (out_dir / "logs").mkdir(exist_ok=True)
        (out_dir / "logs" / f"{name}.log").write_text(PYTHONINFO if returncode == 0 else (
            "Traceback (most recent call last):\n  File \"<frozen runpy>\", line 198\n"
            "ModuleNotFoundError: No module named 'test.pythoninfo'\n"))
        return Stage(name, "succeeded" if returncode == 0 else "failed", 0.5, returncode, f"logs/{name}.log", argv)

    monkeypatch.setattr(pipeline_module, "run_stage", fake_run_stage)
    monkeypatch.setattr(pipeline_module.Pipeline, "verify_host", lambda self, context: None)
    # ccache may be installed here: the fake stages compile nothing, so its counters are not read.
    monkeypatch.setattr(pipeline_module.ccache, "setup", lambda env, cache_dir: None)
    real_context = pipeline_module.Pipeline.context
    monkeypatch.setattr(pipeline_module.Pipeline, "context", lambda self: dataclasses.replace(
        real_context(self), build_triplet=lambda tree: "x86_64-pc-linux-gnu"))
    pipe = Pipeline(Options(source=str(tree), out=out, only=list(only), cache_dir=tmp_path / "cache"), new_run=False)
    return pipe, ran


def test_pythoninfo_stages_in_cpython_order_and_recorded(tmp_path, make_tree, monkeypatch):
    pipe, ran = _pipeline_with_fake_stages(tmp_path, make_tree, monkeypatch, 0)
    monkeypatch.setattr(pipeline_module.buildcache, "source_fingerprint", lambda *a: None)
    pipe.build_stage()
    names = [name for name, _ in ran]
    assert names == ["configure-build-python", "make-build-python", "pythoninfo-build", "configure-host",
                     "make-host", "pythoninfo-host"]
    build_argv = dict(ran)["pythoninfo-build"]
    assert build_argv[0].endswith("builddir/build/python") and build_argv[1:] == ["-m", "test.pythoninfo"]
    assert dict(ran)["pythoninfo-host"][-3:] == ["python.js", "-m", "test.pythoninfo"]
    saved = json.loads((pipe.out / "results.json").read_text())
    assert saved["pythoninfo"]["host"]["info"]["sys.platform"] == "emscripten"
    assert saved["pythoninfo"]["build"]["log"] == "logs/pythoninfo-build.log"


def test_pythoninfo_failure_is_only_a_warning(tmp_path, make_tree, monkeypatch):
    pipe, ran = _pipeline_with_fake_stages(tmp_path, make_tree, monkeypatch, 1, only=["pythoninfo-host"])
    pipe.build_stage()
    assert [name for name, _ in ran] == ["pythoninfo-host"]
    stage = {s.name: s for s in pipe.run.stages}["pythoninfo-host"]
    assert stage.status == "warning" and stage.returncode == 1
    assert pipe.run.decide_outcome() == "success"
    assert pipe.run.pythoninfo["host"] == {"status": "warning", "log": "logs/pythoninfo-host.log", "info": {}}


def test_only_with_no_stage_of_this_tree_is_an_error(tmp_path, make_tree, monkeypatch):
    pipe, ran = _pipeline_with_fake_stages(tmp_path, make_tree, monkeypatch, 0, only=["make-dependencies"])
    with pytest.raises(Exception, match="no such build stage"):
        pipe.build_stage()
    assert ran == []


# -- --mirror for libffi and mpdecimal ----------------------------------------------------------

def _tarball(path: Path, top: str) -> str:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        body = b"# configure\n"
        info = tarfile.TarInfo(f"{top}/configure")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    path.write_bytes(data.getvalue())
    return hashlib.sha256(data.getvalue()).hexdigest()


# A stand-in for the driver's dependency step, following Platforms/emscripten/__main__.py
# @ ed232a2e96b8: `from urllib.request import urlopen` at import, download to a temp file,
# sha256 check, unpack into the host build dir, write <prefix>/<name>.json.
STAND_IN_DRIVER = '''\
import hashlib, json, shutil, sys, tempfile, tomllib
from pathlib import Path
from urllib.request import urlopen

HERE = Path(__file__).parent
config = tomllib.loads((HERE / "config.toml").read_text())
assert sys.argv[1:] == ["make-dependencies"], sys.argv
build = Path("cross-build/wasm32-emscripten/build")
prefix = Path("cross-build/wasm32-emscripten/prefix")
build.mkdir(parents=True, exist_ok=True)
prefix.mkdir(parents=True, exist_ok=True)
for name, table in config["dependencies"].items():
    with tempfile.NamedTemporaryFile(suffix=".tar.gz", delete=False) as tmp:
        with urlopen(table["url"].format(version=table["version"])) as response:
            shutil.copyfileobj(response, tmp)
    if hashlib.sha256(Path(tmp.name).read_bytes()).hexdigest() != table["shasum"]:
        raise RuntimeError("Unexpected shasum for " + tmp.name)
    shutil.unpack_archive(tmp.name, build, format="gztar")
    (prefix / (name + ".json")).write_text(json.dumps(table))
'''


@pytest.fixture
def mirrored_tree(tmp_path, make_tree):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    ffi = _tarball(mirror / "libffi-3.4.6.tar.gz", "libffi-3.4.6")
    mpdec = _tarball(mirror / "mpdecimal-4.0.1.tar.gz", "mpdecimal-4.0.1")
    config = CONFIG_315.replace("b0dea9df23c863a7a50e825440f3ebffabd65df1497108e5d437747843895a4e", ffi) \
        .replace("96d33abb4bb0070c7be0fed4246cd38416188325f820468214471938545b1ac8", mpdec)
    tree = platforms_tree(make_tree, "3.15.0", config)
    (tree / "Platforms" / "emscripten" / "__main__.py").write_text(STAND_IN_DRIVER)
    return tree, mirror


def test_driver_dependency_steps_run_through_the_mirror(mirrored_tree):
    tree, mirror = mirrored_tree
    context = BuildContext(source=inspect_tree(tree), toolchain=Toolchain(kind="system", emcc=Path("/e/emcc"),
                                                                          version="4.0.19"),
                           jobs=1, python="/py", mirror=mirror)
    steps = {s.name: s for s in recipe_for(context.source).steps(context)}
    assert steps["make-dependencies"].argv == [
        "/py", "-m", "emscripten_python.building.recipes.offline_driver", "--mirror", str(mirror),
        "Platforms/emscripten", "make-dependencies"]
    assert steps["make-host"].argv == ["/py", "Platforms/emscripten", "make-host"]


def test_offline_driver_serves_the_driver_from_the_mirror(mirrored_tree, monkeypatch):
    tree, mirror = mirrored_tree
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("went to the network"))
    monkeypatch.chdir(tree)
    offline_driver.main(["--mirror", str(mirror), "Platforms/emscripten", "make-dependencies"])
    build = tree / "cross-build" / "wasm32-emscripten" / "build"
    assert (build / "libffi-3.4.6" / "configure").is_file()
    assert (build / "mpdecimal-4.0.1" / "configure").is_file()
    marker = json.loads((tree / "cross-build/wasm32-emscripten/prefix/libffi.json").read_text())
    assert marker["version"] == "3.4.6"


def test_offline_driver_falls_back_for_a_file_the_mirror_lacks(tmp_path):
    calls = []
    opener = offline_driver.mirror_urlopen(tmp_path, fallback=lambda url: calls.append(url) or "response",
                                           log=lambda message: None)
    assert opener("https://example.invalid/x/libffi-9.tar.gz") == "response"
    assert calls == ["https://example.invalid/x/libffi-9.tar.gz"]


def test_check_dependencies_records_and_verifies(mirrored_tree):
    tree, mirror = mirrored_tree
    dependencies = inspect_tree(tree).tree_config.dependencies
    found = check_dependencies(dependencies, mirror, log=lambda m: None)
    assert found == [
        {"dependency": "libffi", "version": "3.4.6", "file": "libffi-3.4.6.tar.gz", "action": "mirror"},
        {"dependency": "mpdec", "version": "4.0.1", "file": "mpdecimal-4.0.1.tar.gz", "action": "mirror"}]
    (mirror / "mpdecimal-4.0.1.tar.gz").unlink()
    assert check_dependencies(dependencies, mirror, log=lambda m: None)[1]["action"] == "download"
    (mirror / "libffi-3.4.6.tar.gz").write_bytes(b"not the pinned file")
    with pytest.raises(MirrorError, match="sha256"):
        check_dependencies(dependencies, mirror, log=lambda m: None)


def test_summary_shows_pythoninfo_safely():
    from emscripten_python.report.markdown import render_markdown

    run = Run(pythoninfo={
        "host": {"status": "succeeded", "log": "logs/pythoninfo-host.log",
                 "info": {"sys.version": "3.15.0rc1 ```</details><script>x</script>",
                          "platform.platform": "Emscripten-4.0.19-wasm32-32bit", "other.key": "hidden"}},
        "build": {"status": "warning", "log": "logs/pythoninfo-build.log", "info": {}}})
    text = render_markdown(run)
    assert "### pythoninfo" in text
    assert "pythoninfo of the native" not in text and "pythoninfo of the build Python (native) (warning: it failed)" in text
    assert "pythoninfo of the wasm interpreter (3 keys)" in text
    block = text.split("pythoninfo of the wasm interpreter (3 keys)</summary>")[1].split("</details>\n")[0]
    # The value's ``` cannot close the block: the fence is longer than any backtick run in it.
    assert block.strip().startswith("````\n") and "platform.platform: Emscripten-4.0.19-wasm32-32bit" in block
    assert "other.key" not in text
