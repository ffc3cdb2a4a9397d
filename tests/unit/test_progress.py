"""stages.progress: what a person sees while a stage runs (no processes, a fake clock)."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from emscripten_python.building import stages
from emscripten_python.building.stages import Tracker, expected_duration, remember_duration


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_build_stage_eta_comes_from_the_earlier_run():
    clock = Clock()
    tracker = Tracker("stage make-host", expected=600, clock=clock)
    assert tracker.start_line() == "==> stage make-host (last run took 0:10:00)"
    clock.now += 240
    assert tracker.eta() == 360
    assert tracker.heartbeat() == "... stage make-host: 0:04:00 elapsed, about 0:06:00 left (last run: 0:10:00)"
    clock.now += 1000     # slower than last time: nothing left to promise, never negative
    assert tracker.eta() == 0


def test_stage_without_history_says_so():
    clock = Clock()
    tracker = Tracker("stage configure-host", clock=clock)
    clock.now += 61
    assert tracker.eta() is None
    assert tracker.heartbeat() == "... stage configure-host: 0:01:01 elapsed, no earlier run to estimate from"


def test_test_stage_counts_files_and_failures_and_paces_the_eta():
    clock = Clock()
    tracker = Tracker("stage test (4 files)", total=4, clock=clock)
    assert tracker.eta() is None
    clock.now += 30
    assert tracker.file_done("test_math", "passed") == \
        "[1/4] test_math passed (0 failed so far, 0:00:30 elapsed, about 0:01:30 left)"
    clock.now += 30
    assert tracker.file_done("test_os", "failed") == \
        "[2/4] test_os failed (1 failed so far, 0:01:00 elapsed, about 0:01:00 left)"
    clock.now += 30
    assert tracker.file_done("test_compile", "crashed").startswith("[3/4] test_compile crashed (2 failed so far")
    assert tracker.file_done("test_int", "flaky").startswith("[4/4] test_int flaky (2 failed so far")
    assert tracker.heartbeat() == "... stage test (4 files): 0:01:30 elapsed, 4/4 files, 2 failed, about 0:00:00 left"


def test_durations_are_remembered_per_stage(tmp_path):
    assert expected_duration(tmp_path, "make-host") is None
    remember_duration(tmp_path, "make-host", 312.44)
    remember_duration(tmp_path, "configure-host", 40)
    assert expected_duration(tmp_path, "make-host") == 312.4
    assert expected_duration(tmp_path, "configure-host") == 40
    (tmp_path / stages.STAGE_DURATIONS).write_text("not json")
    assert expected_duration(tmp_path, "make-host") is None
    remember_duration(tmp_path, "make-host", 5)     # a broken file is replaced, not fatal
    assert expected_duration(tmp_path, "make-host") == 5


def test_ci_log_gets_a_line_per_file_and_heartbeats(monkeypatch, capsys):
    monkeypatch.setattr(stages, "HEARTBEAT_CI_SECONDS", 0.05)
    monkeypatch.setattr(stages, "_console", Console(stderr=True, highlight=False, force_terminal=False))
    monkeypatch.delenv(stages.STREAM_ENV, raising=False)
    with stages.progress("stage test (2 files)", total=2) as tracker:
        tracker.file_done("test_math", "passed")
        time.sleep(0.2)
        tracker.file_done("test_os", "failed")
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert lines[0] == "==> stage test (2 files)"
    assert any(line.startswith("[1/2] test_math passed (0 failed so far") for line in lines)
    assert any(line.startswith("[2/2] test_os failed (1 failed so far") for line in lines)
    assert any(line.startswith("... stage test (2 files): ") and "1/2 files, 0 failed" in line for line in lines)


def test_streaming_prints_no_heartbeat(monkeypatch, capsys):
    monkeypatch.setattr(stages, "HEARTBEAT_SECONDS", 0.02)
    monkeypatch.setattr(stages, "HEARTBEAT_CI_SECONDS", 0.02)
    monkeypatch.setattr(stages, "_console", Console(stderr=True, highlight=False, force_terminal=False))
    monkeypatch.setenv(stages.STREAM_ENV, "1")
    with stages.progress("stage make-host", expected=10):
        time.sleep(0.1)
    assert [line for line in capsys.readouterr().err.splitlines() if line] == \
        ["==> stage make-host (last run took 0:00:10)"]


def test_terminal_shows_a_progress_bar_with_files_and_eta(monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(stages, "_console", Console(file=screen, force_terminal=True, width=120,
                                                    color_system=None))
    monkeypatch.delenv(stages.STREAM_ENV, raising=False)
    with stages.progress("stage test (3 files)", total=3) as tracker:
        tracker.file_done("test_math", "passed")
        tracker.file_done("test_os", "failed")
        time.sleep(1.3)       # the live display refreshes itself
    shown = screen.getvalue()
    assert "stage test (3 files)" in shown
    assert "2/3 files, 1 failed" in shown
    assert "ETA 0:00:0" in shown
    assert "━" in shown        # the bar


@pytest.mark.parametrize("expected", [None, 100.0])
def test_terminal_build_stage(monkeypatch, expected):
    screen = io.StringIO()
    monkeypatch.setattr(stages, "_console", Console(file=screen, force_terminal=True, width=120,
                                                    color_system=None))
    monkeypatch.delenv(stages.STREAM_ENV, raising=False)
    with stages.progress("stage make-host", expected=expected):
        time.sleep(1.2)
    shown = screen.getvalue()
    assert "stage make-host" in shown
    assert ("ETA 0:01:" in shown) == (expected is not None)


def test_runner_reports_each_finished_file_once(tmp_path):
    """The runner's optional on_file_done hook: first attempts only (a re-run is not a new file)."""
    from emscripten_python.testing.regrtest_output import FileAttempt
    from emscripten_python.building.host import HostPython
    from emscripten_python.testing.runner import TestOptions, _Segment

    seen = []
    options = TestOptions(selection=["test_os", "test_math"], on_file_done=lambda *a: seen.append(a))
    segment = _Segment(HostPython(argv=["node"], cwd=tmp_path, env={}), options, options.selection,
                       tmp_path / "j.xml", io.StringIO())
    failed = FileAttempt(name="test_os", unittest_verdict="FAILED")
    passed = FileAttempt(name="test_math", unittest_verdict="OK")
    rerun = FileAttempt(name="test_os", attempt=2, unittest_verdict="OK")
    for attempt in (failed, passed, rerun):
        segment._started(attempt)
        segment._ended(attempt)
    assert seen == [("test_os", "failed"), ("test_math", "passed")]


def test_a_file_reported_again_is_counted_once():
    """The runner may report a file, then the runtime dies in it: the later outcome wins."""
    tracker = Tracker("stage test (2 files)", total=2, clock=Clock())
    tracker.file_done("test_compile", "passed")
    line = tracker.file_done("test_compile", "crashed")
    assert line.startswith("[1/2] test_compile crashed (1 failed so far")
    assert (tracker.done, tracker.failed) == (1, 1)


def test_runner_does_not_report_a_file_without_a_verdict(tmp_path):
    from emscripten_python.testing.regrtest_output import FileAttempt
    from emscripten_python.building.host import HostPython
    from emscripten_python.testing.runner import TestOptions, _Segment

    seen = []
    options = TestOptions(selection=["test_compile"], on_file_done=lambda *a: seen.append(a))
    segment = _Segment(HostPython(argv=["node"], cwd=tmp_path, env={}), options, options.selection,
                       tmp_path / "j.xml", io.StringIO())
    dying = FileAttempt(name="test_compile")
    segment._started(dying)
    segment._ended(dying)       # closed by the end of output, no verdict: the crash path reports it
    assert seen == []


@pytest.mark.parametrize("content", [b"[" * 10_000, b'{"make-host": 1e400}', b'{"make-host": ' + b"9" * 400 + b"}",
                                     b'{"make-host": NaN}', b'{"make-host": true}', b"[1]", b"\xff"])
def test_a_hostile_stage_durations_file_is_ignored_and_replaced(tmp_path, content):
    # --out sits next to the checkout, where a PR's code ran: what it wrote there is read
    # through the shared checks (validation.load_json) and, when refused or of another shape,
    # ignored like a missing file, never a traceback or an infinite ETA.
    (tmp_path / stages.STAGE_DURATIONS).write_bytes(content)
    assert expected_duration(tmp_path, "make-host") is None
    remember_duration(tmp_path, "make-host", 5)
    assert expected_duration(tmp_path, "make-host") == 5
