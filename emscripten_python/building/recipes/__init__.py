"""One recipe per era of CPython's Emscripten support, chosen from the files in the tree."""

from ..source import CPythonSource, Era
from .base import BuildContext, BuildStep, Recipe
from .configure_era import ConfigureRecipe
from .driver_era import DriverRecipe


def recipe_for(source: CPythonSource) -> Recipe:
    return {
        Era.PLATFORMS: lambda: DriverRecipe("Platforms/emscripten"),
        Era.TOOLS_WASM: lambda: DriverRecipe("Tools/wasm/emscripten"),
        Era.CONFIGURE: ConfigureRecipe,
    }[source.era]()


__all__ = ["BuildContext", "BuildStep", "Recipe", "recipe_for"]
