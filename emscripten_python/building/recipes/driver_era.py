"""3.14+: CPython's own driver script, `Platforms/emscripten` or (3.14.0-3.14.3) `Tools/wasm/emscripten`.

Same subcommands, same outputs under cross-build/; they differ in where the script lives
and how dependencies are built (`make-dependencies` vs `make-libffi` + `make-mpdec`).
Not exercised against a real 3.14+ tree here (no such source is reachable offline); its
command contract is covered by unit tests.
"""

from __future__ import annotations

from pathlib import Path

from ..host import HostPython
from .base import BuildContext, BuildStep, Recipe


class DriverRecipe(Recipe):
    def __init__(self, driver: str):
        self.driver = driver      # "Platforms/emscripten" or "Tools/wasm/emscripten"

    def cross_build(self, ctx: BuildContext) -> Path:
        return ctx.source.path / "cross-build"

    def host_dir(self, ctx: BuildContext) -> Path:
        return self.cross_build(ctx) / "wasm32-emscripten" / "build" / "python"

    def _dependency_steps(self, ctx: BuildContext) -> list[list[str]]:
        main = (ctx.source.path / self.driver / "__main__.py").read_text(errors="replace")
        if "make-dependencies" in main:
            return [["make-dependencies"]]
        return [["make-libffi"], ["make-mpdec"]]

    def steps(self, ctx: BuildContext) -> list[BuildStep]:
        tree = ctx.source.path
        driver = [ctx.python, self.driver]
        env = {"CROSS_BUILD_DIR": str(self.cross_build(ctx))}
        steps = [
            BuildStep("configure-build-python", [*driver, "configure-build-python", "--", "--config-cache"], tree, env,
                      reusable_when=self.cross_build(ctx) / "build" / "config.status"),
            BuildStep("make-build-python", [*driver, "make-build-python"], tree, env),
        ]
        # The driver downloads libffi and mpdecimal itself (urlopen, no download cache); with
        # --mirror it runs under offline_driver, which serves those URLs from the mirror.
        fetching = [ctx.python, "-m", "emscripten_python.building.recipes.offline_driver", "--mirror", str(ctx.mirror),
                    self.driver] if ctx.mirror else driver
        for dependency in self._dependency_steps(ctx):
            steps.append(BuildStep(dependency[0], [*fetching, *dependency], tree, env))
        steps += [
            # --host-runner: without it Platforms/emscripten insists on nvm.
            BuildStep("configure-host", [*driver, "configure-host", "--host-runner", ctx.node,
                                         "--", "--config-cache", *ctx.configure_args], tree, env,
                      reusable_when=self.host_dir(ctx) / "config.status"),
            BuildStep("make-host", [*driver, "make-host"], tree, env),
        ]
        return steps

    def build_python(self, ctx: BuildContext) -> Path:
        return self.cross_build(ctx) / "build" / "python"

    def host_python(self, ctx: BuildContext) -> HostPython:
        env = ctx.toolchain.environ()
        env["NODEFLAGS"] = " ".join([*ctx.node_flags, env.get("NODEFLAGS", "")]).strip()
        return HostPython(argv=[str(self.host_dir(ctx) / "python.sh")], cwd=self.host_dir(ctx), env=env,
                          entry=self.host_dir(ctx) / "python.sh")

    def outputs(self, ctx: BuildContext) -> list[Path]:
        host = self.host_dir(ctx)
        return [host / name for name in ("python.mjs", "python.wasm", "python.sh", "node_entry.mjs",
                                         "streams.mjs")] + sorted((host / "build").glob("lib.emscripten-*")) \
            + [ctx.source.path / "Lib"]
