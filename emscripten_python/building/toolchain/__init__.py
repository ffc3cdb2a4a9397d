"""Getting an Emscripten toolchain: emsdk (cached per version) or one already installed."""

from .base import Toolchain, emcc_version, compare_with_pin
from .emsdk import install_emsdk
from .system import find_system_toolchain

__all__ = ["Toolchain", "emcc_version", "compare_with_pin", "install_emsdk", "find_system_toolchain"]
