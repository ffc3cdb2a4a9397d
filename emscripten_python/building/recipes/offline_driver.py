"""Run CPython's 3.14+ Emscripten driver with libffi and mpdecimal served from --mirror.

``python -m emscripten_python.building.recipes.offline_driver --mirror DIR DRIVER SUBCOMMAND...``

The driver (``Platforms/emscripten/__main__.py`` @ ed232a2e96b8, and the 3.14.0-3.14.3
``Tools/wasm/emscripten/__main__.py`` @ 1b8858023bfa) fetches each dependency with
``urllib.request.urlopen(url)`` into a temporary file, checks its sha256 against
config.toml's ``shasum`` and unpacks it into ``cross-build/wasm32-emscripten/build``. It keeps
no download cache: the only cache is the built library in the prefix, marked by
``<prefix>/<name>.json`` (a copy of the config table), which it writes itself after a build.
So the mirror is offered where the download happens: ``urlopen`` is replaced, before the
driver imports it, by one that opens ``DIR/<last path component of the URL>`` (e.g.
``libffi-3.4.6.tar.gz``, ``mpdecimal-4.0.1.tar.gz``). The driver's own sha256 check, build
commands and cache marker are untouched. A file the mirror lacks is fetched as before.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit


def mirror_file(mirror: Path, url: str) -> Path:
    """Where a dependency URL's file lives in the mirror (it may not exist)."""
    return mirror / Path(urlsplit(url).path).name


def mirror_urlopen(mirror: Path, fallback=urllib.request.urlopen, log=print):
    def urlopen(url, *args, **kwargs):
        target = url.full_url if isinstance(url, urllib.request.Request) else str(url)
        local = mirror_file(mirror, target)
        if local.is_file():
            log(f"[emscripten-python] {target} served from --mirror: {local}")
            return open(local, "rb")
        log(f"[emscripten-python] {local.name} is not in --mirror {mirror}; downloading {target}")
        return fallback(url, *args, **kwargs)
    return urlopen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="offline_driver")
    parser.add_argument("--mirror", type=Path, required=True)
    parser.add_argument("driver", help="Platforms/emscripten or Tools/wasm/emscripten")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    # The driver does `from urllib.request import urlopen` when it is loaded: patch first.
    urllib.request.urlopen = mirror_urlopen(options.mirror.resolve(), urllib.request.urlopen,
                                            log=lambda message: print(message, flush=True))
    sys.argv = [options.driver, *options.args]
    runpy.run_path(options.driver, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
