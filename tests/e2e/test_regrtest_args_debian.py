"""regrtest's arguments read as Debian's regrtest reads them: trixie's python3 (3.13) and sid's
python3.14 and python3.15 with their test suites, the same roots as test_regrtest_formats.py.
The same checks as tests/integration/test_regrtest_args.py (pyenv's and Debian's 3.11-3.13 on
the machine): the option tables, and hand-picked and generated lists against the real
`test.libregrtest.cmdline._parse_args`. Seconds when the roots are warm."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from debian_root import SID_PACKAGES, SID_SUITE, DebianRoot, e2e_required, missing_prerequisites

from emscripten_python.testing.regrtest_args import TAKES_VALUE, era_table

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from test_regrtest_args import TRICKY, WORDS, _compare, _probe  # noqa: E402

pytestmark = pytest.mark.e2e
VERSIONS = [("trixie", "python3"), (SID_SUITE, "python3.14"), (SID_SUITE, "python3.15")]


def _root(suite: str) -> DebianRoot:
    missing = missing_prerequisites()
    if missing:
        message = f"Debian's regrtest needs {', '.join(missing)} (see docs/e2e.rst)"
        if e2e_required():
            pytest.fail(message + " — and it is required here (CI / EP_E2E_REQUIRED=1)")
        pytest.skip(message)
    return DebianRoot().ensure() if suite == "trixie" else DebianRoot(suite=suite, packages=SID_PACKAGES).ensure()


@pytest.mark.parametrize("suite, python", VERSIONS, ids=[python for _, python in VERSIONS])
def test_debians_regrtest_reads_the_arguments_as_the_runner_does(suite, python, request):
    command = ["chroot", str(_root(suite).path), python]
    version = _probe([*command], "version")
    real = {tuple(strings): takes_value for strings, takes_value in _probe(command, "options")}
    assert {option.strings: option.kind in TAKES_VALUE for option in era_table(version)} == real
    rng = random.Random(f"regrtest-args-{python}")
    lists = TRICKY + [[rng.choice(WORDS) for _ in range(rng.randint(1, 6))] for _ in range(1000)]
    assert _compare(version, lists, python=command) == []
    request.config.ep_e2e_report.append(f"regrtest arguments: {python} {version}: {len(lists)} lists, 0 mismatches")
