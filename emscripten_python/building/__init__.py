"""Building CPython for Emscripten: the source tree, toolchains, recipes, build steps, caches."""
