"""recipes: the exact build commands of each era and how the built interpreter is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from emscripten_python.building.recipes import BuildContext, BuildStep, recipe_for
from emscripten_python.building.recipes.base import DEFAULT_NODE_FLAGS
from emscripten_python.building.recipes.configure_era import LINKFORSHARED, ConfigureRecipe
from emscripten_python.building.recipes.driver_era import DriverRecipe
from emscripten_python.building.source import CPythonSource, EmscriptenPin, Era, inspect_tree
from emscripten_python.building.toolchain import Toolchain

TOOLCHAIN = Toolchain(kind="system", emcc=Path("/x/emcc"), version="3.1.69")
PIN = EmscriptenPin("4.0.12", None, "test")


def context(tree: Path, **kwargs) -> BuildContext:
    seen = kwargs.pop("seen", None)

    def triplet(path: Path) -> str:
        if seen is not None:
            seen.append(path)
        return "x86_64-pc-linux-gnu"

    return BuildContext(source=inspect_tree(tree), toolchain=kwargs.pop("toolchain", TOOLCHAIN),
                        jobs=kwargs.pop("jobs", 4), build_triplet=triplet, python="/usr/bin/python3", **kwargs)


@pytest.mark.parametrize("era, kind, driver", [
    (Era.PLATFORMS, DriverRecipe, "Platforms/emscripten"),
    (Era.TOOLS_WASM, DriverRecipe, "Tools/wasm/emscripten"),
    (Era.CONFIGURE, ConfigureRecipe, None),
])
def test_recipe_for_each_era(era, kind, driver):
    recipe = recipe_for(CPythonSource(Path("/src"), "3.14.0", era, PIN))
    assert type(recipe) is kind
    if driver:
        assert recipe.driver == driver
    assert recipe.ports == ("zlib", "bzip2")


# -- configure era (3.11 - 3.13) ------------------------------------------------------------------

def test_configure_steps_exact_argv(make_tree):
    tree = make_tree("configure", "3.13.1").resolve()
    seen = []
    ctx = context(tree, seen=seen, configure_args=["--with-pydebug"])
    build, host = tree / "builddir" / "build", tree / "builddir" / "emscripten-node"
    assert ConfigureRecipe().steps(ctx) == [
        BuildStep("configure-build-python", ["../../configure", "-C"], build, {},
                  reusable_when=build / "config.status"),
        BuildStep("make-build-python", ["make", "-j4"], build, {}),
        BuildStep("configure-host", [
            "/x/emconfigure", "../../configure", "-C", "--host=wasm32-unknown-emscripten",
            "--build=x86_64-pc-linux-gnu", "--with-emscripten-target=node", "--enable-wasm-dynamic-linking",
            f"--with-build-python={build / 'python'}", "--with-pydebug",
        ], host, {"CONFIG_SITE": "../../Tools/wasm/config.site-wasm32-emscripten"},
            reusable_when=host / "config.status"),
        BuildStep("make-host", [
            "/x/emmake", "make", "-j4",
            "LINKFORSHARED=-sMAIN_MODULE -sEXIT_RUNTIME -O2 -g0 -sSTACK_SIZE=5242880",
        ], host, {}),
    ]
    assert seen == [tree]


def test_configure_config_site_resolves_from_host_dir(make_tree):
    tree = make_tree("configure", "3.13.1").resolve()
    configure_host = ConfigureRecipe().steps(context(tree))[2]
    assert (configure_host.cwd / configure_host.env["CONFIG_SITE"]).resolve() == \
        tree / "Tools" / "wasm" / "config.site-wasm32-emscripten"
    assert (configure_host.cwd / configure_host.argv[1]).resolve() == tree / "configure"


def test_linkforshared_stack_size():
    assert "-sSTACK_SIZE=5242880" in LINKFORSHARED.split()
    assert "-sMAIN_MODULE" in LINKFORSHARED.split()


def test_configure_host_python_default_flags(make_tree):
    tree = make_tree("configure", "3.13.1").resolve()
    host = ConfigureRecipe().host_python(context(tree, node="/opt/node/bin/node"))
    host_dir = tree / "builddir" / "emscripten-node"
    assert host.argv == ["/opt/node/bin/node", "--stack-size=30000", "python.js"]
    assert host.cwd == host_dir
    assert host.entry == host_dir / "python.js"
    assert "--stack-size=30000" in DEFAULT_NODE_FLAGS


def test_configure_host_python_uses_makefile_hostrunner(make_tree):
    tree = make_tree("configure", "3.11.9").resolve()
    host_dir = tree / "builddir" / "emscripten-node"
    host_dir.mkdir(parents=True)
    (host_dir / "Makefile").write_text(
        "# Generated automatically from Makefile.pre by makesetup.\n"
        "HOSTRUNNER=\t/usr/bin/node --experimental-wasm-bigint\n"
        "PYTHON_FOR_BUILD=./python\n")
    host = ConfigureRecipe().host_python(context(tree, node="node", node_flags=["--stack-size=20000"]))
    assert host.argv == ["node", "--experimental-wasm-bigint", "--stack-size=20000", "python.js"]


def test_configure_host_python_environment(make_tree, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    tree = make_tree("configure", "3.13.1").resolve()
    toolchain = Toolchain(kind="emsdk", emcc=Path("/e/emcc"), version="3.1.69", env={"EM_CACHE": "/c"},
                          path_prefix=["/e"])
    host = ConfigureRecipe().host_python(context(tree, toolchain=toolchain))
    assert host.env["EM_CACHE"] == "/c"
    assert host.env["PATH"] == "/e:/usr/bin"


def test_configure_outputs(make_tree):
    tree = make_tree("configure", "3.13.1").resolve()
    host = tree / "builddir" / "emscripten-node"
    (host / "build" / "lib.emscripten-wasm32-3.13").mkdir(parents=True)
    (host / "build" / "temp.emscripten-wasm32-3.13").mkdir(parents=True)
    assert ConfigureRecipe().outputs(context(tree)) == [
        host / "python.js", host / "python.wasm", host / "pybuilddir.txt",
        host / "build" / "lib.emscripten-wasm32-3.13", tree / "Lib"]


# -- driver era (3.14+) ---------------------------------------------------------------------------

def test_driver_steps_with_make_dependencies(make_tree):
    tree = make_tree("platforms", "3.15.0a1").resolve()
    ctx = context(tree, node="/usr/bin/node", configure_args=["--with-pydebug"])
    env = {"CROSS_BUILD_DIR": str(tree / "cross-build")}
    py = ["/usr/bin/python3", "Platforms/emscripten"]
    assert DriverRecipe("Platforms/emscripten").steps(ctx) == [
        BuildStep("configure-build-python", [*py, "configure-build-python", "--", "--config-cache"], tree, env,
                  reusable_when=tree / "cross-build" / "build" / "config.status"),
        BuildStep("make-build-python", [*py, "make-build-python"], tree, env),
        BuildStep("make-dependencies", [*py, "make-dependencies"], tree, env),
        BuildStep("configure-host", [*py, "configure-host", "--host-runner", "/usr/bin/node", "--",
                                     "--config-cache", "--with-pydebug"], tree, env,
                  reusable_when=tree / "cross-build" / "wasm32-emscripten" / "build" / "python" / "config.status"),
        BuildStep("make-host", [*py, "make-host"], tree, env),
    ]


def test_driver_steps_without_make_dependencies(make_tree):
    tree = make_tree("tools-wasm", "3.14.0").resolve()
    assert "make-dependencies" not in (tree / "Tools/wasm/emscripten/__main__.py").read_text()
    steps = DriverRecipe("Tools/wasm/emscripten").steps(context(tree))
    py = ["/usr/bin/python3", "Tools/wasm/emscripten"]
    assert [s.name for s in steps] == ["configure-build-python", "make-build-python", "make-libffi", "make-mpdec",
                                       "configure-host", "make-host"]
    assert steps[2].argv == [*py, "make-libffi"]
    assert steps[3].argv == [*py, "make-mpdec"]
    assert steps[4].argv == [*py, "configure-host", "--host-runner", "node", "--", "--config-cache"]
    assert all(s.cwd == tree for s in steps)
    assert all(s.env == {"CROSS_BUILD_DIR": str(tree / "cross-build")} for s in steps)


def test_driver_tools_wasm_tree_that_has_make_dependencies(make_tree):
    tree = make_tree("tools-wasm", "3.14.3", main_text='subcommands = ["make-dependencies"]\n').resolve()
    names = [s.name for s in DriverRecipe("Tools/wasm/emscripten").steps(context(tree))]
    assert "make-dependencies" in names and "make-libffi" not in names


def test_driver_host_python(make_tree, monkeypatch):
    monkeypatch.delenv("NODEFLAGS", raising=False)
    tree = make_tree("platforms", "3.15.0").resolve()
    host = DriverRecipe("Platforms/emscripten").host_python(context(tree))
    host_dir = tree / "cross-build" / "wasm32-emscripten" / "build" / "python"
    assert host.argv == [str(host_dir / "python.sh")]
    assert host.cwd == host_dir
    assert host.entry == host_dir / "python.sh"
    assert host.env["NODEFLAGS"] == "--stack-size=30000"


def test_driver_host_python_keeps_existing_nodeflags(make_tree, monkeypatch):
    monkeypatch.setenv("NODEFLAGS", "--max-old-space-size=4096")
    tree = make_tree("tools-wasm", "3.14.0").resolve()
    host = DriverRecipe("Tools/wasm/emscripten").host_python(context(tree))
    assert host.env["NODEFLAGS"].split() == ["--stack-size=30000", "--max-old-space-size=4096"]


def test_driver_host_python_custom_node_flags(make_tree, monkeypatch):
    monkeypatch.delenv("NODEFLAGS", raising=False)
    tree = make_tree("platforms", "3.15.0").resolve()
    host = DriverRecipe("Platforms/emscripten").host_python(
        context(tree, node_flags=["--stack-size=50000", "--experimental-wasm-jspi"]))
    assert host.env["NODEFLAGS"] == "--stack-size=50000 --experimental-wasm-jspi"


def test_driver_outputs(make_tree):
    tree = make_tree("platforms", "3.15.0").resolve()
    host = tree / "cross-build" / "wasm32-emscripten" / "build" / "python"
    (host / "build" / "lib.emscripten-wasm32-3.15").mkdir(parents=True)
    outputs = DriverRecipe("Platforms/emscripten").outputs(context(tree))
    assert outputs == [host / "python.mjs", host / "python.wasm", host / "python.sh", host / "node_entry.mjs",
                       host / "streams.mjs", host / "build" / "lib.emscripten-wasm32-3.15", tree / "Lib"]
