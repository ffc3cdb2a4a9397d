"""benchmarks/shards.py's comparison of the merged shards with the 1-worker run (no processes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_path = Path(__file__).resolve().parents[2] / "benchmarks" / "shards.py"
_spec = importlib.util.spec_from_file_location("bench_shards", _path)
bench_shards = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_shards)
outcome_differences = bench_shards.outcome_differences


def test_same_files_and_outcomes_in_order_do_not_differ():
    run = [("test_a", "passed"), ("test.test_asyncio.test_tasks", "failed"), ("test_c", "skipped")]
    assert outcome_differences(run, list(run)) == []


def test_a_changed_outcome_is_reported_with_both_outcomes():
    serial = [("test_a", "passed"), ("test_b", "passed"), ("test_c", "crashed")]
    merged = [("test_a", "passed"), ("test_b", "failed"), ("test_c", "crashed")]
    assert outcome_differences(serial, merged) == [("test_b", "passed", "failed")]


def test_a_file_missing_from_either_run_is_reported_with_none():
    serial = [("test_a", "passed"), ("test_b", "passed")]
    merged = [("test_a", "passed"), ("test_c", "passed")]
    assert outcome_differences(serial, merged) == [("test_b", "passed", None), ("test_c", None, "passed")]


def test_same_outcomes_in_another_order_are_reported_once():
    serial = [("test_a", "passed"), ("test_b", "failed")]
    assert outcome_differences(serial, serial[::-1]) == [("(order)", "selection order", "another order")]
