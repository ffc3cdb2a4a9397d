"""The two CLI behaviours the Buildbot steps rely on, tested on the real CLI process.

--stream: a stage's output reaches stdout while the stage runs (not only its log file), with
no heartbeat. SIGTERM (what the worker sends on "stop"): node's process group (its own
session) is killed, results.json says `cancelled`, the exit code is 130.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emscripten_python.errors import Cancelled

from fake_cpython import COMPILER_ERROR, HOLD_ENV, make_cpython_repo, make_toolchain
from test_integration import READY, pids_in, wait_for

pytestmark = pytest.mark.timeout(600)
CLI = Path(sys.executable).with_name("emscripten-python")


def pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    toolchain = make_toolchain(root / "toolchain")
    source = make_cpython_repo(root / "cpython")
    control = root / "control"
    env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), os.environ["PATH"]]), HOLD_ENV: str(control),
           "EMSCRIPTEN_PYTHON_NO_RECORD": "1", "EMSCRIPTEN_PYTHON_CACHE": str(root / "cache")}
    env.pop("EMSCRIPTEN_PYTHON_STREAM", None)
    out = root / "out"
    for command in ("toolchain", "build"):
        done = subprocess.run([CLI, command, "--source", source, "--out", out, "--toolchain", "system"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    return {"source": source, "out": out, "env": env, "control": control}


def start(tree, *args: str) -> subprocess.Popen:
    # Its own process group, like a command the Buildbot worker starts.
    return subprocess.Popen([CLI, *args, "--source", tree["source"], "--out", tree["out"], "--toolchain", "system"],
                            env=tree["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


class Reader:
    """Collects a pipe's lines as they come, so a test can wait for one while the process runs."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(pipe.readline, "")), daemon=True)
        self.thread.start()

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in {self.lines}")


def test_stream_copies_stage_output_to_stdout_while_it_runs(tree):
    tree["control"].write_text("hold make-host\n")
    process = start(tree, "build", "--only", "make-host", "--rebuild", "--stream")
    try:
        out = Reader(process.stdout)
        # The stage is still running (held) and its first line is already on stdout.
        out.wait_for("fake driver: make-host")
        assert process.poll() is None
    finally:
        tree["control"].unlink()
        process.wait(30)
    assert "stage make-host" in process.stderr.read()


def test_stream_carries_the_compiler_error(tree):
    tree["control"].write_text("fail make-host\n")
    try:
        process = start(tree, "build", "--only", "make-host", "--rebuild", "--stream")
        stdout, _ = process.communicate(timeout=60)
    finally:
        tree["control"].unlink()
    assert process.returncode == 20
    assert COMPILER_ERROR in stdout and "Error 1" in stdout
    # Without --stream the error stays in the log file only (what the stdio used to show).
    tree["control"].write_text("fail make-host\n")
    try:
        process = start(tree, "build", "--only", "make-host", "--rebuild")
        stdout, _ = process.communicate(timeout=60)
    finally:
        tree["control"].unlink()
    assert COMPILER_ERROR not in stdout
    assert COMPILER_ERROR in (tree["out"] / "logs" / "make-host.log").read_text()
    # A good build again for the next test.
    process = start(tree, "build", "--only", "make-host", "--rebuild")
    process.communicate(timeout=60)
    assert process.returncode == 0


def test_sigterm_cancels_kills_node_group_and_records_it(tree):
    tree["control"].write_text("hold test\n")
    pids_file = Path(f"{tree['control']}.test-pids")
    pids_file.unlink(missing_ok=True)
    process = start(tree, "test", "--tests", "test_ok_a,test_fail_b", "--jobs", "2", "--stream")
    pids = []
    try:
        out = Reader(process.stdout)
        pids = wait_for(lambda: pids_in(pids_file), READY, "the held test to start")
        # regrtest's own console line reached the CLI's stdout (the Buildbot `test` step's stdio).
        out.wait_for("[1/1] test_ok_a")
        assert all(pid_alive(pid) for pid in pids)
        # What the Buildbot worker does on "stop" with interruptSignal TERM: signal the group.
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(READY) == Cancelled.exit_code == 130
        try:
            wait_for(lambda: not any(pid_alive(pid) for pid in pids), 60, "node's process group to end")
        except AssertionError:
            raise AssertionError("node's process group outlived the cancel") from None
    finally:
        tree["control"].unlink()
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    results = json.loads((tree["out"] / "results.json").read_text())
    assert results["schema_version"] == 2
    assert results["outcome"] == "cancelled"
    assert results["cancelled"]["signal"] == "SIGTERM" and results["cancelled"]["command"] == "test"
    assert "cancelled by SIGTERM" in process.stderr.read()


@pytest.mark.parametrize("stream, beats", [(False, True), (True, False)])
def test_heartbeat_only_without_streaming(monkeypatch, stream, beats):
    from emscripten_python.building import stages
    said = []
    monkeypatch.setattr(stages, "HEARTBEAT_SECONDS", 0.02)
    monkeypatch.setattr(stages, "say", said.append)
    monkeypatch.setattr(stages, "_console", type("NotATerminal", (), {"is_terminal": False})())
    monkeypatch.setattr(stages, "_stream", [stream])
    monkeypatch.delenv(stages.STREAM_ENV, raising=False)
    with stages.progress("stage make-host"):
        # A beat comes every 0.02 s: wait for one (a loaded machine is slow), or long enough
        # that a missing one would have come many times over.
        deadline = time.monotonic() + (30 if beats else 0.5)
        while len(said) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "stage make-host" in said[0]
    assert (len(said) > 1) is beats             # the heartbeat lines after the start line


def test_follow_copies_whole_lines_and_the_unterminated_tail(tmp_path, monkeypatch, capfdbinary):
    from emscripten_python.building import stages
    monkeypatch.setattr(stages, "_stream", [True])
    log = tmp_path / "make-host.log"
    log.write_text("$ make\n")
    with open(log, "a", buffering=1) as writer, stages.follow(log):
        writer.write("cc -c a.c\nerror: bo")
        # Polled until the follower has copied the whole lines (a loaded machine is slow) ...
        seen, deadline = b"", time.monotonic() + 60
        while seen != b"$ make\ncc -c a.c\n" and time.monotonic() < deadline:
            time.sleep(0.05)
            seen += capfdbinary.readouterr().out
        assert seen == b"$ make\ncc -c a.c\n"     # ... and the half line waits
        writer.write("om\n")
        writer.write("no newline at the end")
        writer.flush()
    assert capfdbinary.readouterr().out == b"error: boom\nno newline at the end\n"


def test_silent_stage_is_killed_and_fails_before_the_ci_timeout(tree):
    # A hung make prints nothing; the CLI kills it (and its children) and fails the stage, so
    # results.json says error rather than the cancel Buildbot's own timeout would leave.
    tree["control"].write_text("hold make-host\n")
    pids_file = Path(f"{tree['control']}.pids")
    pids_file.unlink(missing_ok=True)
    try:
        started = time.monotonic()
        process = start(tree, "build", "--only", "make-host", "--rebuild", "--stream", "--silence-timeout", "3")
        stdout, _ = process.communicate(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        tree["control"].unlink()
    assert process.returncode == 20 and elapsed < 100      # the stand-in releases itself at 120 s
    assert "make-host: no output for 3 s; killed it" in stdout
    driver_pid = int(pids_file.read_text().split()[0])
    assert not pid_alive(driver_pid)
    results = json.loads((tree["out"] / "results.json").read_text())
    assert results["outcome"] == "error" and results["cancelled"] is None
    # A good build again for the tests after this one.
    process = start(tree, "build", "--only", "make-host", "--rebuild")
    process.communicate(timeout=60)
    assert process.returncode == 0


def test_main_gives_the_callers_signal_handlers_back(tmp_path, monkeypatch):
    import signal as signals

    from emscripten_python import cancel
    from emscripten_python.cli.main import main
    mine = lambda signum, frame: None     # noqa: E731
    before = {s: signals.signal(s, mine) for s in (signals.SIGTERM, signals.SIGINT)}
    try:
        monkeypatch.setenv("EMSCRIPTEN_PYTHON_NO_RECORD", "1")
        rc = main(["bundle", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
        assert rc != 0                    # no tree there; what matters is what main leaves behind
        assert signals.getsignal(signals.SIGTERM) is mine and signals.getsignal(signals.SIGINT) is mine
        assert not cancel.is_cancelled()
    finally:
        for signum, handler in before.items():
            signals.signal(signum, handler)


def test_main_in_a_thread_runs_without_signal_handlers(tmp_path, monkeypatch):
    import threading

    from emscripten_python.cli.main import main
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_NO_RECORD", "1")
    codes = []
    thread = threading.Thread(target=lambda: codes.append(
        main(["bundle", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])))
    thread.start()
    thread.join(30)
    assert codes == [10]          # the source error, not "signal only works in main thread"


def test_relative_out_reaches_the_interpreter_as_an_absolute_path(tree):
    """The Buildbot steps run `test --out ../emscripten-python-out` from the checkout, and the
    interpreter runs in its build directory: regrtest's --junit-xml and --tempdir must point
    into OUT, not to a path of the same name under the build directory. (The stand-in regrtest
    keeps a flaky file's first failure next to its --junit-xml: misplaced, the file crashed.)"""
    out = tree["out"]
    done = subprocess.run([CLI, "test", "--source", ".", "--out", os.path.relpath(out, tree["source"]), "--toolchain",
                           "system", "--tests", "test_ok_a,test_flaky_d", "--jobs", "2"], cwd=tree["source"],
                          env=tree["env"], capture_output=True, text=True, timeout=300)
    results = json.loads((out / "results.json").read_text())
    assert {f["name"]: f["outcome"] for f in results["tests"]["files"]} == {
        "test_ok_a": "passed", "test_flaky_d": "flaky"}, done.stdout + done.stderr
