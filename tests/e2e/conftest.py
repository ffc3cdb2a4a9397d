"""Fixtures for the real-toolchain tests: a provisioned Debian root, mounted for the session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from debian_root import DebianRoot, SourceMirror, e2e_required, missing_prerequisites  # noqa: E402
from real_build import make_real_run  # noqa: E402

PROJECT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.ep_e2e_report = []


def pytest_terminal_summary(terminalreporter, config):
    """The measured timings, shown in every run (CI logs included), not only with -s."""
    if config.ep_e2e_report:
        terminalreporter.section("real-toolchain e2e: measured")
        for line in config.ep_e2e_report:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def debian_env(request):
    missing = missing_prerequisites()
    if missing:
        message = (f"real-toolchain e2e tests need {', '.join(missing)}; run them as root on Debian with "
                   f"`apt-get install debootstrap` (see docs/e2e.rst)")
        if e2e_required():
            pytest.fail(message + " — and they are required here (CI / EP_E2E_REQUIRED=1)")
        pytest.skip(message)
    root = DebianRoot().ensure()
    mirror = SourceMirror().ensure()
    request.config.ep_e2e_report.append(
        "provisioning: " + ", ".join(f"{k} {v:.0f} s" for k, v in {**root.timings, **mirror.timings}.items()))
    with root.mounted():
        with root.bind(mirror.path, "/mirror"):
            cli = root.install_project(PROJECT)
            yield {"root": root, "mirror": mirror, "cli": cli, "report": request.config.ep_e2e_report}


@pytest.fixture(scope="session")
def real_run(debian_env):
    """The main real build and run (tests/e2e/real_build.py), once per session."""
    return make_real_run(debian_env)
