"""Purpose-written regrtest files (for --testdir) with a crash right after a flaky file: the
shape in which a serial run and a sharded one used to disagree (issue 20)."""

from __future__ import annotations

# regrtest files and the outcome each must get, serially and sharded alike
EXPECTED = {"test_ep20_ok_a": ("passed", 1), "test_ep20_flaky": ("flaky", 2), "test_ep20_abort": ("crashed", 1),
            "test_ep20_ok_b": ("passed", 1), "test_ep20_fail": ("failed", 2), "test_ep20_ok_c": ("passed", 1)}
SELECTION = list(EXPECTED)


def rerun_test_files(mark: str) -> dict[str, str]:
    """File name -> source. `mark` is a Python expression (os imported) for the path whose
    existence makes the flaky file pass: it fails the first time it runs, then passes."""
    one = "import unittest\nclass T(unittest.TestCase):\n    def test_{0}(self): {1}\n"
    return {
        "test_ep20_ok_a": one.format("a", "pass"),
        "test_ep20_flaky": f"""
import os, unittest
MARK = {mark}
class T(unittest.TestCase):
    def test_ok(self): pass
    def test_once(self):
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            self.fail("first attempt fails")
""",
        "test_ep20_abort": "import os\n" + one.format("abort", "os.abort()"),
        "test_ep20_ok_b": one.format("b", "pass"),
        "test_ep20_fail": one.format("f", "self.assertEqual(1, 2)"),
        "test_ep20_ok_c": one.format("c", "pass"),
    }
