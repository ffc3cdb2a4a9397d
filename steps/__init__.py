"""Buildbot plugin: steps and a factory that run the emscripten-python CLI on a worker.

Installed as ``emscripten_python.steps`` and registered under Buildbot's ``steps`` and
``util`` plugin groups, so ``from buildbot.plugins import steps, util`` finds everything
here. Only Buildbot itself is needed; the GitHub and status extras are not.
"""

from .factory import EmscriptenFactory
from .prgate import LabelGatedGitHubEventHandler
from .regrtest import EmscriptenTest
from .stages import (EmscriptenBuildStage, EmscriptenBundle, EmscriptenClean, EmscriptenDriverClean,
                     EmscriptenPythonInfo, EmscriptenToolchain)
from .upload import EmscriptenUpload

__all__ = ["EmscriptenBuildStage", "EmscriptenBundle", "EmscriptenClean", "EmscriptenDriverClean", "EmscriptenFactory",
           "EmscriptenPythonInfo",
           "EmscriptenTest", "EmscriptenToolchain", "EmscriptenUpload", "LabelGatedGitHubEventHandler"]
