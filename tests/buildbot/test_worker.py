"""`emscripten-python worker doctor` and `worker create`."""

from __future__ import annotations

import configparser
import os
import plistlib
import resource
import shlex
import subprocess
from pathlib import Path

import pytest

from emscripten_python.cli.main import main
from emscripten_python.worker.create import (WorkerSetupError, create_worker, render_service, service_path,
                                             service_values)
from emscripten_python.worker.doctor import GIB, Probe, failed, render, run_checks

GOOD_TOOLS = {"node": "/usr/bin/node", "git": "/usr/bin/git", "make": "/usr/bin/make", "cc": "/usr/bin/cc",
              "ccache": "/usr/bin/ccache", "buildbot-worker": "/venv/bin/buildbot-worker"}


def probe(**overrides) -> Probe:
    tools = {**GOOD_TOOLS, **overrides.pop("tools", {})}
    values = dict(which=tools.get, run=lambda argv: (0, "v20.19.2"), disk_free=lambda path: 100 * GIB,
                  writable=lambda path: None, stack_limits=lambda: (8 << 20, resource.RLIM_INFINITY),
                  cpu_count=lambda: 16, memory=lambda: 64 * GIB, python=("/usr/bin/python3", (3, 13, 5)))
    values.update(overrides)
    return Probe(**values)


def checks_of(**overrides) -> dict:
    return {c.name: c for c in run_checks(Path("/w"), Path("/c"), probe=probe(**overrides))}


def test_a_good_machine_passes():
    checks = run_checks(Path("/w"), Path("/c"), probe=probe())
    assert not failed(checks) and all(c.ok for c in checks)
    assert [c.name for c in checks] == ["python", "node", "git", "make", "C compiler", "ccache", "buildbot-worker",
                                        "disk (worker)", "disk (cache)", "writable worker dir",
                                        "writable cache dir", "stack ulimit", "parallel slots"]
    assert "up to 4 parallel build(s) (max_builds=4), jobs=4 each" in checks[-1].detail
    assert render(checks).endswith("Everything required is there.")


@pytest.mark.parametrize("overrides, name, detail", [
    (dict(tools={"node": None}), "node", "node not found on PATH"),
    (dict(run=lambda argv: (0, "v16.20.0")), "node", "v16.20.0"),
    (dict(tools={"git": None}), "git", "none of git on PATH"),
    (dict(tools={"make": None}), "make", "none of make, gmake on PATH"),
    (dict(tools={"cc": None}), "C compiler", "none of cc, gcc, clang on PATH"),
    (dict(disk_free=lambda path: 3 * GIB), "disk (worker)", "3.0 GiB free at /w"),
    (dict(writable=lambda path: "Permission denied"), "writable cache dir", "/c: Permission denied"),
    (dict(python=("/usr/bin/python3", (3, 10, 12))), "python", "3.10.12 (/usr/bin/python3)"),
])
def test_missing_requirements_fail_with_a_fix(overrides, name, detail, monkeypatch):
    monkeypatch.setattr("emscripten_python.worker.doctor.sys.executable", "/nonexistent/python")
    check = checks_of(**overrides)[name]
    assert (check.ok, check.required, check.detail) == (False, True, detail)
    report = render(list(checks_of(**overrides).values()))
    assert f"fix: {check.fix}" in report and name in report.splitlines()[-1]


def test_low_stack_limit_only_warns():
    checks = checks_of(stack_limits=lambda: (8 << 20, 8 << 20))
    stack = checks["stack ulimit"]
    assert (stack.ok, stack.required) == (False, False) and "LimitSTACK=infinity" in stack.fix
    assert not failed(list(checks.values()))
    assert "warn  stack ulimit" in render(list(checks.values()))


def test_missing_ccache_only_warns():
    checks = checks_of(tools={"ccache": None})
    compiler_cache = checks["ccache"]
    assert (compiler_cache.ok, compiler_cache.required) == (False, False)
    assert "every build compiles every file again" in compiler_cache.detail and "install ccache" in compiler_cache.fix
    assert not failed(list(checks.values()))
    assert "warn  ccache" in render(list(checks.values()))


def test_small_machine_gets_one_slot_and_a_warning():
    slots = checks_of(cpu_count=lambda: 1, memory=lambda: 2 * GIB)["parallel slots"]
    assert not slots.ok and not slots.required and "up to 1 parallel build(s)" in slots.detail


def test_doctor_command_on_this_machine(capsys, tmp_path):
    rc = main(["worker", "doctor", "--basedir", str(tmp_path), "--cache-dir", str(tmp_path / "cache"),
               "--min-free-gb", "0.001"])
    out = capsys.readouterr().out
    assert rc in (0, 1) and "node" in out and "parallel slots" in out
    assert ("Everything required is there." in out) == (rc == 0)


# -- create ---------------------------------------------------------------------------------

def test_create_writes_worker_and_systemd_unit(tmp_path, monkeypatch):
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_WORKER_PASSWORD", "pw")
    basedir = tmp_path / "w1"
    rc = main(["worker", "create", "w1", "--master", "buildmaster.example.org:9989", "--basedir", str(basedir),
               "--admin", "Jane <jane@example.org>", "--service", "systemd", "--cache-dir", str(tmp_path / "c"),
               "--user", "buildbot"])
    assert rc == 0
    tac = (basedir / "buildbot.tac").read_text()
    assert "buildmaster.example.org" in tac and "9989" in tac and "'w1'" in tac
    assert (basedir / "info" / "admin").read_text() == "Jane <jane@example.org>\n"
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(basedir / "emscripten-python-worker-w1.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith(f'buildbot-worker" start --nodaemon "{basedir}"')
    assert service["User"] == "buildbot"
    assert service["LimitSTACK"] == "infinity" and service["Restart"] == "always"
    assert f"EMSCRIPTEN_PYTHON_CACHE={tmp_path / 'c'}" in service["Environment"]


def test_create_refuses_to_overwrite_and_checks_master(tmp_path, monkeypatch):
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_WORKER_PASSWORD", "pw")
    create_worker("w1", "localhost:9989", tmp_path / "w1", "pw", cache_dir=tmp_path, service="none")
    with pytest.raises(WorkerSetupError, match="already holds a worker"):
        create_worker("w1", "localhost:9989", tmp_path / "w1", "pw", cache_dir=tmp_path, service="none")
    with pytest.raises(WorkerSetupError, match="expected HOST:PORT"):
        create_worker("w2", "localhost", tmp_path / "w2", "pw", cache_dir=tmp_path, service="none")


def test_create_needs_a_password(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EMSCRIPTEN_PYTHON_WORKER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    rc = main(["worker", "create", "w1", "--master", "localhost:9989", "--basedir", str(tmp_path / "w1")])
    assert rc != 0 and "no worker password" in capsys.readouterr().err


def test_launchd_plist_is_valid_and_escaped(tmp_path):
    basedir = tmp_path / "R&D workers"
    values = service_values("mac<1>", basedir, "launchd", "/venv/bin/buildbot-worker", tmp_path / "cache",
                            user="buildbot")
    plist = plistlib.loads(render_service("launchd", values).encode())
    assert plist["Label"] == "org.python.emscripten-python.worker.mac-1-"
    assert plist["ProgramArguments"] == ["/venv/bin/buildbot-worker", "start", "--nodaemon", str(basedir)]
    assert plist["EnvironmentVariables"]["EMSCRIPTEN_PYTHON_CACHE"] == str(tmp_path / "cache")
    assert plist["KeepAlive"] is True and plist["SoftResourceLimits"]["Stack"] > 60 << 20
    assert values["unit_name"] == "org.python.emscripten-python.worker.mac-1-.plist"



def exec_start_argv(unit_text: str) -> list[str]:
    """ExecStart= split as systemd.syntax(7) says (double quotes, backslash escapes; %% and $$ are
    a literal % and $)."""
    line = next(line for line in unit_text.splitlines() if line.startswith("ExecStart="))
    return [arg.replace("%%", "%").replace("$$", "$") for arg in shlex.split(line.partition("=")[2])]


def test_systemd_unit_basedir_with_space_percent_and_quote(tmp_path):
    basedir = tmp_path / 'CI workers/50% "fast"'
    basedir.mkdir(parents=True)
    executable = tmp_path / "venv bin" / "buildbot-worker"
    executable.parent.mkdir()
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    values = service_values("w1", basedir, "systemd", str(executable), tmp_path / "cache", user="buildbot",
                            path="/opt/node/bin:/usr/bin:/bin")
    text = render_service("systemd", values)
    assert exec_start_argv(text) == [str(executable), "start", "--nodaemon", str(basedir)]
    assert 'Environment="PATH=/opt/node/bin:/usr/bin:/bin"' in text
    unit = tmp_path / "emscripten-python-worker-w1.service"
    unit.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in done.stderr.splitlines() if str(unit) in line and "User=" not in line
                and "buildbot" not in line]
    assert problems == [], done.stderr


def test_service_path_is_only_what_the_worker_runs(monkeypatch):
    monkeypatch.setenv("PATH", "/home/me/.cargo/bin:/opt/junk/bin:/usr/bin")
    tools = {"node": "/opt/node-20/bin/node", "git": "/usr/bin/git", "make": "/usr/bin/make"}
    path = service_path(which=tools.get).split(os.pathsep)
    assert "/opt/node-20/bin" in path and "/usr/bin" in path and "/bin" in path
    assert "/opt/junk/bin" not in path and "/home/me/.cargo/bin" not in path
    assert path[0] == os.path.dirname(__import__("sys").executable)     # buildbot-worker, emscripten-python


def test_never_runs_as_root(tmp_path, monkeypatch):
    monkeypatch.setattr("emscripten_python.worker.create.getpass.getuser", lambda: "root")
    with pytest.raises(WorkerSetupError, match="would run as root"):
        service_values("w1", tmp_path, "systemd", "/venv/bin/buildbot-worker", tmp_path)
    with pytest.raises(WorkerSetupError, match="not a valid account"):
        service_values("w1", tmp_path, "systemd", "/venv/bin/buildbot-worker", tmp_path, user="bad user\nX=1")
    with pytest.raises(WorkerSetupError, match="control characters"):
        service_values("w1\nExecStartPre=/bin/evil", tmp_path, "systemd", "/b", tmp_path, user="buildbot")


def test_launchd_plist_with_double_hyphen_name_is_valid_xml(tmp_path):
    values = service_values("mac--mini--1", tmp_path / "w--1", "launchd", "/venv/bin/buildbot-worker",
                            tmp_path / "cache", user="buildbot")
    plist = plistlib.loads(render_service("launchd", values).encode())
    assert plist["Label"] == "org.python.emscripten-python.worker.mac--mini--1"
    assert plist["ProgramArguments"][-1] == str(tmp_path / "w--1")
