"""Health, streaks, trends, flaky tests, crashes and the PEP 11 rule, on both backends."""

from __future__ import annotations

import pytest

from emscripten_python.status import insight
from emscripten_python.status.ingest import ingest
from status_factory import T0, make_run

GREEN_FILES = {"test_math": "passed"}
RED_FILES = {"test_math": "failed"}


def _series(store, outcomes: str, *, builder="node", branch="3.13", start=0, **kwargs):
    """g = green run, r = red run, p = pending run; one hour apart."""
    for i, code in enumerate(outcomes):
        files = {"g": GREEN_FILES, "r": RED_FILES, "p": {}}[code]
        ingest(store, make_run(branch=branch, builder=builder, hours=start + i, files=files,
                               outcome="pending" if code == "p" else None, **kwargs))


def test_health_of_a_red_branch(store):
    _series(store, "gggrrp")
    with store.reader() as session:
        h = insight.health(session, "3.13", "node")
    assert (h.state, h.streak) == ("red", 2)
    assert h.last.outcome == "pending"                      # shown as last run, not counted
    assert h.last_green == T0.replace(tzinfo=None).replace(hour=14)
    assert h.pass_rate == pytest.approx(3 / 5)
    assert not h.stable
    assert [state for state, _ in h.dots] == ["green"] * 3 + ["red"] * 2


def test_streak_counts_beyond_the_window(store):
    _series(store, "r" + "g" * 8)
    with store.reader() as session:
        h = insight.health(session, "3.13", "node", window=5)
    assert (h.state, h.streak, len(h.runs)) == ("green", 8, 5)


def test_never_green(store):
    _series(store, "rrr")
    with store.reader() as session:
        h = insight.health(session, "3.13", "node")
    assert (h.state, h.streak, h.last_green, h.since_green) == ("red", 3, None, None)


def test_duration_trend_and_rolling_pass_rate(store):
    for i, duration in enumerate([600, 600, 900, 900]):
        ingest(store, make_run(builder="node", hours=i, duration=duration, files=RED_FILES if i == 3 else GREEN_FILES))
    with store.reader() as session:
        h = insight.health(session, "3.13", "node")
    assert h.duration_trend == pytest.approx(0.5)
    chrono = h.finished[::-1]
    assert [v for _, v in insight.rolling_pass_rate(chrono)] == [100, 100, 100, 75]
    assert [v for _, v in insight.duration_points(chrono)] == [10, 10, 15, 15]


def test_pep11_rule_last_ten_green(store):
    _series(store, "r" + "g" * 10, builder="stable one")
    _series(store, "g" * 9, builder="too young")
    _series(store, "g" * 10, builder="only", branch="3.14")
    _series(store, "g" * 5 + "r" + "g" * 4, builder="only", branch="main")
    with store.reader() as session:
        verdict = {p["branch"]: (p["stable"], {h.builder: h.stable for h in p["builders"]})
                   for p in insight.pep11(session)}
    assert verdict == {"3.13": (False, {"stable one": True, "too young": False}),
                       "3.14": (True, {"only": True}), "main": (False, {"only": False})}
    assert "last 10 finished builds are all green" in insight.STABLE_RULE


def test_flaky_tests(store):
    sequence = [  # test_rerun flakes inside a run; test_flip alternates; test_regression breaks once, is fixed
        {"test_rerun": "passed", "test_flip": "passed", "test_regression": "passed", "test_skip": "skipped"},
        {"test_rerun": "flaky", "test_flip": "failed", "test_regression": "passed", "test_skip": "skipped"},
        {"test_rerun": "passed", "test_flip": "passed", "test_regression": "failed", "test_skip": "skipped"},
        {"test_rerun": "passed", "test_flip": "crashed", "test_regression": "failed", "test_skip": "skipped"},
        {"test_rerun": "passed", "test_flip": "passed", "test_regression": "passed", "test_skip": "skipped"},
    ]
    for i, files in enumerate(sequence):
        ingest(store, make_run(builder="node", hours=i, files=files))
    ingest(store, make_run(builder="other", files={"test_flip": "failed"}))   # another builder's history
    with store.reader() as session:
        found = {f.name: f for f in insight.flaky_tests(session)}
    assert set(found) == {"test_rerun", "test_flip"}
    rerun, flip = found["test_rerun"], found["test_flip"]
    assert (rerun.rerun_flakes, rerun.alternating, rerun.flake_rate) == (1, False, pytest.approx(1 / 5))
    assert (flip.flips, flip.alternating, flip.failures, flip.flake_rate) == (4, True, 2, pytest.approx(2 / 5))
    assert flip.first_seen == T0.replace(tzinfo=None, hour=13) and flip.last_seen == T0.replace(tzinfo=None, hour=15)
    assert (flip.branch, flip.builder) == ("3.13", "node")


def test_crashes_have_their_own_list_with_the_error(store):
    ingest(store, make_run(files={"test_compile": "crashed"}, crash="RuntimeError: unreachable executed"))
    ingest(store, make_run(branch="3.14", files={"test_os": "crashed"}))
    ingest(store, make_run(branch="3.14", files={"test_os": "failed"}))
    with store.reader() as session:
        everywhere = insight.crashes(session)
        on_313 = insight.crashes(session, "3.13")
    assert sorted(c.name for c in everywhere) == ["test_compile", "test_os"]
    assert [(c.name, c.crash) for c in on_313] == [("test_compile", "RuntimeError: unreachable executed")]


def test_crash_summary_is_the_error_line():
    text = "test_x (test.test_x.T.test_x) ... wasm://wasm/1:1\n\nRuntimeError: memory access out of bounds\n    at f"
    assert insight.crash_summary(text) == "RuntimeError: memory access out of bounds"
    assert insight.crash_summary("Aborted(OOM)\n") == "Aborted(OOM)"
    assert insight.crash_summary(None) == "no error text"


def test_branch_order():
    assert sorted(["3.9", "feature", "3.13", "main", "3.14"], key=insight.branch_key) == [
        "main", "3.14", "3.13", "3.9", "feature"]
