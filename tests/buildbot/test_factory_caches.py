"""The factory's clean steps never reach the caches, and every stage that uses them is told where they are."""

from __future__ import annotations

import pytest
from buildbot import config
from buildbot.steps.source.git import Git
from buildbot.steps.worker import RemoveDirectory

from emscripten_python.steps import EmscriptenFactory
from emscripten_python.steps.command import CHECKOUT

CACHE = "/var/cache/emscripten-python"


def _steps(factory):
    return [f.buildStep() for f in factory.steps]


def _command(step) -> list:
    return [str(arg) for arg in getattr(step, "command", None) or []]


def test_clean_steps_and_the_checkout_remove_only_the_build_directory():
    steps = _steps(EmscriptenFactory(cache_dir=CACHE, browser=True, branch="3.13"))
    removed = [d for step in steps if isinstance(step, RemoveDirectory)
               for d in (step.dir if isinstance(step.dir, list) else [step.dir])]
    assert removed and all(not d.startswith("/") for d in removed)      # relative to the builder's directory
    checkout = next(step for step in steps if isinstance(step, Git))
    assert checkout.workdir == CHECKOUT and checkout.method == "fresh"  # git clean -xdf inside the checkout only


def test_every_stage_that_uses_the_caches_gets_the_factorys_cache_dir():
    steps = _steps(EmscriptenFactory(cache_dir=CACHE, browser=True, branch="3.13"))
    using = [step for step in steps if step.name in ("toolchain", "configure-build-python", "make-build-python",
                                                      "configure-host", "make-host", "configure-browser",
                                                      "make-browser")]
    assert len(using) == 7
    for step in using:
        args = _command(step)
        assert args[args.index("--cache-dir") + 1] == CACHE, step.name


def test_a_cache_dir_inside_the_build_directory_is_refused_at_configuration():
    with pytest.raises(config.ConfigErrors, match="absolute path on the worker"):
        EmscriptenFactory(cache_dir="caches")
