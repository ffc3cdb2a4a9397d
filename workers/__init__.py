"""Service templates for Buildbot workers, installed as emscripten_python.worker.templates.

A package only so that `emscripten-python worker create` finds them in every kind of install.
"""
