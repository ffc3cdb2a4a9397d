"""The master's hook points for the PR report and the status dashboard."""

from __future__ import annotations

import sys
import types

import pytest

from emscripten_python.steps.hooks import MASTER_HOOKS, apply_master_hooks


def test_installed_face_configures_the_master(monkeypatch):
    calls = []
    face = types.ModuleType("emscripten_python_fake_face")
    face.configure = lambda config, builders: calls.append((config, builders))
    monkeypatch.setitem(sys.modules, face.__name__, face)
    config = {"services": []}
    applied = apply_master_hooks(config, ["Emscripten main"], {"pr_report": face.__name__})
    assert applied == ["pr_report"] and calls == [(config, ["Emscripten main"])]


def test_absent_faces_add_nothing():
    hooks = {"pr_report": "emscripten_python.no_such_face.buildbot", "status_dashboard": "no_such_package.x"}
    assert apply_master_hooks({}, [], hooks) == []


def test_missing_extra_of_a_face_is_skipped(monkeypatch, tmp_path):
    (tmp_path / "face_needing_an_extra.py").write_text("import some_extra_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert apply_master_hooks({}, [], {"pr_report": "face_needing_an_extra"}) == []


def test_broken_import_inside_our_package_is_a_bug(monkeypatch, tmp_path):
    (tmp_path / "broken_face.py").write_text("import emscripten_python.no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError):
        apply_master_hooks({}, [], {"pr_report": "broken_face"})


def test_hook_modules_are_the_other_faces():
    assert MASTER_HOOKS == {"pr_report": "emscripten_python.steps.github_report",
                            "status_dashboard": "emscripten_python.steps.status_report"}
