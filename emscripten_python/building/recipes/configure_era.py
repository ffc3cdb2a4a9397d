"""3.11-3.13: configure + make, as CPython's buildbot did for Emscripten then.

Tools/wasm/wasm_build.py exists in these trees but is a developer convenience that hides
the flags; the exact configure/make lines below are the ones measured to build and pass
tests (docs/toolchains.rst): dynamic linking (without it the test extension modules fail
to link: "relocation ... recompile with -fPIC") and a 5 MB wasm stack (without it
deep-recursion tests die with "memory access out of bounds").
"""

from __future__ import annotations

import re
from pathlib import Path

from ..host import HostPython
from .base import BuildContext, BuildStep, Recipe

WASM_STACK_SIZE = 5 * 1024 * 1024
LINKFORSHARED = f"-sMAIN_MODULE -sEXIT_RUNTIME -O2 -g0 -sSTACK_SIZE={WASM_STACK_SIZE}"


class ConfigureRecipe(Recipe):
    def build_dir(self, ctx: BuildContext) -> Path:
        return ctx.source.path / "builddir" / "build"

    def host_dir(self, ctx: BuildContext) -> Path:
        return ctx.source.path / "builddir" / "emscripten-node"

    def steps(self, ctx: BuildContext) -> list[BuildStep]:
        tree, build, host = ctx.source.path, self.build_dir(ctx), self.host_dir(ctx)
        build_python = build / "python"
        return [
            BuildStep("configure-build-python", ["../../configure", "-C"], build,
                      reusable_when=build / "config.status"),
            BuildStep("make-build-python", ["make", f"-j{ctx.jobs}"], build),
            BuildStep(
                "configure-host",
                [str(ctx.toolchain.tool("emconfigure")), "../../configure", "-C",
                 "--host=wasm32-unknown-emscripten", f"--build={ctx.build_triplet(tree)}",
                 "--with-emscripten-target=node", "--enable-wasm-dynamic-linking",
                 f"--with-build-python={build_python}", *ctx.configure_args],
                host,
                {"CONFIG_SITE": "../../Tools/wasm/config.site-wasm32-emscripten"},
                reusable_when=host / "config.status",
            ),
            BuildStep("make-host", [str(ctx.toolchain.tool("emmake")), "make", f"-j{ctx.jobs}",
                                    f"LINKFORSHARED={LINKFORSHARED}"], host),
        ]

    def build_python(self, ctx: BuildContext) -> Path:
        return self.build_dir(ctx) / "python"

    def host_python(self, ctx: BuildContext) -> HostPython:
        host = self.host_dir(ctx)
        runner = [ctx.node]
        makefile = host / "Makefile"
        if makefile.exists():
            # configure chose node flags for this node (e.g. --experimental-wasm-bigint on 3.11).
            match = re.search(r"^HOSTRUNNER=\s*(.*)$", makefile.read_text(errors="replace"), re.M)
            if match and match.group(1).split():
                runner = [ctx.node, *match.group(1).split()[1:]]
        return HostPython(argv=[*runner, *ctx.node_flags, "python.js"], cwd=host,
                          env=ctx.toolchain.environ(), entry=host / "python.js")

    def outputs(self, ctx: BuildContext) -> list[Path]:
        host = self.host_dir(ctx)
        return [host / "python.js", host / "python.wasm", host / "pybuilddir.txt",
                *sorted((host / "build").glob("lib.emscripten-*")), ctx.source.path / "Lib"]
